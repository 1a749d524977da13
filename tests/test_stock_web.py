"""Web pages of stock and orders: roles, forms that refuse bad input without writing, the
unusual-quantity step, the whole flow through the pages, tenant isolation, bounded queries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.orders import allocation, payments, shipping
from relais_platform.stock.orders import services as orders
from relais_platform.stock.orders.models import Order, OrderLine, OrderStatus
from relais_platform.stock.warehouse.models import SerialUnit, UnitStatus
from relais_platform.tenancy import TenantScope, tenant_session
from tests.factories import (
    deliver_to_relais,
    iccids,
    make_order,
    make_product,
    make_user,
    national_level,
    stock_up,
)
from tests.test_web_support import login_as, make_signed_relais, query, text


@pytest.fixture
def world(app) -> SimpleNamespace:
    """Relais A (connexion) and B, their staff, national and coach users, a SIM (5 units in
    national stock, 1 €) and a recharge (50, 5 €)."""
    with app.app_context():
        relais_a = make_signed_relais(name="Relais Bastide", dimensions=["connexion"])
        relais_b = make_signed_relais(name="Relais Capucins")
        users = {
            "admin_a": make_user(Role.RELAIS_ADMIN, relais_a),
            "worker_a": make_user(Role.RELAIS_WORKER, relais_a),
            "admin_b": make_user(Role.RELAIS_ADMIN, relais_b),
            "worker_b": make_user(Role.RELAIS_WORKER, relais_b),
            "national": make_user(Role.NATIONAL),
            "coach": make_user(Role.COACH),
        }
        sim = make_product(sku="SIM-1", name="Carte SIM solidaire", category="sim", serial_kind="iccid",
                           unit_price_cents=100, max_resale_price_cents=0, validity_days=None)
        recharge = make_product(sku="REC-1", name="Recharge Internationale", unit_price_cents=500)
        serials = iccids(1, 5)
        stock_up(sim, serials=serials)
        stock_up(recharge, quantity=50)
        ids = SimpleNamespace(a=relais_a.id, b=relais_b.id, sim=sim.id, recharge=recharge.id, serials=serials,
                              users={name: user.id for name, user in users.items()})
        db.session.remove()
    return ids


def client_for(app, world: SimpleNamespace, who: str):
    def load() -> User:
        return db.session.get(User, world.users[who])

    return login_as(app, query(app, load))


def order_status(app, order_id: int) -> OrderStatus:
    def load() -> OrderStatus:
        with tenant_session(db.session, TenantScope(all_relais=True)) as session:
            return session.get(Order, order_id).status

    return query(app, load)


def count_orders(app) -> int:
    def load() -> int:
        with tenant_session(db.session, TenantScope(all_relais=True)) as session:
            return session.scalar(select(func.count(Order.id)))

    return query(app, load)


def shipped_order(app, world: SimpleNamespace, lines: list[tuple[str, int]]) -> int:
    """An order of relais A allocated, paid by hand and shipped, through the services."""
    with app.app_context():
        order_id = make_order(world.a, lines)
        with tenant_session(db.session, TenantScope(all_relais=True)) as session:
            national = session.get(User, world.users["national"])
            order = orders.get_order(order_id)
            allocation.allocate(order, dict(lines))
            payments.record_manual_payment(order, order.total_cents, "VIR-1", actor=national)
            shipping.ship(order)
            session.commit()
    return order_id


# --- roles -------------------------------------------------------------------------------

PAGES = [
    ("/stock/orders", {"admin_a", "worker_a", "national"}),
    ("/stock/orders/new", {"admin_a", "national"}),
    ("/stock/inventory", {"admin_a", "worker_a"}),
    ("/stock/catalogue", {"national"}),
    ("/stock/catalogue/new", {"national"}),
    ("/stock/national", {"national"}),
    ("/stock/fair-split/REC-1", {"national"}),
    ("/stock/units?serial=x", {"admin_a", "worker_a", "national"}),
]


@pytest.mark.parametrize("url,allowed", PAGES)
def test_pages_render_for_their_roles_and_refuse_the_others(app, world, url, allowed):
    response = app.test_client().get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for who in ("admin_a", "worker_a", "national", "coach"):
        response = client_for(app, world, who).get(url)
        if who in allowed:
            # The unit lookup answers 404 for an unknown serial, on its own page.
            assert response.status_code in (200, 404), (who, url)
            assert "stock-nav" in text(response)
        else:
            assert response.status_code == 403, (who, url)


def test_order_pages_by_role(app, world):
    order_id = make_in(app, lambda: make_order(world.a, [("REC-1", 3)], submit=False))
    url = f"/stock/orders/{order_id}"
    worker = client_for(app, world, "worker_a")
    page = worker.get(url)
    assert page.status_code == 200 and "Recharge Internationale" in text(page)
    assert "Soumettre" not in text(page) and "Annuler la commande" not in text(page)
    assert worker.post(f"{url}/submit").status_code == 403
    assert worker.get(f"{url}/edit").status_code == 403
    assert worker.post(f"{url}/cancel").status_code == 403
    assert client_for(app, world, "coach").get(url).status_code == 403
    admin = client_for(app, world, "admin_a").get(url)
    assert "Soumettre la commande" in text(admin) and "Annuler la commande" in text(admin)
    refused = client_for(app, world, "admin_a").post(f"{url}/allocation", data={"alloc-REC-1": "3"})
    assert refused.status_code == 403
    assert order_status(app, order_id) == OrderStatus.DRAFT


def new_order(client, form: dict[str, str]) -> int:
    """Draft an order through the form; its id from the redirect."""
    response = client.post("/stock/orders/new", data=form)
    assert response.status_code == 302, text(response)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def make_in(app, fn):
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


# --- the order form ----------------------------------------------------------------------


def test_order_form_shows_national_available_stock_beside_each_line(app, world):
    page = text(client_for(app, world, "admin_a").get("/stock/orders/new"))
    for name, available in (("Carte SIM solidaire", 5), ("Recharge Internationale", 50)):
        row = page[page.index(name):]
        row = row[:row.index("</tr>")]
        assert re.search(rf">\s*{available}\s*<", row), row
    assert 'id="qty-REC-1"' in page and 'for="qty-REC-1"' in page


def test_national_chooses_a_relais_then_orders_on_its_behalf(app, world):
    national = client_for(app, world, "national")
    chooser = national.get("/stock/orders/new")
    assert chooser.status_code == 200 and "Relais Bastide" in text(chooser)
    form = national.get(f"/stock/orders/new?relais_id={world.a}")
    assert "Nouvelle commande pour Relais Bastide" in text(form)
    created = national.post("/stock/orders/new", data={"relais_id": world.a, "qty-REC-1": "4"})
    assert created.status_code == 302
    detail = text(national.get(created.headers["Location"]))
    assert "saisie par l&#39;équipe nationale" in detail or "saisie par l'équipe nationale" in detail


def test_bad_quantities_redisplay_the_form_and_write_nothing(app, world):
    admin = client_for(app, world, "admin_a")
    response = admin.post("/stock/orders/new", data={"qty-REC-1": "douze", "qty-SIM-1": "-2"})
    body = text(response)
    assert response.status_code == 422
    assert "REC-1" in body and "SIM-1" in body and "entier supérieur à 0" in body
    assert 'value="douze"' in body and 'aria-invalid="true"' in body
    empty = admin.post("/stock/orders/new", data={"qty-REC-1": ""})
    assert empty.status_code == 422 and "au moins une ligne" in text(empty)
    assert count_orders(app) == 0


def test_draft_edit_replaces_the_lines(app, world):
    admin = client_for(app, world, "admin_a")
    order_id = new_order(admin, {"qty-REC-1": "4"})
    form = admin.get(f"/stock/orders/{order_id}/edit")
    assert 'value="4"' in text(form)
    edited = admin.post(f"/stock/orders/{order_id}/edit", data={"qty-REC-1": "0", "qty-SIM-1": "2"})
    assert edited.status_code == 302

    def lines() -> list[tuple[int, int]]:
        with tenant_session(db.session, TenantScope(all_relais=True)) as session:
            return list(session.execute(select(OrderLine.product_id, OrderLine.requested)
                                        .where(OrderLine.order_id == order_id)).tuples())

    assert query(app, lines) == [(world.sim, 2)]


def test_unusual_quantity_needs_a_confirmation_step(app, world):
    for _ in range(3):
        make_in(app, lambda: make_order(world.a, [("REC-1", 2)]))
    admin = client_for(app, world, "admin_a")
    order_id = new_order(admin, {"qty-REC-1": "40"})
    url = f"/stock/orders/{order_id}/submit"
    asked = admin.post(url)
    assert asked.status_code == 422
    assert "Quantité inhabituelle pour REC-1" in text(asked) and 'name="confirm_unusual"' in text(asked)
    unchecked = admin.post(url, data={"step": "confirm"})
    assert unchecked.status_code == 422 and "Cochez la case" in text(unchecked)
    assert order_status(app, order_id) == OrderStatus.DRAFT
    confirmed = admin.post(url, data={"step": "confirm", "confirm_unusual": "y"})
    assert confirmed.status_code == 302
    assert order_status(app, order_id) == OrderStatus.SUBMITTED


# --- the national side: bad input writes nothing -----------------------------------------


def test_receipt_with_invalid_serials_names_each_and_writes_nothing(app, world):
    national = client_for(app, world, "national")
    good = iccids(100, 1)[0]
    invalid = national.post("/stock/national/receipts", data={
        "receipt-sku": "SIM-1", "receipt-serials": f"{good}\n12345\n8933990000000000011"})
    assert invalid.status_code == 422
    assert "12345: un ICCID comporte 19 ou 20 chiffres" in text(invalid)
    assert "8933990000000000011: clé de contrôle (Luhn) invalide" in text(invalid)
    known = national.post("/stock/national/receipts", data={
        "receipt-sku": "SIM-1", "receipt-serials": f"{good}, {world.serials[0]}"})
    assert known.status_code == 422 and f"{world.serials[0]}: déjà enregistré pour SIM-1" in text(known)
    assert national_level(app, world.sim) == (5, 0)
    ranged = national.post("/stock/national/receipts", data={
        "receipt-sku": "SIM-1", "receipt-range_first": iccids(200, 1)[0],
        "receipt-range_last": iccids(203, 1)[0]})
    assert ranged.status_code == 302
    assert national_level(app, world.sim) == (9, 0)
    counted = national.post("/stock/national/receipts",
                            data={"receipt-sku": "REC-1", "receipt-quantity": "10"})
    assert counted.status_code == 302 and national_level(app, world.recharge) == (60, 0)


@pytest.mark.parametrize("quantity", ["abc", "0", "-4", "2.5"])
def test_receipt_of_a_quantity_that_is_not_a_whole_number_is_redisplayed(app, world, quantity):
    refused = client_for(app, world, "national").post(
        "/stock/national/receipts", data={"receipt-sku": "REC-1", "receipt-quantity": quantity})
    assert refused.status_code == 422
    assert "Quantité entre 1 et" in text(refused) and f'value="{quantity}"' in text(refused)
    assert national_level(app, world.recharge) == (50, 0)


def test_adjustment_needs_a_reason_and_changes_the_level(app, world):
    national = client_for(app, world, "national")
    refused = national.post("/stock/national/adjustments",
                            data={"adjust-sku": "REC-1", "adjust-quantity": "-3"})
    assert refused.status_code == 422 and "Indiquez le motif" in text(refused)
    assert national_level(app, world.recharge) == (50, 0)
    done = national.post("/stock/national/adjustments", data={
        "adjust-sku": "REC-1", "adjust-quantity": "-3", "adjust-reason": "Inventaire de mars"})
    assert done.status_code == 302 and national_level(app, world.recharge) == (47, 0)


def test_allocation_above_available_names_the_sku_and_reserves_nothing(app, world):
    order_id = make_in(app, lambda: make_order(world.a, [("REC-1", 60)]))
    national = client_for(app, world, "national")
    response = national.post(f"/stock/orders/{order_id}/allocation", data={"alloc-REC-1": "60"})
    body = text(response)
    assert response.status_code == 409
    assert "Stock national insuffisant pour REC-1" in body and 'value="60"' in body
    above = national.post(f"/stock/orders/{order_id}/allocation", data={"alloc-REC-1": "61"})
    assert above.status_code == 422 and "supérieure à la quantité demandée" in text(above)
    assert national_level(app, world.recharge) == (50, 0)
    assert order_status(app, order_id) == OrderStatus.SUBMITTED


def test_receipt_where_received_and_refused_differ_from_shipped_writes_nothing(app, world):
    order_id = shipped_order(app, world, [("REC-1", 4), ("SIM-1", 2)])
    admin = client_for(app, world, "admin_a")
    url = f"/stock/orders/{order_id}/receipt"
    assert admin.get(url).status_code == 200
    response = admin.post(url, data={"received-REC-1": "3", "refused-REC-1": "0",
                                     "received-SIM-1": "2", "refused-SIM-1": "0",
                                     "serials-SIM-1": "8933990000000000999"})
    body = text(response)
    assert response.status_code == 422
    assert "reçu (3) + refusé (0) doit égaler la quantité expédiée (4)" in body
    assert "ne figurent pas dans l&#39;expédition" in body or "ne figurent pas dans l'expédition" in body
    missing_reason = admin.post(url, data={"received-REC-1": "3", "refused-REC-1": "1",
                                           "received-SIM-1": "2", "refused-SIM-1": "0"})
    assert missing_reason.status_code == 422 and "motif du refus de REC-1" in text(missing_reason)
    assert order_status(app, order_id) == OrderStatus.SHIPPED
    assert client_for(app, world, "worker_a").post(url, data={}).status_code == 403


def test_fair_split_shows_the_rule_and_confirms_the_adjusted_batch(app, world):
    first = make_in(app, lambda: make_order(world.a, [("REC-1", 40)]))
    second = make_in(app, lambda: make_order(world.b, [("REC-1", 40)]))
    national = client_for(app, world, "national")
    page = national.get("/stock/fair-split/REC-1")
    body = text(page)
    assert page.status_code == 200 and "max-min" in body
    assert f'name="qty-{first}" ' in body.replace("\n", " ") or f'name="qty-{first}"' in body
    too_much = national.post("/stock/fair-split/REC-1", data={f"qty-{first}": "40", f"qty-{second}": "40"})
    assert too_much.status_code == 409 and "REC-1" in text(too_much)
    assert national_level(app, world.recharge) == (50, 0)
    done = national.post("/stock/fair-split/REC-1", data={f"qty-{first}": "30", f"qty-{second}": "20"})
    assert done.status_code == 302
    assert national_level(app, world.recharge) == (50, 50)
    assert order_status(app, first) == OrderStatus.AWAITING_PAYMENT


def test_catalogue_create_edit_and_deactivate(app, world):
    national = client_for(app, world, "national")
    bad = national.post("/stock/catalogue/new", data={
        "sku": "TAB-1", "name": "Tablette", "category": "tablet", "dimension": "connexion",
        "unit_price_cents": "20,00", "max_resale_price_cents": "douze"})
    assert bad.status_code == 422 and "Montant en euros attendu" in text(bad)
    wordy = national.post("/stock/catalogue/new", data={
        "sku": "TAB-1", "name": "Tablette", "category": "tablet", "dimension": "equipement",
        "unit_price_cents": "20", "max_resale_price_cents": "45", "description": "d" * 5001})
    assert wordy.status_code == 422 and "5000 caractères au plus" in text(wordy).replace("\u202f", "")
    assert query(app, lambda: db.session.scalar(select(Product.id).where(Product.sku == "TAB-1"))) is None
    created = national.post("/stock/catalogue/new", data={
        "sku": "tab-1", "name": "Tablette reconditionnée", "category": "tablet", "dimension": "equipement",
        "serialized": "y", "serial_kind": "serial", "unit_price_cents": "20",
        "max_resale_price_cents": "45,50"})
    assert created.status_code == 302
    listing = text(national.get("/stock/catalogue"))
    assert "TAB-1" in listing and "45,50" in listing
    product_id = query(app, lambda: db.session.scalar(select(Product.id).where(Product.sku == "TAB-1")))
    edit = national.get(f"/stock/catalogue/{product_id}/edit")
    assert edit.status_code == 200 and 'value="20,00"' in text(edit)
    assert national.post(f"/stock/catalogue/{product_id}/active", data={"active": "0"}).status_code == 302
    assert "retiré" in text(national.get("/stock/catalogue"))
    assert "Tablette reconditionnée" not in text(client_for(app, world, "admin_b").get("/stock/orders/new"))


# --- the whole flow ----------------------------------------------------------------------


def test_happy_path_create_submit_allocate_pay_ship_receive(app, world):
    admin = client_for(app, world, "admin_a")
    national = client_for(app, world, "national")
    created = admin.post("/stock/orders/new", data={"qty-REC-1": "10", "qty-SIM-1": "2", "note": "Merci"})
    assert created.status_code == 302
    url = created.headers["Location"]
    order_id = int(url.rsplit("/", 1)[1])
    assert admin.post(f"{url}/submit").status_code == 302

    allocated = national.post(f"{url}/allocation", data={"alloc-REC-1": "10", "alloc-SIM-1": "2"})
    assert allocated.status_code == 302
    assert order_status(app, order_id) == OrderStatus.AWAITING_PAYMENT
    relais_view = text(admin.get(url))
    assert "l&#39;équipe nationale enregistre votre paiement" in relais_view \
        or "l'équipe nationale enregistre votre paiement" in relais_view
    assert "52,00" in relais_view

    too_much = national.post(f"{url}/payments", data={"amount_cents": "60", "reference": "VIR-42"})
    assert too_much.status_code == 422 and "reste à payer" in text(too_much)
    paid = national.post(f"{url}/payments", data={"amount_cents": "52,00", "reference": "VIR-42"})
    assert paid.status_code == 302 and order_status(app, order_id) == OrderStatus.PAID

    shipment = national.get(f"{url}/shipment")
    assert shipment.status_code == 200 and 'name="serials-SIM-1"' in text(shipment)
    wrong = national.post(f"{url}/shipment", data={
        "quantity-REC-1": "10", "quantity-SIM-1": "2",
        "serials-SIM-1": f"{world.serials[0]}\n8933990000000000999"})
    assert wrong.status_code == 422 and "Numéros inconnus" in text(wrong)
    assert national_level(app, world.sim) == (5, 2)
    shipped = national.post(f"{url}/shipment", data={
        "quantity-REC-1": "10", "quantity-SIM-1": "2",
        "serials-SIM-1": f"{world.serials[0]} {world.serials[1]}"})
    assert shipped.status_code == 302 and order_status(app, order_id) == OrderStatus.SHIPPED
    note = admin.get(f"{url}/delivery-note.pdf")
    assert note.status_code == 200 and note.data.startswith(b"%PDF")

    receipt = admin.get(f"{url}/receipt")
    assert receipt.status_code == 200 and world.serials[0] in text(receipt)
    received = admin.post(f"{url}/receipt", data={
        "received-REC-1": "9", "refused-REC-1": "1", "reason-REC-1": "Carte abîmée",
        "received-SIM-1": "1", "refused-SIM-1": "1", "reason-SIM-1": "Puce cassée",
        "serials-SIM-1": world.serials[0]})
    assert received.status_code == 302
    assert order_status(app, order_id) == OrderStatus.PARTIALLY_RECEIVED

    detail = text(admin.get(url))
    for label in ("Demandé", "Alloué", "Expédié", "Reçu", "Refusé", "Carte abîmée", "VIR-42"):
        assert label in detail
    inventory = text(admin.get("/stock/inventory"))
    assert world.serials[0] in inventory and world.serials[1] not in inventory
    assert national.post(f"{url}/close").status_code == 302
    assert order_status(app, order_id) == OrderStatus.CLOSED
    history = text(national.get(url))
    assert history.count("<li>") >= 7


def test_payment_return_messages_and_cancel(app, world):
    order_id = make_in(app, lambda: make_order(world.a, [("REC-1", 2)]))
    admin = client_for(app, world, "admin_a")
    url = f"/stock/orders/{order_id}"
    assert "a été transmis" in text(admin.get(f"{url}?payment=success"))
    assert "Paiement abandonné" in text(admin.get(f"{url}?payment=cancelled"))
    assert admin.post(f"{url}/cancel", data={"reason": "Doublon"}).status_code == 302
    assert order_status(app, order_id) == OrderStatus.CANCELLED
    assert "Doublon" in text(admin.get(url))


def test_checkout_without_stripe_explains_that_the_national_team_records_payment(app, world):
    order_id = make_in(app, lambda: make_order(world.a, [("REC-1", 2)]))
    make_in(app, lambda: _allocate(world, order_id, {"REC-1": 2}))
    response = client_for(app, world, "admin_a").post(f"/stock/orders/{order_id}/checkout")
    assert response.status_code == 409 and "l&#39;équipe nationale" in text(response).replace("'", "&#39;")


def _allocate(world: SimpleNamespace, order_id: int, quantities: dict[str, int]) -> None:
    with tenant_session(db.session, TenantScope(all_relais=True)) as session:
        allocation.allocate(orders.get_order(order_id), quantities)
        session.commit()


def test_unit_lookup_shows_the_history(app, world):
    national = client_for(app, world, "national")
    page = national.get(f"/stock/units?serial={world.serials[0]}")
    assert page.status_code == 200 and "en stock national" in text(page)
    # A relais sees its own units only: this one is still in national stock.
    assert client_for(app, world, "admin_a").get(f"/stock/units?serial={world.serials[0]}").status_code == 404


# --- tenant isolation --------------------------------------------------------------------

ORDER_ROUTES = [
    ("GET", "/stock/orders/{id}", None),
    ("GET", "/stock/orders/{id}/edit", None),
    ("POST", "/stock/orders/{id}/edit", {"qty-REC-1": "1"}),
    ("POST", "/stock/orders/{id}/submit", {}),
    ("POST", "/stock/orders/{id}/cancel", {"reason": "x"}),
    ("POST", "/stock/orders/{id}/allocation", {"alloc-REC-1": "1"}),
    ("POST", "/stock/orders/{id}/checkout", {}),
    ("POST", "/stock/orders/{id}/payments", {"amount_cents": "1", "reference": "x"}),
    ("POST", "/stock/orders/{id}/invoice", {}),
    ("GET", "/stock/orders/{id}/shipment", None),
    ("POST", "/stock/orders/{id}/shipment", {}),
    ("GET", "/stock/orders/{id}/receipt", None),
    ("POST", "/stock/orders/{id}/receipt", {"received-REC-1": "1"}),
    ("POST", "/stock/orders/{id}/close", {}),
    ("GET", "/stock/orders/{id}/delivery-note.pdf", None),
    ("GET", "/stock/orders/{id}/pick-list", None),
    ("POST", "/stock/orders/{id}/shipments", {"location_id": "1", "quantity-REC-1": "1"}),
    # The order is looked up before its parcel: any parcel id answers the same.
    ("POST", "/stock/orders/{id}/shipments/{parcel}/receipt", {"received-REC-1": "1"}),
]


def test_every_stock_route_with_an_order_id_is_in_the_matrix(app):
    covered = {template.replace("{id}", "<int:order_id>").replace("{parcel}", "<int:shipment_id>")
               for _method, template, _data in ORDER_ROUTES}
    with_ids = {rule.rule for rule in app.url_map.iter_rules()
                if rule.endpoint.startswith("stock.") and "order_id" in rule.arguments}
    assert with_ids <= covered


@pytest.mark.parametrize("who", ["admin_b", "worker_b"])
def test_another_relais_gets_404_for_every_order_route(app, world, who):
    draft = make_in(app, lambda: make_order(world.a, [("REC-1", 2)], submit=False))
    shipped = shipped_order(app, world, [("REC-1", 1)])
    client = client_for(app, world, who)
    for order_id in (draft, shipped):
        for method, template, data in ORDER_ROUTES:
            url = template.format(id=order_id, parcel=999_999_999)
            response = client.open(url, method=method, data=data or {})
            assert response.status_code == 404, (method, url, response.status_code)
    assert order_status(app, draft) == OrderStatus.DRAFT
    assert order_status(app, shipped) == OrderStatus.SHIPPED
    listing = text(client.get("/stock/orders"))
    assert f"n° {draft}<" not in listing and f"n° {shipped}<" not in listing
    assert "0 commande" in listing


def test_lists_show_own_orders_only(app, world):
    mine = make_in(app, lambda: make_order(world.a, [("REC-1", 2)]))
    theirs = make_in(app, lambda: make_order(world.b, [("REC-1", 3)]))
    own = text(client_for(app, world, "worker_a").get("/stock/orders"))
    assert f"n° {mine}<" in own and f"n° {theirs}<" not in own
    everyone = text(client_for(app, world, "national").get("/stock/orders"))
    assert f"n° {mine}<" in everyone and f"n° {theirs}<" in everyone
    filtered = text(client_for(app, world, "national").get(
        f"/stock/orders?relais_id={world.b}&status=submitted"))
    assert f"n° {mine}<" not in filtered and f"n° {theirs}<" in filtered
    # Relais users cannot widen their list with a relais filter.
    widened = text(client_for(app, world, "admin_a").get(f"/stock/orders?relais_id={world.b}"))
    assert f"n° {theirs}<" not in widened


# --- bounded queries ---------------------------------------------------------------------


@contextmanager
def counted(app) -> Iterator[list[str]]:
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def _queries(app, client, url: str) -> int:
    with counted(app) as statements:
        assert client.get(url).status_code == 200
    return len(statements)


@pytest.mark.parametrize("who", ["national", "admin_a"])
def test_orders_list_issues_the_same_number_of_queries_for_5_and_30_orders(app, world, who):
    def add(count: int) -> None:
        for n in range(count):
            make_in(app, lambda n=n: make_order(world.a, [("REC-1", 1 + n % 3), ("SIM-1", 1)]))

    client = client_for(app, world, who)
    add(5)
    few = _queries(app, client, "/stock/orders")
    add(25)
    many = _queries(app, client, "/stock/orders")
    assert few == many


def test_inventory_issues_the_same_number_of_queries_for_5_and_30_units(app, world):
    def deliver(start: int, count: int) -> None:
        with app.app_context():
            sim = db.session.get(Product, world.sim)
            serials = iccids(start, count, prefix="8933991")
            stock_up(sim, serials=serials)
            deliver_to_relais(world.a, sim, serials=serials)
            db.session.remove()

    client = client_for(app, world, "worker_a")
    deliver(1, 5)
    few = _queries(app, client, "/stock/inventory")
    deliver(100, 25)
    many = _queries(app, client, "/stock/inventory")
    assert few == many

    def held() -> int:
        with tenant_session(db.session, TenantScope(all_relais=True)) as session:
            return session.scalar(select(func.count(SerialUnit.id))
                                  .where(SerialUnit.status == UnitStatus.AT_RELAIS))

    assert query(app, held) == 30


def test_a_bad_last_iccid_of_a_range_is_shown_on_the_last_field(app, world):
    national = client_for(app, world, "national")
    bad_last = iccids(300, 1)[0][:-1] + str((int(iccids(300, 1)[0][-1]) + 1) % 10)
    refused = national.post("/stock/national/receipts", data={
        "receipt-sku": "SIM-1", "receipt-range_first": iccids(290, 1)[0], "receipt-range_last": bad_last})
    page = text(refused)
    assert refused.status_code == 422
    last_field = page[page.index('for="receipt-range_last"'):]
    first_field = page[page.index('for="receipt-range_first"'):page.index('for="receipt-range_last"')]
    assert f"{bad_last}: clé de contrôle (Luhn) invalide" in last_field.split("</div>")[0]
    assert "Luhn" not in first_field
