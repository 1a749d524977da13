"""Distributions: what a relais hands to a beneficiary (or to an anonymous person).

Services run under the relais' bound scope (a distribution is personal data: no network
scope ever reaches it), flush and never commit. The relais' stock moves through
`ledger.move_relais` in the same transaction as the distribution row, so a refused
movement (409: never below zero) refuses the distribution too. Locks: the serialized unit
first, then the relais level (the order `national.return_units` uses).

The ledger is dated when a movement is recorded: a distribution entered late counts in the
monthly report of the month it was entered (see `reports`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency
from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import Select, select

from relais_platform.audit import services as audit
from relais_platform.audit.services import current_actor_id
from relais_platform.beneficiaries import registry
from relais_platform.bounds import EVENT_WINDOW, in_window, window_message
from relais_platform.domain import Conflict, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.catalogue import services as catalogue
from relais_platform.stock.catalogue.models import DEVICE_CATEGORIES, Product
from relais_platform.stock.distributions import eligibility
from relais_platform.stock.distributions.models import Distribution, Programme, WarrantyOutcome
from relais_platform.stock.scope import bound_relais_id, local_today
from relais_platform.stock.warehouse import ledger
from relais_platform.stock.warehouse.models import RelaisMovementKind, RelaisStock, SerialUnit, UnitStatus

DEVICE_WARRANTY_MONTHS = 24
MAX_QUANTITY = 1_000
MAX_REASON = 2000


def warranty_months(product: Product) -> int | None:
    """The product's own warranty, else the legal 2 years for refurbished devices."""
    if product.warranty_months:
        return product.warranty_months
    return DEVICE_WARRANTY_MONTHS if product.category in DEVICE_CATEGORIES else None


def _euros(cents: int) -> str:
    return format_currency(cents / 100, "EUR", locale="fr_FR")


def _reason(value: str | None, field: str = "reason") -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed.field(field, _("Indiquez la raison."))
    if len(text) > MAX_REASON:
        raise ValidationFailed.field(field, _("%(n)s caractères au plus.", n=MAX_REASON))
    return text


