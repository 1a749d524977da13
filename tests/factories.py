"""Builders for test data. Call them inside an app context; they commit."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyotp

from relais_platform.accounts import services as accounts
from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants import services as tenants
from relais_platform.tenants.models import Relais, RelaisStatus

PASSWORD = "Correct-horse-battery-9"
_counter = itertools.count(1)


def luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit to `prefix`."""
    for digit in "0123456789":
        candidate = prefix + digit
        if tenants.luhn_valid(candidate):
            return candidate
    raise AssertionError("unreachable")


def siret() -> str:
    return luhn_complete(f"{next(_counter):013d}")


def relais_data(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    data = {
        "name": f"Relais {n}",
        "kind": "association",
        "siret": siret(),
        "address": f"{n} rue de la Paix",
        "postcode": "33000",
        "city": "Bordeaux",
        "dimensions": ["connexion", "equipement", "accompagnement"],
    }
    data.update(overrides)
    return data


def make_relais(status: RelaisStatus = RelaisStatus.ACTIVE, **overrides: Any) -> Relais:
    relais = tenants.create_relais(relais_data(**overrides))
    if status != RelaisStatus.ACTIVE:
        relais.status = status
    db.session.commit()
    return relais


def make_user(
    role: Role | str = Role.RELAIS_WORKER,
    relais: Relais | None = None,
    *,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    two_factor: bool | None = None,
) -> User:
    role = Role(role)
    n = next(_counter)
    user = accounts.create_user(
        email=email or f"{role.value}.{n}@example.org",
        name=name or f"{role.value.title()} {n}",
        role=role,
        relais=relais,
        password=password,
    )
    if two_factor if two_factor is not None else role.requires_two_factor:
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = utcnow()
    db.session.commit()
    return user


def totp_now(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).now()


def api_token(user: User) -> str:
    issued = accounts.issue_api_token(user)
    db.session.commit()
    return issued.token


def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(user)}"}


# --- stock: catalogue, national receipts, goods at a relais ------------------------------

def product_data(**overrides: Any) -> dict[str, Any]:
    """A recharge by default; pass category/serial_kind etc. for other products."""
    n = next(_counter)
    data: dict[str, Any] = {
        "sku": f"TEST-{n:05d}",
        "name": f"Produit {n}",
        "category": "recharge",
        "dimension": "connexion",
        "serialized": False,
        "unit_price_cents": 500,
        "max_resale_price_cents": 500,
        "validity_days": 30,
    }
    if overrides.get("serial_kind") and "category" not in overrides:
        data.update(category="sim", validity_days=None)
    if overrides.get("serial_kind"):
        data["serialized"] = True
    data.update(overrides)
    return data


def make_product(**overrides: Any):
    from relais_platform.stock.catalogue import services as catalogue

    product = catalogue.create_product(product_data(**overrides))
    db.session.commit()
    return product


@contextmanager
def as_national() -> Iterator[None]:
    """The national scope for a test's setup or checks (not audited), then the previous one.

    Commit inside: what is left uncommitted is rolled back on the way out.
    """
    from relais_platform.tenancy import TenantScope, current_scope, set_scope

    previous = current_scope(db.session)
    set_scope(db.session, TenantScope(all_relais=True))
    try:
        yield
    finally:
        db.session.rollback()
        set_scope(db.session, previous)


def make_supplier(kind: str = "refurbisher", **overrides: Any):
    """A supplier (national), committed."""
    from relais_platform.stock.supply import services as supply

    with as_national():
        supplier = supply.create_supplier({"name": f"Fournisseur {next(_counter)}", "kind": kind,
                                           **overrides})
        db.session.commit()
        return supplier


def device_origin(supplier_id: int | None = None, **overrides: Any):
    """The origin a refurbished device receipt needs: a refurbisher, a grade, a wipe certificate."""
    from relais_platform.stock.supply.origins import Origin

    return Origin(supplier_id=supplier_id or make_supplier().id,
                  grade=overrides.pop("grade", "B"),
                  wipe_certificate=overrides.pop("wipe_certificate", f"WIPE-{next(_counter)}"),
                  **overrides)


