"""Privacy of the registry: tenant isolation, no name for national and coach users anywhere,
audit entries with ids only, erasure, retention, the search plan and bounded queries."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, text, update

from relais_platform import mail
from relais_platform.accounts.models import Role, User
from relais_platform.audit.models import AuditEntry
from relais_platform.beneficiaries import accompaniment
from relais_platform.beneficiaries.models import Beneficiary
from relais_platform.extensions import db
from relais_platform.jobs import run_job
from relais_platform.orm import utcnow
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais
from tests.factories import (
    bearer,
    make_accompaniment,
    make_beneficiary,
    make_relais,
    make_user,
    sign_in_cookie,
)

NAMES = ("Zénobie", "Quastreaux", "Ildefonse", "Brabançon")


def login_as(app: Flask, user: User) -> FlaskClient:
    """A client with a signed-in browser session (passes 'strong' session protection)."""
    client = app.test_client()
    sign_in_cookie(app, client, user.get_id())
    return client


@pytest.fixture
def world(app) -> dict[str, Any]:
    """Relais A (with people, sessions, a parcours) and B; staff of both, national, coach."""
    with app.app_context():
        coach = make_user(Role.COACH)
        national = make_user(Role.NATIONAL)
        a, b = make_relais(name="Relais A"), make_relais(name="Relais B")
        a.coach_id = b.coach_id = coach.id
        db.session.commit()
        users = {
            "a_admin": make_user(Role.RELAIS_ADMIN, a),
            "a_worker": make_user(Role.RELAIS_WORKER, a),
            "b_admin": make_user(Role.RELAIS_ADMIN, b),
            "b_worker": make_user(Role.RELAIS_WORKER, b),
            "coach": coach,
            "national": national,
        }
        tokens = {key: bearer(user) for key, user in users.items()}
        user_ids = {key: user.id for key, user in users.items()}
        a_id, b_id = a.id, b.id
        zenobie = make_beneficiary(
            a_id,
            first_name=NAMES[0],
            last_name=NAMES[1],
            referrer="SIAO",
            phone="07 99 88 77 66",
            note="Rendez-vous CAF le 3.",
        )
        ildefonse = make_beneficiary(a_id, first_name=NAMES[2], last_name=NAMES[3], phone=None, no_phone=True)
        with tenant_session(db.session, TenantScope(relais_id=a_id)):
            parcours = accompaniment.create_parcours("Cycle d'initiation", "initiation", 9)
            db.session.commit()
            parcours_id = parcours.id
        make_accompaniment(a_id, [zenobie, ildefonse], anonymous_count=2)
        make_accompaniment(a_id, [zenobie], kind="initiation", parcours_id=parcours_id)
        b_person = make_beneficiary(b_id, first_name="Bertille", last_name="Ouvrard")
        return {
            "a": a_id,
            "b": b_id,
            "users": user_ids,
            "tokens": tokens,
            "zenobie": zenobie,
            "ildefonse": ildefonse,
            "b_person": b_person,
        }


def _beneficiary_routes(person: int, other: int) -> list[tuple[str, str, Any]]:
    base = f"/api/v1/beneficiaries/{person}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"situation": "student"}),
        ("DELETE", base, None),
        ("GET", f"{base}/export", None),
        ("GET", f"{base}/export?format=pdf", None),
        ("GET", f"{base}/diagnostics", None),
        ("POST", f"{base}/diagnostics", {"level": "beginner"}),
        ("GET", f"{base}/parcours", None),
        ("POST", "/api/v1/beneficiaries/merge", {"keep_id": other, "merge_id": person}),
        ("POST", "/api/v1/beneficiaries/merge", {"keep_id": person, "merge_id": other}),
    ]


def test_another_relais_gets_404_on_every_route_for_a_foreign_id(client, world):
    for method, url, body in _beneficiary_routes(world["zenobie"], world["b_person"]):
        response = client.open(url, method=method, json=body, headers=world["tokens"]["b_admin"])
        assert response.status_code == 404, (method, url, response.status_code)
    # Nothing changed for relais A.
    response = client.get(f"/api/v1/beneficiaries/{world['zenobie']}", headers=world["tokens"]["a_worker"])
    assert response.status_code == 200 and response.json["situation"] is None


def test_lists_and_search_never_show_another_relais_people(client, world):
    for query in ({}, {"q": NAMES[0]}, {"q": NAMES[1]}, {"q": "zenobie quastreaux"}):
        response = client.get(
            "/api/v1/beneficiaries", query_string=query, headers=world["tokens"]["b_worker"]
        )
        assert response.status_code == 200
        assert all(name not in response.get_data(as_text=True) for name in NAMES)
    assert [
        p["id"] for p in client.get("/api/v1/beneficiaries", headers=world["tokens"]["b_worker"]).json
    ] == [world["b_person"]]
    sessions = client.get("/api/v1/accompaniments", headers=world["tokens"]["b_worker"])
    assert sessions.json == []
    foreign = client.post(
        "/api/v1/accompaniments",
        headers=world["tokens"]["b_worker"],
        json={
            "kind": "permanence",
            "date": "2026-03-02",
            "duration_minutes": 60,
            "beneficiary_ids": [world["zenobie"]],
        },
    )
    assert foreign.status_code == 422 and "beneficiary_ids" in foreign.json["errors"]


@pytest.mark.parametrize("who", ["national", "coach"])
def test_national_and_coach_are_refused_every_beneficiary_and_accompaniment_route(client, world, who):
    routes = [
        *_beneficiary_routes(world["zenobie"], world["ildefonse"]),
        ("GET", "/api/v1/beneficiaries", None),
        ("GET", "/api/v1/beneficiaries?q=zenobie", None),
        (
            "POST",
            "/api/v1/beneficiaries",
            {"first_name": "X", "last_name": "Y", "no_phone": True, "consent": True},
        ),
        ("GET", "/api/v1/accompaniments", None),
        (
            "POST",
            "/api/v1/accompaniments",
            {"kind": "permanence", "date": "2026-03-02", "duration_minutes": 60, "anonymous_count": 1},
        ),
        ("GET", "/api/v1/accompaniments/hours?start=2026-01-01&end=2027-01-01", None),
        ("GET", "/api/v1/parcours", None),
    ]
    for method, url, body in routes:
        response = client.open(url, method=method, json=body, headers=world["tokens"][who])
        assert response.status_code == 403, (method, url, response.status_code)


def _fill(rule, world: dict[str, Any]) -> dict[str, Any] | None:
    """Values for a rule's arguments: real ids where we know them, else a plausible one."""
    values: dict[str, Any] = {}
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__
        if arg == "beneficiary_id":
            values[arg] = world["zenobie"]
        elif arg == "relais_id":
            values[arg] = world["a"]
        elif arg == "fmt":
            values[arg] = "json"
        elif converter == "IntegerConverter":
            values[arg] = 1
        else:
            return None  # a token, a file name...: nothing a name could be reached through
    return values