def lock_unit(product: Product, serial: str, relais_id: int, field: str = "serial") -> SerialUnit:
    """The unit, row-locked, if it is at this relais; 422 naming the serial otherwise."""
    unit = db.session.scalar(
        select(SerialUnit)
        .where(SerialUnit.product_id == product.id, SerialUnit.serial == serial)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    # Row-level security hides other relais' units: "absent" and "elsewhere" read alike.
    if unit is None or unit.relais_id != relais_id or unit.status != UnitStatus.AT_RELAIS:
        raise ValidationFailed.field(
            field, _("Le numéro %(serial)s n'est pas une unité de %(sku)s présente dans votre relais.",
                        serial=serial, sku=product.sku))
    return unit


def clean(data: Mapping[str, Any], today: date) -> dict[str, Any]:
    """Field checks that need no lock: 422 with every problem at once."""
    errors: dict[str, list[str]] = {}
    product = catalogue.product_by_sku(data.get("sku"))
    quantity = data.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_QUANTITY:
        errors["quantity"] = [_("Indiquez une quantité entre 1 et %(n)d.", n=MAX_QUANTITY)]
    elif product.serialized and quantity != 1:
        errors["quantity"] = [_("Un article suivi à l'unité se remet un par un (quantité 1).")]
    serial = (data.get("serial") or "").strip().upper() or None
    if product.serialized and serial is None:
        errors["serial"] = [_("Indiquez le numéro de l'unité remise (%(sku)s est suivi à l'unité).",
                              sku=product.sku)]
    elif not product.serialized and serial is not None:
        errors["serial"] = [_("%(sku)s n'est pas suivi à l'unité : pas de numéro.", sku=product.sku)]
    price = data.get("price_cents")
    cap = product.max_resale_price_cents
    if isinstance(price, bool) or not isinstance(price, int) or not 0 <= price <= cap:
        errors["price_cents"] = [_("Le prix de %(sku)s doit être compris entre 0 et %(cap)s (prix maximum).",
                                   sku=product.sku, cap=_euros(cap))]
    try:
        programme = Programme(data.get("programme") or Programme.STANDARD)
    except ValueError:
        errors["programme"] = [_("Choisissez un programme de la liste.")]
    day = data.get("date") or today
    if not isinstance(day, date) or day > today:
        errors["date"] = [_("La date de remise ne peut pas être dans le futur.")]
    elif not in_window(day, EVENT_WINDOW):
        errors["date"] = [window_message(EVENT_WINDOW)]
    if not product.active:
        errors["sku"] = [_("%(sku)s n'est plus au catalogue.", sku=product.sku)]
    if errors:
        raise ValidationFailed(errors)
    return {"product": product, "quantity": quantity, "serial": serial, "price_cents": price,
            "programme": programme, "day": day}


def record(data: Mapping[str, Any]) -> Distribution:
    """Record a distribution; the relais' stock decreases in the same transaction."""
    relais_id = bound_relais_id()
    today = local_today()
    values = clean(data, today)
    beneficiary = eligibility.locked_beneficiary(data.get("beneficiary_id"))
    line = eligibility.Line("", values["product"], values["price_cents"], values["programme"])
    eligibility.check(beneficiary, [line], values["day"])
    unit = lock_unit(values["product"], values["serial"], relais_id) if values["serial"] else None
    eligibility.start_connection(beneficiary, [line], values["day"])
    distribution = write(relais_id, values, unit, beneficiary.id if beneficiary else None)
    if beneficiary is not None:
        registry.touch([beneficiary.id], seen_at(values["day"], today))
    return distribution


def seen_at(day: date, today: date) -> datetime:
    """When the person was last seen: now, or midday of a backdated hand-over."""
    return utcnow() if day == today else datetime.combine(day, time(12), tzinfo=ZoneInfo(
        current_app.config["BABEL_DEFAULT_TIMEZONE"]))


def write(relais_id: int, values: Mapping[str, Any], unit: SerialUnit | None, beneficiary_id: int | None,
          handover_id: int | None = None) -> Distribution:
    """Write one checked line: the distribution, its stock movement, its unit's status."""
    product: Product = values["product"]
    months = warranty_months(product)
    day: date = values["day"]
    distribution = Distribution(
        relais_id=relais_id,
        product=product,
        quantity=values["quantity"],
        unit=unit,
        price_cents=values["price_cents"],
        programme=values["programme"],
        distributed_on=day,
        beneficiary_id=beneficiary_id,
        handover_id=handover_id,
        warranty_ends_on=day + relativedelta(months=months) if months else None,
        recorded_by_id=current_actor_id(),
    )
    db.session.add(distribution)
    db.session.flush()
    ledger.move_relais(relais_id, product, RelaisMovementKind.DISTRIBUTION, -values["quantity"],
                       reference_id=distribution.id)
    if unit is not None:
        ledger.set_unit_status(unit, UnitStatus.DISTRIBUTED, keep_relais=True,
                               note=f"distribution {distribution.id}")
        unit.warranty_ends_on = distribution.warranty_ends_on
    audit.record("distribution_recorded", target=distribution,
                 details={"product_id": product.id, "quantity": values["quantity"],
                          "unit_id": distribution.unit_id, "beneficiary_id": beneficiary_id,
                          "handover_id": handover_id})
    return distribution


def get(distribution_id: int, *, lock: bool = False) -> Distribution:
    """A distribution of the bound relais (another relais' does not exist: 404)."""
    bound_relais_id()
    stmt = select(Distribution).where(Distribution.id == distribution_id)
    if lock:
        stmt = stmt.with_for_update(of=Distribution).execution_options(populate_existing=True)
    distribution = db.session.scalar(stmt)
    if distribution is None:
        raise NotFound(_("Distribution introuvable."))
    return distribution


def cancel(distribution_id: int, reason: str | None) -> Distribution:
    """Undo a distribution entered by mistake: the goods return to the relais' stock."""
    reason = _reason(reason)
    distribution = get(distribution_id, lock=True)
    if distribution.is_cancelled:
        raise Conflict(_("La distribution n° %(id)d est déjà annulée.", id=distribution.id))
    if distribution.warranty_returned_at is not None:
        raise Conflict(_("La distribution n° %(id)d a fait l'objet d'un retour sous garantie : "
                         "elle ne peut plus être annulée.", id=distribution.id))
    if distribution.replaces_id is not None:
        raise Conflict(_("La distribution n° %(id)d est un échange sous garantie : elle ne peut pas "
                         "être annulée.", id=distribution.id))
    unit = None
    if distribution.unit_id is not None:
        unit = db.session.scalar(select(SerialUnit).where(SerialUnit.id == distribution.unit_id)
                                 .with_for_update().execution_options(populate_existing=True))
    ledger.move_relais(distribution.relais_id, distribution.product,
                       RelaisMovementKind.DISTRIBUTION_CANCELLED, distribution.quantity,
                       reference_id=distribution.id)
    if unit is not None:
        ledger.set_unit_status(unit, UnitStatus.AT_RELAIS, keep_relais=True,
                               note=f"distribution {distribution.id} cancelled")
        unit.warranty_ends_on = None
    distribution.cancelled_at = utcnow()
    distribution.cancel_reason = reason
    if distribution.beneficiary_id is not None and eligibility.is_connection(distribution.product):
        db.session.flush()
        eligibility.recompute_connection(distribution.beneficiary_id)
    audit.record("distribution_cancelled", target=distribution,
                 details={"product_id": distribution.product_id, "quantity": distribution.quantity,
                          "unit_id": distribution.unit_id})
    return distribution


def _outcome(outcome: WarrantyOutcome | str) -> WarrantyOutcome:
    try:
        return WarrantyOutcome(outcome)
    except ValueError:
        raise ValidationFailed.field("outcome", _("Choisissez une valeur de la liste.")) from None


def _unit_under_warranty(distribution: Distribution) -> SerialUnit:
    """The distributed unit, row-locked, if it may come back under warranty today."""
    if distribution.unit_id is None or distribution.warranty_ends_on is None:
        raise ValidationFailed.field("distribution", _("Seul un appareil sous garantie peut être retourné."))
    if distribution.is_cancelled or distribution.warranty_returned_at is not None:
        raise Conflict(_("La distribution n° %(id)d est annulée ou déjà retournée.", id=distribution.id))
    if local_today() > distribution.warranty_ends_on:
        ended = format_date(distribution.warranty_ends_on, "long")
        raise ValidationFailed.field("distribution", _("La garantie a pris fin le %(day)s.", day=ended))
    unit = db.session.scalar(select(SerialUnit).where(SerialUnit.id == distribution.unit_id)
                             .with_for_update().execution_options(populate_existing=True))
    if unit is None or unit.status != UnitStatus.DISTRIBUTED:
        raise Conflict(_("L'unité de la distribution n° %(id)d n'est plus chez le bénéficiaire.",
                         id=distribution.id))
    return unit


def _take_back(distribution: Distribution, unit: SerialUnit, outcome: WarrantyOutcome, note: str) -> None:
    status = UnitStatus.RETURNED if outcome == WarrantyOutcome.RETURNED else UnitStatus.DEFECTIVE
    # The unit's history is read by national and never rewritten: a coded outcome, not the note.
    ledger.set_unit_status(unit, status, keep_relais=True,
                           note=f"distribution {distribution.id} warranty {outcome.value}")
    distribution.warranty_returned_at = utcnow()
    distribution.warranty_outcome = outcome
    distribution.warranty_note = note


def warranty_return(distribution_id: int, outcome: WarrantyOutcome | str, note: str | None) -> Distribution:
    """A distributed device is brought back under warranty: the unit becomes `returned`
    (to be checked or sent back) or `defective`, and stays with the relais until it goes
    back to the national stock. It does not return to the relais' stock on hand."""
    note = _reason(note, "note")
    outcome = _outcome(outcome)
    distribution = get(distribution_id, lock=True)
    unit = _unit_under_warranty(distribution)
    _take_back(distribution, unit, outcome, note)
    audit.record("distribution_warranty_return", target=distribution,
                 details={"unit_id": unit.id, "outcome": outcome.value})
    return distribution


def warranty_exchange(distribution_id: int, replacement_serial: str | None,
                      outcome: WarrantyOutcome | str) -> Distribution:
    """Swap a faulty device at the relais: the person leaves with a working unit of the same
    product from the relais' stock (a new line at price 0, under the same warranty end, that
    points to the one it replaces); the faulty unit waits at the relais, as after a return.
    Returns the new distribution."""
    outcome = _outcome(outcome)
    relais_id = bound_relais_id()
    distribution = get(distribution_id, lock=True)
    serial = (replacement_serial or "").strip().upper()
    if not serial:
        raise ValidationFailed.field("replacement_serial",
                                     _("Indiquez le numéro de l'appareil remis en échange."))
    faulty = _unit_under_warranty(distribution)
    assert distribution.warranty_ends_on is not None
    replacement = lock_unit(distribution.product, serial, relais_id, field="replacement_serial")
    _take_back(distribution, faulty, outcome,
               _("Échange sous garantie : remplacé par %(serial)s", serial=serial))
    exchange = Distribution(
        relais_id=relais_id, product=distribution.product, quantity=1, unit_id=replacement.id,
        price_cents=0, programme=distribution.programme, distributed_on=local_today(),
        beneficiary_id=distribution.beneficiary_id, warranty_ends_on=distribution.warranty_ends_on,
        recorded_by_id=current_actor_id(), replaces_id=distribution.id,
    )
    db.session.add(exchange)
    db.session.flush()
    ledger.move_relais(relais_id, distribution.product, RelaisMovementKind.DISTRIBUTION, -1,
                       reference_id=exchange.id, reason=_("Échange sous garantie (distribution n° %(id)d)",
                                                          id=distribution.id))
    ledger.set_unit_status(replacement, UnitStatus.DISTRIBUTED, keep_relais=True,
                           note=f"distribution {exchange.id} (warranty exchange of {distribution.id})")
    replacement.warranty_ends_on = exchange.warranty_ends_on
    audit.record("distribution_warranty_exchange", target=exchange,
                 details={"replaces_id": distribution.id, "faulty_unit_id": faulty.id,
                          "unit_id": replacement.id, "outcome": outcome.value})
    return exchange


def exchange_of(distribution: Distribution) -> Distribution | None:
    """The distribution that replaced this one under warranty, if any."""
    return db.session.scalar(select(Distribution).where(Distribution.replaces_id == distribution.id))


def query(
    *,
    sku: str | None = None,
    programme: Programme | None = None,
    beneficiary_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    cancelled: bool | None = None,
) -> Select[tuple[Distribution]]:
    """The bound relais' distributions, newest first (product and unit joined: one query a page)."""
    bound_relais_id()
    stmt = select(Distribution)
    if sku:
        stmt = stmt.join(Product, Product.id == Distribution.product_id).where(
            Product.sku == sku.strip().upper())
    if programme is not None:
        stmt = stmt.where(Distribution.programme == programme)
    if beneficiary_id is not None:
        stmt = stmt.where(Distribution.beneficiary_id == beneficiary_id)
    if date_from is not None:
        stmt = stmt.where(Distribution.distributed_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(Distribution.distributed_on <= date_to)
    if cancelled is not None:
        stmt = stmt.where(Distribution.cancelled_at.is_not(None) if cancelled
                          else Distribution.cancelled_at.is_(None))
    return stmt.order_by(Distribution.distributed_on.desc(), Distribution.id.desc())


def on_hand_products(relais_id: int) -> list[tuple[Product, int]]:
    """Products the relais holds now, with the quantity (for the distribution form)."""
    rows = db.session.execute(
        select(Product, RelaisStock.on_hand)
        .join(RelaisStock, RelaisStock.product_id == Product.id)
        .where(RelaisStock.relais_id == relais_id, RelaisStock.on_hand > 0, Product.active.is_(True))
        .order_by(Product.sku)
    )
    return [(product, on_hand) for product, on_hand in rows]


def units_at_relais(relais_id: int, product: Product, limit: int = 500) -> list[str]:
    """Serials of the product's units at the relais, to pick from."""
    return list(db.session.scalars(
        select(SerialUnit.serial)
        .where(SerialUnit.product_id == product.id, SerialUnit.relais_id == relais_id,
               SerialUnit.status == UnitStatus.AT_RELAIS)
        .order_by(SerialUnit.serial)
        .limit(limit)
    ))