def receive(product, **kwargs: Any) -> int:
    """Receive into national stock (quantity=, serials= or serial_range=) and commit.

    Refurbished devices get a refurbisher, a grade and a wipe certificate unless `origin` is given."""
    from relais_platform.stock.catalogue.models import DEVICE_CATEGORIES
    from relais_platform.stock.warehouse import national

    if product.category in DEVICE_CATEGORIES and "origin" not in kwargs:
        kwargs["origin"] = device_origin()
    with as_national():
        received = national.receive(product, **kwargs)
        db.session.commit()
    return received


def iccids(start: int, count: int, prefix: str = "8933990") -> list[str]:
    """`count` consecutive valid 19-digit ICCIDs."""
    return [luhn_complete(f"{prefix}{n:011d}") for n in range(start, start + count)]


def imeis(start: int, count: int, tac: str = "35693803") -> list[str]:
    return [luhn_complete(f"{tac}{n:06d}") for n in range(start, start + count)]


def deliver_to_relais(relais_id: int, product, *, quantity: int = 0,
                      serials: list[str] | None = None) -> None:
    """Goods shipped and received by a relais, as the orders flow would leave them."""
    from relais_platform.stock.warehouse import ledger, national
    from relais_platform.stock.warehouse.models import MovementKind, RelaisMovementKind, UnitStatus

    with as_national():
        if serials:
            units = national.lock_units(product, serials, {UnitStatus.IN_STOCK})
            quantity = len(units)
            for unit in units:
                ledger.set_unit_status(unit, UnitStatus.AT_RELAIS, relais_id=relais_id)
        ledger.move_national(product, MovementKind.SHIPMENT, on_hand_delta=-quantity, relais_id=relais_id)
        ledger.move_relais(relais_id, product, RelaisMovementKind.RECEIPT, quantity)
        db.session.commit()


# --- orders: drafted and submitted as a relais admin would, levels read back --------------

def make_order(relais_id: int, lines: list[tuple[str, int]], *, submit: bool = True,
               confirm_unusual: bool = False) -> int:
    """An order of the relais (bound session, as its admin), committed; returns its id."""
    from relais_platform.stock.orders import services as orders
    from relais_platform.tenancy import TenantScope, tenant_session

    with tenant_session(db.session, TenantScope(relais_id=relais_id)):
        order = orders.create_order(db.session.get(Relais, relais_id), lines)
        if submit:
            orders.submit(order, confirm_unusual=confirm_unusual)
        db.session.commit()
        return order.id


def national_level(app, product_id: int) -> tuple[int, int]:
    """(on_hand, reserved) of a product in the national stock, read fresh."""
    from sqlalchemy import text

    with app.app_context(), db.engine.connect() as conn:
        row = conn.execute(text("SELECT on_hand, reserved FROM national_stock WHERE product_id = :p"),
                           {"p": product_id}).one_or_none()
    return (row.on_hand, row.reserved) if row else (0, 0)


def stock_up(product, *, quantity: int = 0, serials: list[str] | None = None) -> None:
    """National receipt straight through the ledger (units in stock for serialized products)."""
    from relais_platform.stock.warehouse import ledger
    from relais_platform.stock.warehouse.models import MovementKind, SerialUnit, UnitStatus

    with as_national():
        if serials:
            quantity = len(serials)
            location_id = ledger.default_location_id()
            db.session.add_all(SerialUnit(product_id=product.id, serial=serial, status=UnitStatus.IN_STOCK,
                                          location_id=location_id)
                               for serial in serials)
        ledger.move_national(product, MovementKind.RECEIPT, on_hand_delta=quantity)
        db.session.commit()


# --- beneficiaries and accompaniment (relais_platform.beneficiaries) ------------------------

def beneficiary_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"first_name": "Élodie", "last_name": f"Testeur{next(_counter)}",
                            "birth_year": 1987, "phone": "06 12 34 56 78", "consent": True}
    data.update(overrides)
    return data


def make_beneficiary(relais_id: int, **overrides: Any) -> int:
    """A registered person of the relais (through the service, as its staff would), committed."""
    from relais_platform.beneficiaries import registry
    from relais_platform.tenancy import TenantScope, tenant_session

    with tenant_session(db.session, TenantScope(relais_id=relais_id)):
        beneficiary, _duplicates = registry.create(beneficiary_data(**overrides))
        db.session.commit()
        return beneficiary.id


