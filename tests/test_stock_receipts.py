"""National stock: serial rules, receipts (quantity, list, range), adjustments, returns, the ledger."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from relais_platform.accounts.models import Role
from relais_platform.audit.models import AuditEntry
from relais_platform.domain import ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product, SerialKind
from relais_platform.stock.scope import open_national_scope
from relais_platform.stock.warehouse import ledger, national, serials
from relais_platform.stock.warehouse.models import (
    MovementKind,
    NationalStock,
    RelaisStock,
    SerialUnit,
    SerialUnitEvent,
    StockMovement,
    UnitStatus,
)
from tests.factories import (
    as_national,
    bearer,
    deliver_to_relais,
    iccids,
    imeis,
    make_product,
    make_relais,
    make_supplier,
    make_user,
    receive,
)

VALID_ICCID = iccids(1, 1)[0]


# --- serial rules (no database) -------------------------------------------------------


def test_luhn_check_digit_matches_the_textbook_example():
    assert serials.luhn_check_digit("7992739871") == "3"
    assert serials.luhn_valid("79927398713")
    assert not serials.luhn_valid("79927398710")


@pytest.mark.parametrize(("value", "problem"), [
    (VALID_ICCID, None),
    (iccids(1, 1, prefix="89331500")[0], None),  # 20 digits
    (VALID_ICCID[:-1] + str((int(VALID_ICCID[-1]) + 1) % 10), "Luhn"),
    ("8933990000000001", "19 ou 20 chiffres"),  # too short
    ("8933990000000000000001", "19 ou 20 chiffres"),  # too long
    ("8833990000000000013", "commence par 89"),
    ("89339900000000000A1", "19 ou 20 chiffres"),
    ("٨٩٣٣٩٩٠٠٠٠٠٠٠٠٠٠٠١٣", "19 ou 20 chiffres"),  # Arabic-Indic digits are not digits here
])
def test_iccid_rules(app_ctx, value, problem):
    found = serials.serial_problem(SerialKind.ICCID, value)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize(("value", "ok"), [
    ("490154203237518", True),
    ("490154203237517", False),  # wrong Luhn key
    ("49015420323751", False),  # 14 digits
    ("4901542032375188", False),  # 16 digits
])
def test_imei_rules(app_ctx, value, ok):
    assert (serials.serial_problem(SerialKind.IMEI, value) is None) is ok


@pytest.mark.parametrize(("value", "ok"), [
    ("C02XL0GHJGH5", True), ("EC-PC-0001", True), ("AB", False), ("A" * 33, False),
    ("SN 123", False), ("SN_123", False),
])
def test_serial_number_rules(app_ctx, value, ok):
    assert (serials.serial_problem(SerialKind.SERIAL, value) is None) is ok


def test_pasted_lists_and_scanner_output_are_split():
    pasted = ["A1B2C3\r\nD4E5F6\n", "G7H8I9, J1K2L3;M4N5O6\tP7Q8R9  S1T2U3", ""]
    assert serials.split_serials(pasted) == [
        "A1B2C3", "D4E5F6", "G7H8I9", "J1K2L3", "M4N5O6", "P7Q8R9", "S1T2U3"]


def test_check_serials_names_each_repeat_once(app_ctx):
    first, second = iccids(1, 2)
    checked = serials.check_serials(SerialKind.ICCID, [f"{first}\n{second}\n{first}\n{first}"])
    assert checked.serials == [first, second]
    assert checked.problems == [f"{first}: saisi plusieurs fois"]


def test_serial_numbers_are_compared_upper_case(app_ctx):
    checked = serials.check_serials(SerialKind.SERIAL, ["ec-pc-1", "EC-PC-1"])
    assert checked.serials == ["EC-PC-1"] and len(checked.problems) == 1


def test_iccid_range_recomputes_each_check_digit(app_ctx):
    first, *_, last = iccids(98, 5)
    expanded, problems = serials.expand_iccid_range(first, last)
    assert problems == []
    assert expanded == iccids(98, 5)  # crosses 99 → 100 with leading zeros kept
    assert all(serials.luhn_valid(iccid) for iccid in expanded)


@pytest.mark.parametrize(("first", "last", "problem"), [
    (iccids(10, 1)[0], iccids(5, 1)[0], "inversée"),
    (iccids(1, 1)[0], iccids(1, 1, prefix="89339900")[0], "même nombre de chiffres"),
    (iccids(1, 1)[0], iccids(1, 1, prefix="8933150")[0], "même préfixe"),
    (iccids(1, 1)[0], iccids(200_001, 1)[0], "au plus 100000"),
    ("8933990000000000010", iccids(5, 1)[0], "Luhn"),
])
def test_bad_iccid_ranges_are_explained(app_ctx, first, last, problem):
    expanded, problems = serials.expand_iccid_range(first, last)
    assert expanded == []
    assert problem in problems[0]


# --- receipts through the API ---------------------------------------------------------
# Requests run in their own application context (a fresh session each, as in production);
# setup and checks open theirs.


@pytest.fixture
def national_headers(app):
    with app.app_context():
        return bearer(make_user(Role.NATIONAL))


def _product(app, receipt: dict | None = None, **kwargs) -> tuple[int, str]:
    with app.app_context():
        product = make_product(**kwargs)
        if receipt:
            receive(product, **receipt)
        return product.id, product.sku


SMARTPHONE = {"serial_kind": "imei", "category": "smartphone", "dimension": "equipement",
              "validity_days": None}
LAPTOP = {"serial_kind": "serial", "category": "laptop", "dimension": "equipement",
          "validity_days": None}


def _post_receipt(client, headers, body):
    return client.post("/api/v1/stock/receipts", json=body, headers=headers)


def _device_origin(app) -> dict:
    """What a receipt of refurbished devices names: its refurbisher, a grade, a wipe certificate."""
    with app.app_context():
        return {"supplier_id": make_supplier().id, "grade": "B", "wipe_certificate": "WIPE-1"}


def _levels(app, product_id: int) -> tuple[int, int, int]:
    """(on hand, ledger rows, units) of a product, read as the national team."""
    with app.app_context(), as_national():
        level = db.session.get(NationalStock, product_id)
        moves = db.session.scalar(select(func.count()).where(StockMovement.product_id == product_id))
        units = db.session.scalar(select(func.count()).where(SerialUnit.product_id == product_id))
        return (level.on_hand if level else 0), moves, units


def test_receipt_by_quantity_updates_level_and_ledger_together(app, client, national_headers):
    pid, sku = _product(app)
    response = _post_receipt(client, national_headers,
                             {"sku": sku.lower(), "quantity": 120, "reason": "Livraison opérateur"})
    assert response.status_code == 201, response.json
    assert response.json == {"received": 120}
    assert _levels(app, pid) == (120, 1, 0)
    with app.app_context(), as_national():
        movement = db.session.scalar(select(StockMovement))
        assert (movement.kind, movement.on_hand_delta, movement.reason) == (
            MovementKind.RECEIPT, 120, "Livraison opérateur")
        assert movement.actor_id is not None


def test_receipt_opens_the_national_scope_through_the_audit_log(app, client, national_headers):
    _pid, sku = _product(app)
    assert _post_receipt(client, national_headers, {"sku": sku, "quantity": 1}).status_code == 201
    with app.app_context(), as_national():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "network_access")).all()
        assert [(e.details["reason"], e.details["relais_ids"]) for e in entries] == [
            ("réception au stock national", "*")]
        assert entries[0].actor_id is not None


def test_receipt_of_a_pasted_list_creates_units_with_their_first_event(app, client, national_headers):
    pid, sku = _product(app, **SMARTPHONE)
    one, two, three = imeis(1, 3)
    response = _post_receipt(client, national_headers,
                             {"sku": sku, "serials": [f"{one}\r\n{two}, ", three], **_device_origin(app)})
    assert response.status_code == 201, response.json
    assert response.json == {"received": 3}
    assert _levels(app, pid) == (3, 1, 3)
    with app.app_context(), as_national():
        units = db.session.scalars(select(SerialUnit).order_by(SerialUnit.serial)).all()
        assert [u.serial for u in units] == [one, two, three]
        assert {(u.status, u.relais_id) for u in units} == {(UnitStatus.IN_STOCK, None)}
        events = db.session.scalars(select(SerialUnitEvent)).all()
        assert sorted(e.unit_id for e in events) == sorted(u.id for u in units)
        assert {(e.from_status, e.to_status) for e in events} == {(None, UnitStatus.IN_STOCK)}
        assert None not in {e.actor_id for e in events}


def test_receipt_of_a_range(app, client, national_headers):
    pid, sku = _product(app, serial_kind="iccid")
    first, *_, last = iccids(1, 250)
    response = _post_receipt(client, national_headers,
                             {"sku": sku, "serial_range": {"first": first, "last": last}})
    assert response.status_code == 201, response.json
    assert response.json == {"received": 250}
    assert _levels(app, pid) == (250, 1, 250)


def test_invalid_serials_reject_the_whole_receipt_naming_each(app, client, national_headers):
    pid, sku = _product(app, serial_kind="iccid")
    good = iccids(1, 3)
    bad_luhn = good[0][:-1] + str((int(good[0][-1]) + 1) % 10)
    body = {"sku": sku, "serials": [*good, bad_luhn, "8833990000000000013", "123"]}
    response = _post_receipt(client, national_headers, body)
    assert response.status_code == 422
    messages = response.json["errors"]["serials"]
    assert [m.split(":")[0] for m in messages] == [bad_luhn, "8833990000000000013", "123"]
    assert "Luhn" in messages[0] and "89" in messages[1] and "19 ou 20" in messages[2]
    assert _levels(app, pid) == (0, 0, 0)


def test_duplicates_within_the_input_reject_the_receipt(app, client, national_headers):
    pid, sku = _product(app, serial_kind="iccid")
    one, two = iccids(1, 2)
    response = _post_receipt(client, national_headers, {"sku": sku, "serials": [one, two, one]})
    assert response.status_code == 422
    assert response.json["errors"]["serials"] == [f"{one}: saisi plusieurs fois"]
    assert _levels(app, pid) == (0, 0, 0)


def test_serials_already_known_reject_the_whole_receipt(app, client, national_headers):
    pid, sku = _product(app, {"serials": iccids(1, 10)}, serial_kind="iccid")
    listed = _post_receipt(client, national_headers,
                           {"sku": sku, "serials": [*iccids(11, 5), iccids(3, 1)[0]]})
    assert listed.status_code == 422
    assert listed.json["errors"]["serials"] == [f"{iccids(3, 1)[0]}: déjà enregistré pour {sku}"]
    # Part of the range is new, two serials are known: nothing at all is received.
    first, last = iccids(9, 1)[0], iccids(30, 1)[0]
    ranged = _post_receipt(client, national_headers,
                           {"sku": sku, "serial_range": {"first": first, "last": last}})
    assert ranged.status_code == 422
    assert [m.split(":")[0] for m in ranged.json["errors"]["serial_range"]] == iccids(9, 2)
    assert _levels(app, pid) == (10, 1, 10)


def test_the_same_serial_may_exist_for_another_product(app, client, national_headers):
    _product(app, {"serials": iccids(1, 2)}, serial_kind="iccid")
    _kits, kits_sku = _product(app, serial_kind="iccid", category="kit")
    response = _post_receipt(client, national_headers, {"sku": kits_sku, "serials": iccids(1, 2)})
    assert response.status_code == 201


@pytest.mark.parametrize(("first", "last"), [
    (iccids(10, 1)[0], iccids(5, 1)[0]),  # reversed
    (iccids(1, 1)[0], iccids(1, 1, prefix="89339900")[0]),  # mismatched lengths
    (iccids(1, 1)[0], iccids(1, 1, prefix="8933150")[0]),  # another issuer
    (iccids(1, 1)[0], iccids(150_000, 1)[0]),  # more than 100,000
])
def test_bad_ranges_are_refused_with_nothing_written(app, client, national_headers, first, last):
    pid, sku = _product(app, serial_kind="iccid")
    response = _post_receipt(client, national_headers,
                             {"sku": sku, "serial_range": {"first": first, "last": last}})
    assert response.status_code == 422
    assert response.json["errors"]["serial_range"]
    assert _levels(app, pid) == (0, 0, 0)


def test_long_lists_of_problems_name_the_first_and_count_the_rest(app, client, national_headers):
    _pid, sku = _product(app, **LAPTOP)
    origin = _device_origin(app)
    response = _post_receipt(client, national_headers, {"sku": sku, "serials": ["ABC"] * 1500, **origin})
    assert response.status_code == 422
    assert response.json["errors"]["serials"] == ["ABC: saisi plusieurs fois"]
    response = _post_receipt(client, national_headers,
                             {"sku": sku, "serials": [f"S_{n}" for n in range(1500)], **origin})
    messages = response.json["errors"]["serials"]
    assert len(messages) == 1001
    assert messages[0].startswith("S_0: ") and "500 autre(s)" in messages[-1]


@pytest.mark.parametrize(("product_kwargs", "body", "field"), [
    ({"serial_kind": "iccid"}, {"quantity": 5}, "quantity"),
    ({}, {"serials": ["A1B2C3"]}, "serials"),
    ({}, {"serial_range": {"first": VALID_ICCID, "last": VALID_ICCID}}, "serials"),
    ({}, {"quantity": 0}, "quantity"),
    ({}, {}, "quantity"),
    ({}, {"quantity": 5, "serials": ["A1B2C3"]}, "quantity"),
    ({"serial_kind": "iccid"}, {"serials": []}, "serials"),
    (SMARTPHONE, {"serial_range": {"first": VALID_ICCID, "last": VALID_ICCID}}, "serial_range"),
])
def test_receipt_shape_must_match_the_product(app, client, national_headers, product_kwargs, body, field):
    pid, sku = _product(app, **product_kwargs)
    origin = _device_origin(app) if product_kwargs is SMARTPHONE else {}
    response = _post_receipt(client, national_headers, {"sku": sku, **body, **origin})
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert _levels(app, pid) == (0, 0, 0)


def test_unknown_sku_is_reported_on_sku(client, national_headers):
    response = _post_receipt(client, national_headers, {"sku": "NOPE", "quantity": 3})
    assert response.status_code == 422
    assert "NOPE" in response.json["errors"]["sku"][0]


# --- adjustments and returns ----------------------------------------------------------


def _adjust(client, headers, **body):
    return client.post("/api/v1/stock/adjustments", json=body, headers=headers)


def test_adjustments_move_stock_both_ways_with_a_reason(app, client, national_headers):
    pid, sku = _product(app, {"quantity": 10})
    down = _adjust(client, national_headers, sku=sku, quantity=-3, reason="Inventaire : cartons abîmés")
    assert down.status_code == 201, down.json
    assert (down.json["sku"], down.json["on_hand"], down.json["available"]) == (sku, 7, 7)
    up = _adjust(client, national_headers, sku=sku, quantity=2, reason="Inventaire : carton retrouvé")
    assert up.json["on_hand"] == 9
    blank = _adjust(client, national_headers, sku=sku, quantity=2, reason="  ")
    assert blank.status_code == 422 and "reason" in blank.json["errors"]
    zero = _adjust(client, national_headers, sku=sku, quantity=0, reason="Rien")
    assert zero.status_code == 422 and "quantity" in zero.json["errors"]
    assert _levels(app, pid) == (9, 3, 0)
    with app.app_context(), as_national():
        reasons = db.session.scalars(select(StockMovement.reason).order_by(StockMovement.id)).all()
    assert reasons == [None, "Inventaire : cartons abîmés", "Inventaire : carton retrouvé"]


def test_adjustment_cannot_take_on_hand_below_reserved(app, client, national_headers):
    pid, sku = _product(app, {"quantity": 10})
    with app.app_context(), as_national():
        ledger.move_national(db.session.get(Product, pid), MovementKind.RESERVATION, reserved_delta=8)
        db.session.commit()
    response = _adjust(client, national_headers, sku=sku, quantity=-3, reason="Casse")
    assert response.status_code == 409
    assert sku in response.json["message"]
    assert _levels(app, pid) == (10, 2, 0)
    assert _adjust(client, national_headers, sku=sku, quantity=-2, reason="Casse").status_code == 201


def test_serialized_adjustment_writes_off_named_units(app, client, national_headers):
    stock = iccids(1, 5)
    pid, sku = _product(app, {"serials": stock}, serial_kind="iccid")
    quantity = _adjust(client, national_headers, sku=sku, quantity=-1, reason="Perte")
    assert quantity.status_code == 422 and "quantity" in quantity.json["errors"]
    response = _adjust(client, national_headers, sku=sku, serials=stock[:2], status="defective",
                       reason="Puces illisibles")
    assert response.status_code == 201, response.json
    assert response.json["on_hand"] == 3
    with app.app_context(), as_national():
        statuses = dict(db.session.execute(select(SerialUnit.serial, SerialUnit.status)).all())
    assert [statuses[s] for s in stock] == [UnitStatus.DEFECTIVE] * 2 + [UnitStatus.IN_STOCK] * 3
    again = _adjust(client, national_headers, sku=sku, serials=stock[:1], reason="Perte")
    assert again.status_code == 422
    assert again.json["errors"]["serials"] == [f"{stock[0]}: statut actuel : defective"]
    unknown = _adjust(client, national_headers, sku=sku, serials=iccids(50, 1), reason="Perte")
    assert unknown.json["errors"]["serials"] == [f"{iccids(50, 1)[0]}: inconnu pour {sku}"]
    assert _levels(app, pid) == (3, 2, 5)


def test_returned_units_leave_the_relais_and_come_back_on_hand(app, client, national_headers):
    phones = imeis(1, 4)
    with app.app_context():
        relais_id = make_relais().id
        product = make_product(**SMARTPHONE)
        receive(product, serials=phones)
        deliver_to_relais(relais_id, product, serials=phones[:3])
        pid, sku = product.id, product.sku
    assert _levels(app, pid)[0] == 1
    response = client.post("/api/v1/stock/returns", headers=national_headers,
                           json={"sku": sku, "serials": phones[:2], "reason": "Retour de garantie"})
    assert response.status_code == 201, response.json
    assert response.json == {"returned": 2}
    broken = client.post("/api/v1/stock/returns", headers=national_headers,
                         json={"sku": sku, "serials": phones[2:3], "reason": "Ne s'allume plus",
                               "defective": True})
    assert broken.status_code == 201
    assert _levels(app, pid)[0] == 3
    with app.app_context(), as_national():
        held = db.session.scalar(select(RelaisStock.on_hand).where(RelaisStock.relais_id == relais_id))
        units = dict(db.session.execute(select(SerialUnit.serial, SerialUnit.status)).all())
        custody = set(db.session.scalars(select(SerialUnit.relais_id)))
    assert held == 0
    assert [units[p] for p in phones] == [UnitStatus.IN_STOCK, UnitStatus.IN_STOCK,
                                          UnitStatus.DEFECTIVE, UnitStatus.IN_STOCK]
    assert custody == {None}
    in_stock = client.post("/api/v1/stock/returns", headers=national_headers,
                           json={"sku": sku, "serials": phones[3:], "reason": "?"})
    assert in_stock.status_code == 422
    assert in_stock.json["errors"]["serials"] == [f"{phones[3]}: statut actuel : in_stock"]


# --- levels, ledger and units ---------------------------------------------------------


def test_national_stock_view_lists_every_product(app, client, national_headers):
    received, _ = _product(app, {"quantity": 4}, sku="AAA-1", name="Recharge A")
    empty, _ = _product(app, sku="BBB-1")
    response = client.get("/api/v1/stock", headers=national_headers)
    assert response.status_code == 200
    rows = {row["sku"]: row for row in response.json}
    # The per-location breakdown (issue 17) is added inside the row; every field stays.
    locations = rows["AAA-1"].pop("locations")
    assert [(loc["name"], loc["on_hand"]) for loc in locations] == [("Entrepôt central", 4)]
    assert rows["AAA-1"] == {"product_id": received, "sku": "AAA-1", "name": "Recharge A",
                             "serialized": False, "active": True, "on_hand": 4, "reserved": 0,
                             "available": 4, "in_transit": 0}
    assert (rows["BBB-1"]["product_id"], rows["BBB-1"]["on_hand"]) == (empty, 0)
    assert response.headers["X-Total-Count"] == "2"


@pytest.mark.parametrize("statement", [
    "UPDATE stock_movements SET on_hand_delta = 1000",
    "DELETE FROM stock_movements",
    "UPDATE serial_unit_events SET note = 'x'",
    "DELETE FROM serial_unit_events",
])
def test_ledgers_refuse_updates_and_deletes_as_app_role_and_owner(app, owner_engine, statement):
    pid, _sku = _product(app, {"serials": iccids(1, 2)}, serial_kind="iccid")
    with app.app_context(), as_national(), pytest.raises(DBAPIError, match="permission denied"):
        db.session.execute(text(statement))
    with owner_engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement))
    assert _levels(app, pid) == (2, 1, 2)


def test_unit_lookup_shows_the_history(app, client, national_headers):
    with app.app_context():
        relais_id = make_relais().id
        product = make_product(**LAPTOP)
        receive(product, serials=["ec-pc-0001"])
        deliver_to_relais(relais_id, product, serials=["EC-PC-0001"])
        sku = product.sku
    response = client.get("/api/v1/units/ec-pc-0001", headers=national_headers)
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["sku"], body["serial"], body["status"], body["relais_id"]) == (
        sku, "EC-PC-0001", "at_relais", relais_id)
    assert [(e["from_status"], e["to_status"]) for e in body["history"]] == [
        (None, "in_stock"), ("in_stock", "at_relais")]
    assert client.get("/api/v1/units/EC-PC-9999", headers=national_headers).status_code == 404


def test_unit_lookup_asks_for_the_product_when_a_serial_is_shared(app, client, national_headers):
    shared = iccids(1, 1)
    _product(app, {"serials": shared}, serial_kind="iccid")
    _kits, kits_sku = _product(app, {"serials": shared}, serial_kind="iccid", category="kit")
    assert client.get(f"/api/v1/units/{shared[0]}", headers=national_headers).status_code == 422
    response = client.get(f"/api/v1/units/{shared[0]}?sku={kits_sku}", headers=national_headers)
    assert response.status_code == 200 and response.json["sku"] == kits_sku


def test_concurrent_receipts_of_the_same_serials_cannot_both_pass(app):
    """The product's level lock orders the two receipts; the second sees the first's units."""
    pid, _sku = _product(app, serial_kind="iccid")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def receipt(serials: list[str]) -> None:
        with app.app_context():
            open_national_scope("test de concurrence")
            product = db.session.get(Product, pid)
            barrier.wait()
            try:
                national.receive(product, serials=serials)
                db.session.commit()
                outcomes.append("received")
            except ValidationFailed:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=receipt, args=(batch,))
               for batch in (iccids(1, 300), iccids(250, 300))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["received", "refused"]
    assert _levels(app, pid) == (300, 1, 300)