@pytest.mark.parametrize("who", ["national", "coach"])
def test_walk_every_route_as_national_and_coach_and_find_no_name(app, world, who):
    with app.app_context():
        user = db.session.get(User, world["users"][who])
        browser = login_as(app, user)
        urls = []
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            values = _fill(rule, world)
            if values is None:
                continue
            urls.append(
                app.url_path_for(rule, values)
                if hasattr(app, "url_path_for")
                else rule.build(values, append_unknown=False)[1]
            )
    bodies = []
    for url in urls:
        for client, headers in ((browser, {}), (app.test_client(), world["tokens"][who])):
            try:
                response = client.get(url, headers=headers)
            except Exception:  # a page failing is not a leak; it is another test's business
                continue
            bodies.append((url, response.status_code, response.get_data(as_text=True)))
    assert any(url.startswith("/api/v1/beneficiaries/") for url, _status, _body in bodies)
    for url, status, body in bodies:
        for name in NAMES:
            assert name.lower() not in body.lower(), (url, status, name)
    with app.app_context():
        for message in mail.read_outbox():
            assert all(name.lower() not in json.dumps(message, ensure_ascii=False).lower() for name in NAMES)


def test_audit_entries_for_view_search_export_change_erasure_hold_ids_only(app, client, world):
    admin, person = world["tokens"]["a_admin"], world["zenobie"]
    client.get(f"/api/v1/beneficiaries/{person}", headers=admin)
    client.get("/api/v1/beneficiaries", query_string={"q": NAMES[0]}, headers=admin)
    client.get(f"/api/v1/beneficiaries/{person}/export", headers=admin)
    client.patch(f"/api/v1/beneficiaries/{person}", json={"last_name": "Quastro"}, headers=admin)
    assert client.delete(f"/api/v1/beneficiaries/{person}", headers=admin).status_code == 204
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=world["a"])):
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.relais_id == world["a"])).all()
        actions = {e.action for e in entries}
        assert {
            "beneficiary_created",
            "beneficiary_viewed",
            "beneficiary_searched",
            "beneficiary_exported",
            "beneficiary_updated",
            "beneficiary_anonymised",
        } <= actions
        assert all(
            e.actor_id == world["users"]["a_admin"]
            for e in entries
            if e.action in ("beneficiary_viewed", "beneficiary_exported", "beneficiary_anonymised")
        )
        dump = json.dumps(
            [[e.action, e.target_type, e.target_id, e.details] for e in entries], ensure_ascii=False
        )
        for name in (*NAMES, "Quastro", "zenobie"):
            assert name.lower() not in dump.lower()