def make_accompaniment(relais_id: int, beneficiary_ids: list[int], **overrides: Any) -> int:
    """A session of the relais with these named participants, committed; returns its id."""
    from datetime import date

    from relais_platform.beneficiaries import accompaniment
    from relais_platform.tenancy import TenantScope, tenant_session

    data: dict[str, Any] = {"kind": "atelier_thematique", "theme": "health", "date": date(2026, 1, 15),
                            "duration_minutes": 120, "beneficiary_ids": beneficiary_ids,
                            "anonymous_count": 0}
    data.update(overrides)
    with tenant_session(db.session, TenantScope(relais_id=relais_id)):
        session = accompaniment.record_session(data)
        db.session.commit()
        return session.id


def make_orders_world():
    """Two relais (an association and a CCAS), their staff, a national user, a serialized SIM
    (5 units, 1 €) and a recharge (50, 5 €) in national stock. Ids and Bearer headers."""
    from types import SimpleNamespace

    relais = make_relais(name="Relais Bastide", kind="association", dimensions=["connexion"])
    other = make_relais(name="CCAS Mérignac", kind="ccas")
    sim = make_product(sku="SIM-1", name="Carte SIM solidaire", category="sim", serial_kind="iccid",
                       unit_price_cents=100, max_resale_price_cents=0, validity_days=None)
    recharge = make_product(sku="REC-1", name="Recharge Internationale", unit_price_cents=500)
    serials = iccids(1, 5)
    stock_up(sim, serials=serials)
    stock_up(recharge, quantity=50)
    world = SimpleNamespace(
        relais_id=relais.id, other_id=other.id, sim_id=sim.id, recharge_id=recharge.id,
        serials=serials,
        admin=bearer(make_user(Role.RELAIS_ADMIN, relais)),
        worker=bearer(make_user(Role.RELAIS_WORKER, relais)),
        other_admin=bearer(make_user(Role.RELAIS_ADMIN, other)),
        national=bearer(make_user(Role.NATIONAL)),
        coach=bearer(make_user(Role.COACH)),
    )
    db.session.remove()
    return world


# --- training and coaching (relais_platform.training) -----------------------------------


def make_training_module(code: str | None = None, *, core: bool = True, **overrides: Any) -> int:
    """A catalogue module (committed, national scope); returns its id."""
    from decimal import Decimal

    from relais_platform.tenancy import TenantScope, tenant_session
    from relais_platform.training.models import ModuleFormat, TrainingModule

    n = next(_counter)
    with tenant_session(db.session, TenantScope(all_relais=True)):
        module = TrainingModule(code=code or f"MOD-{n}", title=f"Module {n}", core=core,
                                duration_hours=Decimal("7"), format=ModuleFormat.IN_PERSON, position=n,
                                **overrides)
        db.session.add(module)
        db.session.commit()
        return module.id


def make_training_session(module_id: int, *, starts_at=None, capacity: int = 10, **overrides: Any) -> int:
    """A session of the module, starting in a week unless told (committed); returns its id."""
    from datetime import timedelta

    from relais_platform.tenancy import TenantScope, tenant_session
    from relais_platform.training.models import TrainingSession

    start = starts_at or utcnow() + timedelta(days=7)
    with tenant_session(db.session, TenantScope(all_relais=True)):
        session = TrainingSession(module_id=module_id, starts_at=start, ends_at=start + timedelta(hours=7),
                                  capacity=capacity, location=overrides.pop("location", "Bordeaux"),
                                  **overrides)
        db.session.add(session)
        db.session.commit()
        return session.id


# --- distributions and monthly stock reports (relais_platform.stock.distributions.services, .reports) -----


