"""No input gets a 5xx: each class of unstorable input is refused at its root, platform-wide.

Ids beyond bigint in a path → 404 (every `<int:…>` route); integers beyond their column, text
longer than its column or not encodable, dates outside their window → 422 naming the field;
JSON nested absurdly deep → 400; a database connection lost mid-request → 503 + Retry-After.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import BigInteger, Date, DateTime, Integer, String, select, text
from sqlalchemy.orm.base import manager_of_class

from relais_platform import bounds
from relais_platform.extensions import db
from relais_platform.models import *  # noqa: F403 (every mapper registered)
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais
from tests.isolation_world import SKU, browser, build_world

BEYOND = [2**63, 10**26]


def _columns(kind):
    for mapper in db.Model.registry.mappers:
        for attr in mapper.column_attrs:
            column = attr.columns[0]
            if len(attr.columns) == 1 and isinstance(column.type, kind) and not column.primary_key \
                    and not column.foreign_keys and column.table is mapper.local_table \
                    and getattr(column.type, "length", 1):
                yield pytest.param(mapper.class_, attr.key, column,
                                   id=f"{mapper.class_.__name__}.{attr.key}")


@pytest.fixture
def world(app):
    with app.app_context():
        return build_world()


def _bare(cls):
    """A transient row with nothing set but what the check reads (no constructor rules)."""
    return manager_of_class(cls).new_instance()


@pytest.mark.parametrize(("cls", "key", "column"), list(_columns(String)))
def test_every_string_column_refuses_text_longer_than_itself(app_ctx, cls, key, column):
    row = _bare(cls)
    db.inspect(row)
    row.__dict__[key] = "x" * (column.type.length + 1)
    assert key in bounds.check_row(row)
    row.__dict__[key] = "x" * column.type.length
    assert key not in bounds.check_row(row)


@pytest.mark.parametrize(("cls", "key", "column"), list(_columns(Integer)))
def test_every_integer_column_refuses_numbers_beyond_its_range(app_ctx, cls, key, column):
    row = _bare(cls)
    db.inspect(row)
    top = bounds.int_max(column.type)
    for value in (top + 1, -top - 2):
        row.__dict__[key] = value
        assert key in bounds.check_row(row), value
    row.__dict__[key] = top
    assert key not in bounds.check_row(row)
    assert isinstance(column.type, BigInteger) == (top == bounds.INT64_MAX)


@pytest.mark.parametrize(("cls", "key", "column"), list(_columns(Date)) + list(_columns(DateTime)))
def test_every_date_column_refuses_dates_outside_its_window(app_ctx, cls, key, column):
    row = _bare(cls)
    db.inspect(row)
    start, end = column.info.get("window", bounds.DEFAULT_WINDOW)
    for year in (1, start - 1, end + 1, 9999):
        row.__dict__[key] = date(year, 12, 31)
        assert key in bounds.check_row(row), year
    row.__dict__[key] = date(end, 6, 1)
    assert key not in bounds.check_row(row)


def test_unencodable_text_is_refused_in_any_column(app_ctx):
    row = _bare(Relais)
    db.inspect(row)
    row.__dict__["name"] = "Relais \ud800"
    assert "name" in bounds.check_row(row)


def test_every_id_route_answers_404_for_an_id_beyond_bigint(app, world):
    """Every route with an `<int:…>` segment, web and API, as national and as a relais admin."""
    national, admin = browser(app, world.session_ids["national"]), browser(app, world.session_ids["admin_a"])
    failures = []
    rules = [rule for rule in app.url_map.iter_rules()
             if any(isinstance(c, bounds.IdConverter) for c in rule._converters.values())]
    assert len(rules) > 50
    for rule in rules:
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        for value in BEYOND:
            path = rule.rule
            for name, converter in rule._converters.items():
                filler = str(value) if isinstance(converter, bounds.IdConverter) else "x"
                path = re.sub(rf"<[^>]*\b{name}>", filler, path)
            for client in (national, admin):
                status = client.open(path, method=method).status_code
                if status != 404:
                    failures.append(f"{method} {path}: {status}")
    assert not failures, "\n".join(failures)


def test_every_page_takes_any_page_number_and_refuses_ids_beyond_bigint(app, world):
    """Every GET route without path arguments, web and API, as national and as a relais admin:
    the largest page number is served (an empty page), one beyond is refused, never a 5xx."""
    national, admin = browser(app, world.session_ids["national"]), browser(app, world.session_ids["admin_a"])
    failures = []
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and not rule.arguments]
    for rule in rules:
        for client in (national, admin):
            served = client.get(rule.rule, query_string={"page": bounds.INT32_MAX})
            refused = client.get(rule.rule, query_string={"page": 2**31, "relais_id": 2**64})
            if served.status_code >= 500 or refused.status_code not in (400, 422):
                failures.append(f"{rule.rule}: {served.status_code} {refused.status_code}")
    assert not failures, "\n".join(failures)


def test_path_ids_are_documented_as_bigint(client):
    spec = client.get("/api/v1/openapi.json").json
    parameter = spec["paths"]["/api/v1/orders/{order_id}"]["parameters"][0]
    assert parameter["schema"]["maximum"] == bounds.INT64_MAX


def test_integers_beyond_range_name_the_field(app, world):
    admin, national = world.headers["admin_a"], world.headers["national"]
    client = app.test_client()
    response = client.post("/api/v1/accompaniments", headers=admin, json={
        "kind": "atelier_thematique", "date": "2026-01-15", "duration_minutes": 60,
        "beneficiary_ids": [world.person, 2**64]})
    assert response.status_code == 422 and set(response.json["errors"]) == {"beneficiary_ids.1"}
    response = client.get("/api/v1/stock?page=9999999999999999999", headers=national)
    assert response.status_code == 422 and "page" in response.json["errors"]
    response = client.get("/api/v1/stock?page=9000000000000000000", headers=national)
    assert response.status_code == 422 and "page" in response.json["errors"]
    # An int4 column (capacity) refuses what a bigint would take.
    client.post("/api/v1/training/modules", headers=national,
                json={"code": "CAP1", "title": "Capacité", "duration_hours": 2, "format": "in_person"})
    session = {"module_code": "CAP1", "starts_at": "2031-03-02T09:00:00+01:00",
               "ends_at": "2031-03-02T12:00:00+01:00", "location": "Lyon"}
    response = client.post("/api/v1/training/sessions", headers=national, json={**session, "capacity": 2**31})
    assert response.status_code == 422 and "capacity" in response.json["errors"]
    response = client.post("/api/v1/training/sessions", headers=national, json={**session, "capacity": 12})
    assert response.status_code == 201


def test_text_longer_than_its_column_or_unencodable_is_named(app, world):
    national = world.headers["national"]
    client = app.test_client()
    module = {"code": "LONG1", "title": "x" * 201, "duration_hours": 2, "format": "in_person"}
    response = client.post("/api/v1/training/modules", headers=national, json=module)
    assert response.status_code == 422 and "title" in response.json["errors"]
    raw = json.dumps({**module, "title": "Atelier \ud83d"})  # a lone surrogate
    response = client.post("/api/v1/training/modules", headers=national, data=raw,
                           content_type="application/json")
    assert response.status_code == 422 and set(response.json["errors"]) == {"title"}
    raw = json.dumps({"email": "a@b.fr", "password": "x", "\udc00": 1})
    response = client.post("/api/v1/auth/tokens", data=raw, content_type="application/json")
    assert response.status_code == 422 and set(response.json["errors"]) == {"\udc00"}


@pytest.mark.parametrize("depth", [33, 100_000])
def test_json_nested_absurdly_deep_is_a_400_even_signed_out(app, world, depth):
    client = app.test_client()
    body = "[" * depth + "]" * depth
    for headers in ({}, world.headers["national"]):
        response = client.post("/api/v1/auth/tokens", data=body, content_type="application/json",
                               headers=headers)
        assert response.status_code == 400
    # Brackets inside strings are text, not nesting.
    response = client.post("/api/v1/auth/tokens", json={"email": "[" * 5000, "password": "{"})
    assert response.status_code in (401, 422)


def test_public_application_form_refuses_text_longer_than_its_column(app, client):
    from tests.test_web_tenants import _application

    response = client.post("/relais/candidature", data=_application(contact_name="N" * 201))
    assert response.status_code == 422
    assert "200 caractères au plus." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Relais)) == 0


def test_a_training_session_ending_in_year_9999_is_refused_and_lists_still_answer(app, world):
    national = world.headers["national"]
    client = app.test_client()
    for field in ("starts_at", "ends_at"):
        response = client.patch(f"/api/v1/training/sessions/{world.training_session}", headers=national,
                                json={field: "9999-12-31T23:59:59-14:00"})
        assert response.status_code == 422 and field in response.json["errors"]
    assert client.get("/api/v1/training/sessions", headers=national).status_code == 200


def test_hand_overs_sessions_and_diagnostics_dated_year_one_are_refused(app, world):
    admin = world.headers["admin_a"]
    client = app.test_client()

    def level() -> int:
        with app.app_context(), tenant_session(db.session, TenantScope(relais_id=world.a)):
            return db.session.execute(text(
                "SELECT on_hand FROM relais_stock WHERE relais_id = :r"), {"r": world.a}).scalar_one()

    before = level()
    response = client.post("/api/v1/distributions", headers=admin,
                           json={"sku": SKU, "programme": "solidaire", "date": "0001-01-01"})
    assert response.status_code == 422 and "date" in response.json["errors"]
    assert level() == before
    response = client.post("/api/v1/accompaniments", headers=admin, json={
        "kind": "atelier_thematique", "date": "0001-01-01", "duration_minutes": 60})
    assert response.status_code == 422 and "date" in response.json["errors"]
    response = client.post(f"/api/v1/beneficiaries/{world.person}/diagnostics", headers=admin,
                           json={"level": "debutant", "assessed_on": "0001-01-01"})
    assert response.status_code == 422 and "assessed_on" in response.json["errors"]


def test_a_database_connection_lost_mid_request_is_a_503_with_retry_after(app, world, monkeypatch):
    from relais_platform.tenants import api as tenants_api

    original = tenants_api.tenants.visible_relais_query
    dropped = []

    def drop_then_query(*args, **kwargs):
        dropped.append(True)
        db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return original(*args, **kwargs)

    monkeypatch.setattr(tenants_api.tenants, "visible_relais_query", drop_then_query)
    for client, headers in ((app.test_client(), world.headers["national"]),
                            (browser(app, world.session_ids["national"]), {})):
        response = client.get("/api/v1/relais", headers=headers)
        assert dropped and response.status_code == 503
        assert response.headers["Retry-After"].isdigit() and response.json["code"] == 503
    monkeypatch.undo()
    # The pool recovers: the next request is served.
    assert app.test_client().get("/api/v1/relais", headers=world.headers["national"]).status_code == 200


@pytest.mark.parametrize(("method", "path", "body", "expected"), [
    ("GET", "/api/v1/stock?page=1234567890123456789", None, 422),
    ("PATCH", "/api/v1/relais/{a}/next-steps/12345678901234567890123456", {"done": True}, 404),
    ("POST", "/api/v1/stock/returns", {"sku": SKU, "serials": [""], "reason": "retour"}, 422),
    ("POST", "/api/v1/training/sessions/{training_session}/cancel", {}, None),
    ("GET", "/api/v1/accompaniments?page=9999999999999999999", None, 422),
    ("GET", "/api/v1/relais/{a}/users?page=9999999999999999999", None, 422),
    ("GET", "/api/v1/reports/exports/92233720368547758070", None, 404),
    ("POST", "/api/v1/orders/92233720368547758070/invoice", {}, 404),
    ("POST", "/api/v1/accompaniments", {"kind": "atelier_thematique", "date": "2026-01-15",
                                        "duration_minutes": 60, "beneficiary_ids": [2**64, 2**63]}, 422),
])
@pytest.mark.parametrize("role", ["national", "admin_a", "coach_b"])
def test_what_the_fuzzer_found_is_never_a_server_error(app, world, role, method, path, body, expected):
    response = app.test_client().open(path.format(**vars(world)), method=method, json=body,
                                      headers=world.headers[role])
    assert response.status_code < 500
    if expected and response.status_code not in (401, 403):
        assert response.status_code == expected, response.json


def test_web_forms_redisplay_out_of_range_dates_and_numbers(app, world):
    admin = browser(app, world.session_ids["admin_a"])
    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)):
        db.session.get(Relais, world.a).terms_accepted_at = db.func.now()
        db.session.commit()
    response = admin.post("/beneficiaires/accompagnement/nouvelle-seance", data={
        "kind": "permanence", "theme": "", "date": "0001-01-01", "duration_minutes": "60",
        "parcours_id": "", "beneficiary_ids": [str(world.person)], "anonymous_count": "0"})
    assert response.status_code == 422
    assert "Date hors limites (années 2000 à 2100)." in response.get_data(as_text=True)
    # A hand-over dated year one moves no stock: refused before anything is written.
    response = admin.post("/distributions/new", data={"sku": SKU, "price": "0", "date": "0001-01-01"})
    assert response.status_code == 422
    assert "Date hors limites (années 2000 à 2100)." in response.get_data(as_text=True)