def _hours(app, relais_id: int):
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=relais_id)):
        return accompaniment.accompaniment_hours(relais_id, date(2026, 1, 1), date(2027, 1, 1))


def test_erasure_keeps_counts_and_removes_the_name_everywhere(app, client, world, owner_engine):
    before = _hours(app, world["a"])
    admin, person = world["tokens"]["a_admin"], world["zenobie"]
    assert client.delete(f"/api/v1/beneficiaries/{person}", headers=admin).status_code == 204
    assert _hours(app, world["a"]) == before
    for url in (f"/api/v1/beneficiaries/{person}", f"/api/v1/beneficiaries/{person}/export"):
        assert client.get(url, headers=admin).status_code == 404
    assert client.delete(f"/api/v1/beneficiaries/{person}", headers=admin).status_code == 404
    sessions = client.get("/api/v1/accompaniments", headers=admin).json
    assert sum(person in s["beneficiary_ids"] for s in sessions) == 2  # participations kept
    # No trace of the name, the phone, the referrer or the note in any table.
    with owner_engine.connect() as conn:
        tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
        for table in tables:
            rows = conn.scalars(text(f'SELECT t::text FROM "{table}" t')).all()
            for needle in (NAMES[0], NAMES[1], "07 99 88 77 66", "Rendez-vous CAF"):
                assert not any(needle.lower() in row.lower() for row in rows), (table, needle)
        kept = conn.execute(
            text("SELECT birth_year, situation, relais_id FROM beneficiaries WHERE id = :i"), {"i": person}
        ).one()
        assert kept.birth_year == 1980 and kept.relais_id == world["a"]
    # The other person is untouched.
    assert (
        client.get(f"/api/v1/beneficiaries/{world['ildefonse']}", headers=admin).json["first_name"]
        == NAMES[2]
    )


def test_retention_job_anonymises_people_not_seen_for_24_months_and_purges_old_audit(
    app, world, owner_engine
):
    now = utcnow()
    with owner_engine.begin() as conn:
        conn.execute(
            text("UPDATE beneficiaries SET last_seen_at = :t WHERE id = :i"),
            {"t": now - timedelta(days=24 * 31), "i": world["zenobie"]},
        )
        conn.execute(
            text("UPDATE beneficiaries SET last_seen_at = :t WHERE id = :i"),
            {"t": now - timedelta(days=22 * 31), "i": world["ildefonse"]},
        )
    with owner_engine.begin() as conn:
        # The database stamps every entry with its own time: only a superuser skipping the
        # triggers can write a backdated one.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            text(
                "INSERT INTO audit_log (occurred_at, action, details) VALUES"
                " (:old, 'old_entry', '{}'), (:recent, 'recent_entry', '{}')"
            ),
            {"old": now - timedelta(days=13 * 31), "recent": now - timedelta(days=11 * 31)},
        )
    with app.app_context():
        assert (
            run_job("relais_platform.beneficiaries.jobs.anonymise_inactive_beneficiaries", None, (), {}) == 1
        )
        assert run_job("relais_platform.beneficiaries.jobs.purge_audit_log", None, (), {}) == 1
    with owner_engine.connect() as conn:
        rows = dict(
            conn.execute(text("SELECT id, anonymised_at IS NOT NULL FROM beneficiaries")).tuples().all()
        )
        assert rows == {world["zenobie"]: True, world["ildefonse"]: False, world["b_person"]: False}
        actions = set(conn.scalars(text("SELECT action FROM audit_log")))
        assert "recent_entry" in actions and "old_entry" not in actions
        assert (
            conn.scalar(
                text(
                    "SELECT count(*) FROM audit_log WHERE action = 'beneficiary_anonymised'"
                    " AND details->>'reason' = 'retention'"
                )
            )
            == 1
        )


