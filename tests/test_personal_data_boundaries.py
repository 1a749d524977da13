"""Personal data never leaves the relais.

- free text that relais staff write about a person or a hand-over is stored only in the
  relais' personal tables (never in a table national or coaches read: scanned table by table);
- erasure empties it wherever it is stored;
- every response but the app's own assets is `Cache-Control: no-store`;
- every CSV export neutralises cells a spreadsheet would run as formulas.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text

from relais_platform.extensions import db
from relais_platform.models import *  # noqa: F403 (every mapper registered)
from relais_platform.spreadsheets import FORMULA_PREFIXES, csv_bytes
from relais_platform.tenancy import PersonalData
from tests.factories import make_distribution_world, make_user
from tests.isolation_world import browser

MARKER = "Mme Quastreaux pleurait"


@pytest.fixture
def world(app):
    with app.app_context():
        return make_distribution_world()


def _personal_tables() -> set[str]:
    return {mapper.local_table.name for mapper in db.Model.registry.mappers
            if issubclass(mapper.class_, PersonalData)}


def _tables_holding(owner_engine, needle: str) -> set[str]:
    with owner_engine.begin() as conn:
        tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
        return {table for table in tables
                if conn.scalar(text(f'SELECT EXISTS (SELECT 1 FROM "{table}" t WHERE t::text LIKE :n)'),
                               {"n": f"%{needle}%"})}


def _hand_over_with_notes(client, world) -> tuple[dict, dict]:
    """A phone handed over then returned under warranty, a recharge handed over then cancelled,
    each with staff free text about the person."""
    phone = client.post("/api/v1/distributions", headers=world.worker, json={
        "sku": "PHONE-D", "serial": world.phones[0], "price_cents": 3000,
        "beneficiary_id": world.person_a}).json
    response = client.post(f"/api/v1/distributions/{phone['id']}/warranty-return", headers=world.worker,
                           json={"outcome": "defective", "note": f"{MARKER} : écran cassé"})
    assert response.status_code == 200
    recharge = client.post("/api/v1/distributions", headers=world.worker, json={
        "sku": "REC-D", "price_cents": 0, "beneficiary_id": world.person_a}).json
    response = client.post(f"/api/v1/distributions/{recharge['id']}/cancel", headers=world.worker,
                           json={"reason": f"{MARKER} : erreur de saisie"})
    assert response.status_code == 200
    return phone, recharge


def test_staff_free_text_about_a_person_stays_in_the_relais_personal_tables(app, client, world,
                                                                              owner_engine):
    _hand_over_with_notes(client, world)
    # Kept with the hand-over, for its relais alone.
    assert "distributions" in _tables_holding(owner_engine, MARKER) <= _personal_tables()
    # National reads the device's history: coded outcomes only.
    unit = client.get(f"/api/v1/units/{world.phones[0]}", headers=world.national)
    assert unit.status_code == 200 and MARKER not in unit.get_data(as_text=True)
    assert "defective" in unit.get_data(as_text=True)
    with app.app_context():
        national = make_user("national").get_id()
    page = browser(app, national).get("/stock/units", query_string={"serial": world.phones[0]})
    assert page.status_code == 200 and MARKER not in page.get_data(as_text=True)


def test_erasure_clears_every_free_text_written_about_the_person(client, world, owner_engine):
    _hand_over_with_notes(client, world)
    assert _tables_holding(owner_engine, MARKER)
    response = client.delete(f"/api/v1/beneficiaries/{world.person_a}", headers=world.admin)
    assert response.status_code == 204
    assert _tables_holding(owner_engine, MARKER) == set()
    assert _tables_holding(owner_engine, "Quastreaux") == set()


def _personal_responses(app, client, world, owner_engine) -> list[tuple[str, object]]:
    phone, _ = _hand_over_with_notes(client, world)
    with owner_engine.begin() as conn:  # else its admin is sent to the terms page first
        conn.execute(text("UPDATE relais SET terms_accepted_at = now() WHERE id = :r"), {"r": world.a})
    with app.app_context():
        from relais_platform.accounts.models import User
        from relais_platform.tenancy import TenantScope, tenant_session

        with tenant_session(db.session, TenantScope(relais_id=world.a)):
            admin = db.session.scalar(db.select(User).where(User.role == "relais_admin",
                                                            User.relais_id == world.a)).get_id()
    signed_in = browser(app, admin)
    person, dist = world.person_a, phone["id"]
    api = [f"/api/v1/beneficiaries/{person}", f"/api/v1/beneficiaries/{person}/export",
           f"/api/v1/beneficiaries/{person}/diagnostics", "/api/v1/beneficiaries?q=Quastreaux",
           f"/api/v1/distributions/{dist}", f"/api/v1/distributions/{dist}/receipt",
           "/api/v1/distributions"]
    web = [f"/beneficiaires/{person}", f"/beneficiaires/{person}/export.json",
           f"/beneficiaires/{person}/export.pdf", f"/distributions/{dist}/receipt",
           f"/distributions/{dist}/receipt.pdf"]
    return [(path, client.get(path, headers=world.admin)) for path in api] + \
        [(path, signed_in.get(path)) for path in web]


def test_every_response_carrying_personal_data_is_no_store(app, client, world, owner_engine):
    responses = _personal_responses(app, client, world, owner_engine)
    failures = [f"{path}: {response.status_code} {response.headers.get('Cache-Control')}"
                for path, response in responses
                if response.status_code != 200 or response.headers.get("Cache-Control") != "no-store"]
    assert not failures, "\n".join(failures)
    # Only the app's own files may be cached.
    asset = client.get("/static/css/app.css")
    assert asset.status_code != 200 or asset.headers.get("Cache-Control") != "no-store"


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_the_csv_writer_neutralises_formulas(prefix):
    cell = f"{prefix}HYPERLINK(\"http://evil.example\")"
    rows = list(csv.reader(io.StringIO(csv_bytes([["ok", cell, 3]]).decode("utf-8-sig")), delimiter=";"))
    assert rows == [["ok", "'" + cell, "3"]]


def test_a_relais_name_from_the_public_form_is_no_formula_in_the_national_bilan_csv(app, client):
    from tests.test_web_tenants import _application

    name = "=HYPERLINK(\"http://evil.example\";\"Relais\")"
    assert client.post("/relais/candidature", data=_application(name=name)).status_code == 302
    with app.app_context():
        from relais_platform.tenancy import TenantScope, tenant_session
        from relais_platform.tenants.models import Relais, RelaisStatus

        with tenant_session(db.session, TenantScope(all_relais=True)):
            relais = db.session.scalar(db.select(Relais).where(Relais.name == name))
            relais.status = RelaisStatus.ACTIVE
            relais_id = relais.id
            db.session.commit()
        national = make_user("national")
        from tests.factories import bearer

        headers = bearer(national)
    from tests.test_reporting_exports import export

    _url, _status, file = export(app, client, headers, "csv", year=2026, relais_id=relais_id)
    assert file.headers["Cache-Control"] == "no-store"
    body = file.get_data(as_text=True).lstrip("\ufeff")
    cells = [cell for row in csv.reader(io.StringIO(body), delimiter=";") for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_PREFIXES)]
    assert any(name in cell for cell in cells)


def test_migration_0012_scrubs_the_free_text_earlier_releases_copied_into_the_ledgers(client, world,
                                                                                      owner_engine):
    import importlib.util

    from tests.conftest import ROOT

    phone, recharge = _hand_over_with_notes(client, world)
    # What earlier releases wrote: the note in the unit history, the reason in the stock ledger.
    with owner_engine.begin() as conn:
        unit_id, note = conn.execute(text("SELECT unit_id, warranty_note FROM distributions WHERE id = :d"),
                                     {"d": phone["id"]}).one()
        conn.execute(text("INSERT INTO serial_unit_events (unit_id, to_status, relais_id, note)"
                          " VALUES (:u, 'defective', :r, :n)"), {"u": unit_id, "r": world.a, "n": note})
        conn.execute(text("INSERT INTO relais_stock_movements (product_id, kind, quantity_delta,"
                          " reference_id, reason, relais_id)"
                          " VALUES (:p, 'distribution_cancelled', 1, :d, :n, :r)"),
                     {"p": world.recharge_id, "d": recharge["id"], "n": f"{MARKER} : legacy", "r": world.a})
    assert {"serial_unit_events", "relais_stock_movements"} <= _tables_holding(owner_engine, MARKER)
    spec = importlib.util.spec_from_file_location(
        "m0012", ROOT / "migrations" / "versions" / "0012_input_limits.py")
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with owner_engine.begin() as conn:
        conn.exec_driver_sql(migration.SCRUB)
    assert _tables_holding(owner_engine, MARKER) == {"distributions"}
    with owner_engine.begin() as conn:
        notes = conn.scalars(text("SELECT note FROM serial_unit_events WHERE unit_id = :u AND to_status ="
                                  " 'defective'"), {"u": unit_id}).all()
    assert notes == [f"distribution {phone['id']} warranty defective"] * 2