def make_distribution(relais_id: int, sku: str, *, price_cents: int = 0, **data: Any) -> int:
    """A distribution recorded through the service as the relais' staff would (committed).

    Without a `beneficiary_id`: an anonymous distribution as recorded before the seeds' rules
    (rows the reports still count), written past the eligibility checks."""
    from relais_platform.stock.distributions import services as distributions
    from relais_platform.stock.scope import local_today
    from relais_platform.tenancy import TenantScope, tenant_session

    body = {"sku": sku, "price_cents": price_cents, **data}
    with tenant_session(db.session, TenantScope(relais_id=relais_id)):
        if body.get("beneficiary_id") is None:
            values = distributions.clean(body, local_today())
            serial = values["serial"]
            unit = distributions.lock_unit(values["product"], serial, relais_id) if serial else None
            distribution = distributions.write(relais_id, values, unit, None)
        else:
            distribution = distributions.record(body)
        db.session.commit()
        return distribution.id


def relais_movement(relais_id: int, product, kind: str, delta: int, occurred_at) -> None:
    """A relais ledger row dated `occurred_at` (the ledger is append-only: dated at insert)."""
    from relais_platform.stock.warehouse import ledger
    from relais_platform.stock.warehouse.models import RelaisMovementKind

    with as_national():
        movement = ledger.move_relais(relais_id, product, RelaisMovementKind(kind), delta)
        movement.occurred_at = occurred_at
        db.session.commit()


def make_distribution_world():
    """Relais A (stocked: 10 recharges, 3 phones, 2 SIMs) and B (5 recharges, 1 phone), their
    staff, national and coach users, one beneficiary in each relais. Ids and Bearer headers."""
    from types import SimpleNamespace

    a = make_relais(name="Relais Garonne", contact_phone="05 56 00 00 00",
                    contact_email="garonne@example.org")
    b = make_relais(name="Relais Dordogne")
    recharge = make_product(sku="REC-D", name="Recharge Mobile + Internet", max_resale_price_cents=500,
                            validity_days=30)
    phone = make_product(sku="PHONE-D", name="Smartphone reconditionné", category="smartphone",
                         dimension="equipement", serial_kind="imei", unit_price_cents=2000,
                         max_resale_price_cents=7000, validity_days=None)
    sim = make_product(sku="SIM-D", name="Carte SIM solidaire", serial_kind="iccid",
                       unit_price_cents=100, max_resale_price_cents=0)
    phones, sims = imeis(1, 4), iccids(1, 2)
    stock_up(recharge, quantity=15)
    stock_up(phone, serials=phones)
    stock_up(sim, serials=sims)
    deliver_to_relais(a.id, recharge, quantity=10)
    deliver_to_relais(b.id, recharge, quantity=5)
    deliver_to_relais(a.id, phone, serials=phones[:3])
    deliver_to_relais(b.id, phone, serials=phones[3:])
    deliver_to_relais(a.id, sim, serials=sims)
    coach = make_user(Role.COACH)
    a.coach_id = b.coach_id = coach.id
    db.session.commit()
    world = SimpleNamespace(
        a=a.id, b=b.id, recharge_id=recharge.id, phone_id=phone.id, sim_id=sim.id,
        phones=phones, sims=sims,
        admin=bearer(make_user(Role.RELAIS_ADMIN, a)),
        worker=bearer(make_user(Role.RELAIS_WORKER, a)),
        b_admin=bearer(make_user(Role.RELAIS_ADMIN, b)),
        national=bearer(make_user(Role.NATIONAL)),
        coach=bearer(coach),
    )
    # Last: registering people starts from an empty identity map.
    world.person_a = make_beneficiary(world.a, first_name="Zénobie", last_name="Quastreaux")
    world.person_b = make_beneficiary(world.b, first_name="Ildefonse", last_name="Brabançon")
    db.session.remove()
    return world


def sign_in_cookie(app, client, session_id: str, *, fresh: bool = True) -> None:
    """Put a signed-in browser session in `client`'s cookie, as the sign-in page would: the
    flask-login id (`user.get_id()`), the fingerprint "strong" protection checks, and a
    server-side browser session (which sign-out ends)."""
    with app.test_request_context(environ_base=client.environ_base):
        identifier = app.login_manager._session_identifier_generator()
    with app.app_context():
        sid = accounts.open_browser_session(int(session_id.split(":")[0]))
        db.session.commit()
        db.session.remove()
    with client.session_transaction() as session:
        session.update({"_user_id": session_id, "_fresh": fresh, "_id": identifier, "sid": sid})