def test_retention_reads_its_setting(app, world, owner_engine):
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE beneficiaries SET last_seen_at = now() - interval '13 months'"))
    app.config["BENEFICIARY_RETENTION_MONTHS"] = 12
    try:
        with app.app_context():
            assert (
                run_job("relais_platform.beneficiaries.jobs.anonymise_inactive_beneficiaries", None, (), {})
                == 3
            )
    finally:
        del app.config["BENEFICIARY_RETENTION_MONTHS"]


def test_search_plan_uses_the_trigram_index(app, world, owner_engine):
    # Enough people in the relais for the relais_id index alone to be the worse plan.
    with owner_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO beneficiaries"
                " (relais_id, first_name, last_name, no_phone, consent_at, last_seen_at)"
                " SELECT :r, 'P' || substr(md5(i::text), 1, 8), substr(md5((i * 7)::text), 1, 10),"
                " true, now(), now()"
                " FROM generate_series(1, 3000) i"
            ),
            {"r": world["a"]},
        )
    # Fresh statistics and indexes: earlier tests may have filled and emptied the table, leaving
    # the trigram index bloated and the planner's estimates stale.
    with owner_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE beneficiaries"))
    with owner_engine.begin() as conn:
        # The search functions run as the owner (SECURITY DEFINER): explain their query as it.
        conn.execute(text("SELECT set_config('app.relais_id', :r, true)"), {"r": str(world["a"])})
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        for function, argument, value in (
            ("beneficiary_search_ids", "q", "eloddie"),
            ("beneficiary_similar_ids", "full_name", "zenobie q"),
        ):
            body = conn.scalar(text("SELECT prosrc FROM pg_proc WHERE proname = :f"), {"f": function})
            query = body.replace(f"lower({argument})", f"lower('{value}')").replace("%", "%%")
            plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {query}").scalars())
            assert "ix_beneficiaries_name_trgm" in plan, plan
            assert conn.scalar(text("SELECT prosecdef FROM pg_proc WHERE proname = :f"), {"f": function})


def test_search_functions_only_answer_for_the_bound_relais(app, world):
    with app.app_context():
        with db.engine.begin() as conn:  # the app role, unbound
            assert conn.scalar(text("SELECT count(*) FROM beneficiary_search_ids('zenobie')")) == 0
        for relais, expected in ((world["a"], 1), (world["b"], 0)):
            with tenant_session(db.session, TenantScope(relais_id=relais)):
                found = db.session.scalar(text("SELECT count(*) FROM beneficiary_search_ids('zenobie')"))
                similar = db.session.scalar(
                    text("SELECT count(*) FROM beneficiary_similar_ids('zenobie quastreaux')")
                )
                assert (found, similar) == (expected, expected)


def _count_queries(app, client, headers, query) -> int:
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/api/v1/beneficiaries", query_string=query, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements)


def test_list_and_search_use_a_bounded_number_of_queries(app, client, world):
    headers = world["tokens"]["a_worker"]
    with app.app_context():
        for n in range(3):
            make_beneficiary(world["a"], first_name="Zénobie", last_name=f"Autre{n}")
    few = [_count_queries(app, client, headers, q) for q in ({}, {"q": "zenobie"})]
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=world["a"])):
        db.session.add_all(
            Beneficiary(first_name="Zénobie", last_name=f"Nombreuse{n}", no_phone=True) for n in range(45)
        )
        db.session.commit()
    many = [_count_queries(app, client, headers, q) for q in ({}, {"q": "zenobie"})]
    assert few == many
    assert len(client.get("/api/v1/beneficiaries", headers=headers).json) == 50


