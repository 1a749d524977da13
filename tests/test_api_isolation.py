"""Tenant isolation matrix for the API: relais A's objects do not exist for relais B's users.

Every API route taking the id of a tenant-owned object (in its path or its body) answers B's
admin, B's worker and B's coach exactly as it answers for an id no row has: 404, or 403 when
their role may not use the route at all (whatever the id) — never anything that would tell
that A's object exists — and changes nothing on A's side. Lists never show A's rows.
`test_every_api_route_with_an_id_is_in_the_matrix` keeps the matrix complete.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import Flask

from tests.isolation_world import SKU, build_world, snapshot_of_a
from tests.test_api_auth import assert_error


@pytest.fixture
def w(app: Flask) -> SimpleNamespace:
    with app.app_context():
        return build_world()


# (method, url template, JSON body). Path ids: {a} relais A, {b} relais B, {ua} A's worker,
# {order} {distribution} {person} {record} {step} {milestone} A's objects, {session} a
# training session (national) in which A's worker is enrolled. The bodies are valid, so that
# a 422 never hides what the lookup answers.
ROUTES = [
    ("GET", "/api/v1/relais/{a}", None),
    ("PATCH", "/api/v1/relais/{a}", {"contact_phone": "0102030405"}),
    ("GET", "/api/v1/relais/{a}/users", None),
    ("POST", "/api/v1/relais/{a}/users", {"email": "intrus@example.org", "name": "I",
                                          "role": "relais_worker"}),
    ("GET", "/api/v1/relais/{a}/users/{ua}", None),
    ("PATCH", "/api/v1/relais/{a}/users/{ua}", {"active": False}),
    ("GET", "/api/v1/relais/{a}/security", None),
    ("PATCH", "/api/v1/relais/{a}/security", {"require_two_factor": True}),
    # A's member reached through B's own relais.
    ("GET", "/api/v1/relais/{b}/users/{ua}", None),
    ("PATCH", "/api/v1/relais/{b}/users/{ua}", {"role": "relais_admin"}),
    # training and coaching of relais A
    ("PUT", "/api/v1/relais/{a}/coach", {"coach_id": None}),
    ("GET", "/api/v1/relais/{a}/progress", None),
    ("GET", "/api/v1/relais/{a}/training", None),
    ("GET", "/api/v1/relais/{a}/training-path", None),
    ("PUT", "/api/v1/relais/{a}/training-path", {"module_codes": []}),
    ("GET", "/api/v1/relais/{a}/coaching-sessions", None),
    ("POST", "/api/v1/relais/{a}/coaching-sessions", {"date": "2026-01-10", "kind": "phone"}),
    ("PATCH", "/api/v1/relais/{a}/next-steps/{step}", {"done": True}),
    ("PATCH", "/api/v1/relais/{b}/next-steps/{step}", {"done": True}),
    ("POST", "/api/v1/relais/{a}/milestones", {"title": "Intrus", "due_date": "2026-03-01"}),
    ("PATCH", "/api/v1/relais/{a}/milestones/{milestone}", {"done": True}),
    ("PATCH", "/api/v1/relais/{b}/milestones/{milestone}", {"done": True}),
    ("GET", "/api/v1/training/records/{record}/certificate", None),
    ("POST", "/api/v1/training/sessions/{session}/enrollments", {"user_id": "{ua}"}),
    ("DELETE", "/api/v1/training/sessions/{session}/enrollments/{ua}", None),
    ("POST", "/api/v1/training/sessions/{session}/attendance", {"user_id": "{ua}", "present": True}),
    # orders and payments of relais A
    ("GET", "/api/v1/orders/{order}", None),
    ("PATCH", "/api/v1/orders/{order}", {"lines": [{"sku": SKU, "quantity": 1}]}),
    ("POST", "/api/v1/orders/{order}/submit", {}),
    ("POST", "/api/v1/orders/{order}/cancel", {"reason": "intrus"}),
    ("POST", "/api/v1/orders/{order}/allocation", {"lines": [{"sku": SKU, "quantity": 1}]}),
    ("POST", "/api/v1/allocation-proposals/confirm",
     {"sku": SKU, "allocations": [{"order_id": "{order}", "quantity": 1}]}),
    ("POST", "/api/v1/orders/{order}/shipment", {}),
    ("GET", "/api/v1/orders/{order}/delivery-note", None),
    ("GET", "/api/v1/orders/{order}/pick-list", None),
    ("GET", "/api/v1/orders/{order}/shipments", None),
    ("POST", "/api/v1/orders/{order}/shipments", {"location_id": 1, "lines": [{"sku": SKU, "quantity": 1}]}),
    ("POST", "/api/v1/orders/{order}/shipments/{shipment}/receipt", {"lines": [{"sku": SKU, "received": 1}]}),
    ("POST", "/api/v1/orders/{order}/receipt", {"lines": [{"sku": SKU, "received": 2}]}),
    ("POST", "/api/v1/orders/{order}/close", {}),
    ("GET", "/api/v1/orders/{order}/payments", None),
    ("POST", "/api/v1/orders/{order}/payments/manual", {"amount_cents": 100, "reference": "VIR-1"}),
    ("POST", "/api/v1/orders/{order}/checkout", None),
    ("POST", "/api/v1/orders/{order}/invoice", None),
    # stock counts of relais A
    ("GET", "/api/v1/stocktakes/{stocktake}", None),
    ("POST", "/api/v1/stocktakes/{stocktake}/lines", {"lines": [{"sku": SKU, "counted": 1,
                                                                 "reason_code": "lost"}]}),
    ("POST", "/api/v1/stocktakes/{stocktake}/finalise", None),
    # monthly stock report of relais A, as the national team reads and reviews it
    ("GET", "/api/v1/stock-reports/{a}/{period}", None),
    ("POST", "/api/v1/stock-reports/{a}/{period}/review", {"decision": "accepted"}),
    # distributions of relais A
    ("GET", "/api/v1/distributions/{distribution}", None),
    ("POST", "/api/v1/distributions/{distribution}/cancel", {"reason": "intrus"}),
    ("POST", "/api/v1/distributions/{distribution}/warranty-return", {"outcome": "returned"}),
    ("POST", "/api/v1/distributions/{distribution}/warranty-exchange",
     {"replacement_serial": "356938030000009", "outcome": "defective"}),
    ("GET", "/api/v1/distributions/{distribution}/receipt", None),
    ("POST", "/api/v1/distributions", {"sku": SKU, "price_cents": 0, "beneficiary_id": "{person}"}),
    # beneficiaries of relais A
    ("GET", "/api/v1/beneficiaries/{person}", None),
    ("PATCH", "/api/v1/beneficiaries/{person}", {"first_name": "Intrus"}),
    ("DELETE", "/api/v1/beneficiaries/{person}", None),
    ("GET", "/api/v1/beneficiaries/{person}/export", None),
    ("GET", "/api/v1/beneficiaries/{person}/diagnostics", None),
    ("POST", "/api/v1/beneficiaries/{person}/diagnostics", {"level": "debutant"}),
    ("GET", "/api/v1/beneficiaries/{person}/parcours", None),
    ("POST", "/api/v1/beneficiaries/merge", {"keep_id": "{person_b}", "merge_id": "{person}"}),
    ("POST", "/api/v1/accompaniments", {"kind": "permanence", "date": "2026-01-20",
                                        "duration_minutes": 60, "beneficiary_ids": ["{person}"]}),
    ("POST", "/api/v1/orders", {"relais_id": "{a}", "lines": [{"sku": SKU, "quantity": 1}]}),
    # the front desk: hand-overs, the connection period, corrected sessions, referrers
    ("POST", "/api/v1/handovers", {"beneficiary_id": "{person}", "lines": [{"sku": SKU, "price_cents": 0}]}),
    ("GET", "/api/v1/handovers/{handover}", None),
    ("GET", "/api/v1/handovers/{handover}/receipt", None),
    ("POST", "/api/v1/beneficiaries/{person}/connection-extension", {"months": 6, "reason": "intrus"}),
    ("PATCH", "/api/v1/accompaniments/{accompaniment}", {"duration_minutes": 30}),
    ("DELETE", "/api/v1/accompaniments/{accompaniment}", {"reason": "intrus"}),
    ("POST", "/api/v1/accompaniments/{accompaniment}/duplicate", {"date": "2026-01-22"}),
    ("PATCH", "/api/v1/beneficiaries/{person_b}", {"referrer_id": "{referrer}"}),
    # reporting of relais A
    ("GET", "/api/v1/events/{event}", None),
    ("PATCH", "/api/v1/events/{event}", {"title": "Intrus"}),
    ("DELETE", "/api/v1/events/{event}", None),
    ("GET", "/api/v1/reports/exports/{export}", None),
    ("GET", "/api/v1/reports/exports/{export}/file", None),
    ("POST", "/api/v1/reports/exports/{export}/retry", None),
    ("GET", "/api/v1/reports/annual?year=2026&relais_id={a}", None),
    ("GET", "/api/v1/reports/annual/export?year=2026&format=csv&relais_id={a}", None),
    # imports of relais A
    ("GET", "/api/v1/imports/{upload}", None),
    ("POST", "/api/v1/imports/{upload}/apply", None),
    ("GET", "/api/v1/reports/activity?from=2026-01-01&to=2026-12-31&relais_id={a}", None),
    ("GET", "/api/v1/reports/activity?from=2026-01-01&to=2026-12-31&convention_id={convention}", None),
    # an agreement covering relais A only
    ("GET", "/api/v1/conventions/{convention}", None),
    ("GET", "/api/v1/conventions/{convention}/report", None),
    ("GET", "/api/v1/conventions/{convention}/report/export?format=pdf", None),
]

# Path parameters naming no tenant-owned object: national training sessions, products and
# themes; supply's collections and supplier returns (national only: relais and coaches get 403,
# see tests/test_supply.py); stock locations, transfers between them, emergency campaigns (a
# relais' needs are reached through its bound session only: tests/test_stock_campaigns.py).
# Every other `*_id` (and `serial`) names a relais' object, so its route must be here.
NATIONAL_PARAMS = {"session_id", "product_id", "theme_id", "collection_id", "return_id", "location_id",
                   "transfer_id", "campaign_id"}
# Covered elsewhere: a serial is not an id, see test_stock_isolation (units of another relais).
ELSEWHERE = {"/api/v1/units/<string:serial>"}

WHO = ("admin_b", "worker_b", "coach_b")


def _ids(w: SimpleNamespace) -> dict[str, int]:
    return {"a": w.a, "b": w.b, "ua": w.worker_a, "order": w.order, "distribution": w.distribution,
            "person": w.person, "person_b": w.person_b, "record": w.record, "step": w.step,
            "milestone": w.milestone, "session": w.training_session, "event": w.event,
            "export": w.export, "handover": w.handover, "accompaniment": w.accompaniment,
            "referrer": w.referrer, "upload": w.upload, "convention": w.convention,
            "stocktake": w.stocktake, "period": "2026-01",
            # A's order is looked up before its parcel: any parcel id answers the same.
            "shipment": w.missing}


def _fill(value, ids: dict[str, int]):
    """Put the ids in a URL template or a JSON body ("{x}" strings become integers)."""
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    return value


def _missing(ids: dict[str, int], w: SimpleNamespace) -> dict[str, int]:
    """The same ids, A's objects replaced by an id no row has (B's own relais kept)."""
    return {key: (value if key in ("b", "person_b", "session", "period") else w.missing)
            for key, value in ids.items()}


def test_every_api_route_with_an_id_is_in_the_matrix(app):
    placeholders = {"{a}": "<int:relais_id>", "{b}": "<int:relais_id>", "{ua}": "<int:user_id>",
                    "{order}": "<int:order_id>", "{distribution}": "<int:distribution_id>",
                    "{person}": "<int:beneficiary_id>", "{record}": "<int:record_id>",
                    "{step}": "<int:step_id>", "{milestone}": "<int:milestone_id>",
                    "{session}": "<int:session_id>", "{event}": "<int:event_id>",
                    "{export}": "<int:export_id>", "{handover}": "<int:handover_id>",
                    "{accompaniment}": "<int:accompaniment_id>",
                    "{upload}": "<int:import_id>", "{convention}": "<int:convention_id>",
            "{stocktake}": "<int:stocktake_id>",
                    "{period}": "<period>", "{shipment}": "<int:shipment_id>"}
    covered = set()
    for method, template, _body in ROUTES:
        template = template.split("?")[0]
        for placeholder, converter in placeholders.items():
            template = template.replace(placeholder, converter)
        covered.add((method, template))
    missing = sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.rule not in ELSEWHERE
        and any(arg.endswith("_id") and arg not in NATIONAL_PARAMS for arg in rule.arguments)
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if (method, rule.rule) not in covered
    )
    assert missing == []


@pytest.mark.parametrize("who", WHO)
def test_other_tenant_ids_answer_as_missing_ones(app, client, w, who):
    before = snapshot_of_a(app, w)
    ids = _ids(w)
    leaks = []
    for method, template, body in ROUTES:
        answers = []
        for values in (ids, _missing(ids, w)):
            response = client.open(_fill(template, values), method=method, json=_fill(body, values),
                                   headers=w.headers[who])
            answers.append(response)
        other, missing = answers
        if other.status_code != missing.status_code or other.status_code not in (403, 404, 422):
            leaks.append((method, template, other.status_code, missing.status_code))
        elif other.status_code != 422:
            assert_error(other, other.status_code)
    assert leaks == []
    assert snapshot_of_a(app, w) == before


@pytest.mark.parametrize("who", ("admin_b", "worker_b"))
def test_routes_b_may_use_answer_404_for_a_objects(client, w, who):
    """Where B's role may act on its own objects, A's are plainly not found."""
    ids = _ids(w)
    for method, template in [
        ("GET", "/api/v1/relais/{a}"), ("GET", "/api/v1/relais/{a}/progress"),
        ("GET", "/api/v1/orders/{order}"), ("GET", "/api/v1/orders/{order}/delivery-note"),
        ("GET", "/api/v1/distributions/{distribution}"),
        ("GET", "/api/v1/distributions/{distribution}/receipt"),
        ("GET", "/api/v1/beneficiaries/{person}"), ("GET", "/api/v1/beneficiaries/{person}/parcours"),
        ("GET", "/api/v1/training/records/{record}/certificate"),
        ("GET", "/api/v1/relais/{a}/coaching-sessions"),
        ("GET", "/api/v1/handovers/{handover}"), ("GET", "/api/v1/handovers/{handover}/receipt"),
    ]:
        response = client.open(_fill(template, ids), method=method, headers=w.headers[who])
        assert response.status_code == 404, (method, template, response.status_code)


def test_national_and_coaches_never_reach_personal_data(client, w):
    ids = _ids(w)
    for who in ("national", "coach_b"):
        for template in ("/api/v1/beneficiaries/{person}", "/api/v1/distributions/{distribution}",
                         "/api/v1/beneficiaries/{person}/export"):
            response = client.get(_fill(template, ids), headers=w.headers[who])
            assert response.status_code in (403, 404), (who, template, response.status_code)


# --- lists -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_b", "worker_b"])
def test_relais_list_shows_only_b(client, w, who):
    response = client.get("/api/v1/relais?q=Relais", headers=w.headers[who])
    assert [r["id"] for r in response.json] == [w.b]
    assert response.headers["X-Total-Count"] == "1"


def test_coach_list_shows_its_portfolio_only(client, w):
    response = client.get("/api/v1/relais", headers=w.headers["coach_b"])
    assert [r["id"] for r in response.json] == [w.b]


def test_team_list_shows_only_b(client, w):
    response = client.get(f"/api/v1/relais/{w.b}/users?per_page=200", headers=w.headers["admin_b"])
    assert {u["id"] for u in response.json} == {w.admin_b, w.worker_b}
    assert response.headers["X-Total-Count"] == "2"


def test_me_never_shows_another_relais(client, w):
    me = client.get("/api/v1/me", headers=w.headers["worker_b"]).json
    assert me["relais"]["id"] == w.b


def _rows(body) -> list:
    return body["items"] if isinstance(body, dict) and "items" in body else body


@pytest.mark.parametrize(("url", "owner"), [
    ("/api/v1/orders", "admin_a"), ("/api/v1/distributions", "admin_a"),
    ("/api/v1/beneficiaries", "worker_a"), ("/api/v1/accompaniments", "worker_a"),
    ("/api/v1/training/records", "worker_a"), ("/api/v1/inventory/movements", "admin_a"),
    ("/api/v1/events", "worker_a"),
])
def test_lists_of_b_never_show_a_rows(client, w, url, owner):
    # A's own list holds its rows, so an empty table cannot pass the test.
    own = client.get(url, headers=w.headers[owner])
    assert own.status_code == 200 and _rows(own.json), (url, own.get_data(as_text=True))
    for who in ("admin_b", "worker_b"):
        response = client.get(url, headers=w.headers[who])
        assert response.status_code == 200, (url, response.get_data(as_text=True))
        text = response.get_data(as_text=True)
        for leak in ("Alphonsine", "Arcachon", "Relais Alpha", "Forum Alpha"):
            assert leak not in text, (url, leak)
        own_ids = {row.get("id") for row in _rows(own.json) if isinstance(row, dict)} - {None}
        assert not own_ids & {row.get("id") for row in _rows(response.json) if isinstance(row, dict)}


def test_imports_list_of_b_never_shows_a_upload(client, w):
    own = client.get("/api/v1/imports", headers=w.headers["admin_a"])
    assert [run["id"] for run in own.json] == [w.upload]
    assert client.get("/api/v1/imports", headers=w.headers["admin_b"]).json == []
    # The national team's imports are its own: a relais' file is not in its list.
    assert client.get("/api/v1/imports", headers=w.headers["national"]).json == []
    for who in ("worker_b", "coach_b"):
        assert client.get("/api/v1/imports", headers=w.headers[who]).status_code == 403