def test_anonymised_rows_leave_search_and_lists(app, client, world):
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=world["a"])):
        db.session.execute(
            update(Beneficiary)
            .where(Beneficiary.id == world["ildefonse"])
            .values(anonymised_at=utcnow(), first_name="", last_name="")
        )
        db.session.commit()
        assert db.session.get(Relais, world["a"]) is not None
    ids = [p["id"] for p in client.get("/api/v1/beneficiaries", headers=world["tokens"]["a_worker"]).json]
    assert ids == [world["zenobie"]]


def _names_in(data: bytes) -> list[str]:
    """The world's names found in a response body, a zip (xlsx) included."""
    chunks = [data]
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            chunks += [archive.read(name) for name in archive.namelist()]
    text_ = b"\n".join(chunks).decode("utf-8", "replace").lower()
    return [name for name in NAMES if name.lower() in text_]


@pytest.mark.parametrize("who", ["national", "coach"])
def test_reports_periods_and_exports_of_national_and_coach_show_no_name(app, world, who):
    """The routes the walk cannot fill (a period, a year, an export file), with a named
    beneficiary's distribution in relais A."""
    from rq import SimpleWorker

    from relais_platform import jobs
    from relais_platform.stock.reports import services as reports
    from tests.factories import deliver_to_relais, make_distribution, make_product, stock_up

    with app.app_context():
        phone = make_product(sku="PHONE-P", category="smartphone", dimension="equipement", serial_kind="imei",
                             max_resale_price_cents=7000, validity_days=None)
        serial = "356938035643809"
        stock_up(phone, serials=[serial])
        deliver_to_relais(world["a"], phone, serials=[serial])
        make_distribution(world["a"], "PHONE-P", price_cents=2000, serial=serial,
                          beneficiary_id=world["zenobie"])
        period = reports.format_period(reports.last_ended_period())
        browser = login_as(app, db.session.get(User, world["users"][who]))
    headers = world["tokens"][who]

    def api() -> FlaskClient:  # a fresh client each time: no cookie carried between calls
        return app.test_client()

    year = utcnow().year
    in_a = f"relais_id={world['a']}"
    urls = [f"/api/v1/stock-reports/status?period={period}", f"/distributions/national?period={period}",
            f"/api/v1/stock-reports/{period}", f"/distributions/reports/{period}", "/api/v1/network-stock",
            f"/api/v1/reports/annual?year={year}", f"/api/v1/reports/annual?year={year}&{in_a}",
            f"/rapports/bilan?year={year}", f"/rapports/bilan?year={year}&{in_a}"]
    for url in urls:
        for response in (browser.get(url), api().get(url, headers=headers)):
            assert not _names_in(response.data), (url, response.status_code)
    for fmt in ("csv", "xlsx"):
        started = api().get("/api/v1/reports/annual/export", query_string={"year": year, "format": fmt},
                          headers=headers)
        assert started.status_code == 202, started.get_json()
        with app.app_context():
            SimpleWorker([jobs.queue("reports")], connection=jobs.redis_connection()).work(burst=True)
        status = api().get(started.headers["Location"], headers=headers).get_json()
        assert status["download_url"], status
        file = api().get(status["download_url"], headers=headers)
        assert file.status_code == 200 and not _names_in(file.data), fmt
    with app.app_context():
        for message in mail.read_outbox():
            assert not _names_in(json.dumps(message, ensure_ascii=False).encode())


def test_retention_jobs_are_scheduled_daily_in_the_worker():
    from relais_platform.domains import periodic_jobs

    scheduled = {job.func: job.cron for job in periodic_jobs()}
    for path in ("relais_platform.beneficiaries.jobs.anonymise_inactive_beneficiaries",
                 "relais_platform.beneficiaries.jobs.purge_audit_log"):
        minute, hour, *every = scheduled[path].split()
        assert minute.isdigit() and hour.isdigit() and every == ["*", "*", "*"], scheduled[path]
