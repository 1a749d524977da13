"""Exports of the annual bilan, end to end with a real RQ worker: 202, progress, the file."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from flask import Flask
from openpyxl import load_workbook
from rq import SimpleWorker
from sqlalchemy import select, text

from relais_platform import jobs
from relais_platform.accounts.models import Role, User
from relais_platform.domains import periodic_jobs
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from tests.reporting_helpers import NAMES, make_bilan_world

URL = "/api/v1/reports/annual/export"


@pytest.fixture
def world(app_ctx, owner_engine):
    return make_bilan_world(owner_engine)


def run_worker(app: Flask) -> None:
    """Drain the reports queue in a fresh app context, as the worker process would."""
    with app.app_context():
        SimpleWorker([jobs.queue("reports")], connection=jobs.redis_connection()).work(burst=True)


def export(app, client, headers, fmt, **params):
    response = client.post(URL, query_string={"format": fmt, **params}, headers=headers)
    assert response.status_code == 202, response.get_json()
    status_url = response.headers["Location"]
    assert response.get_json()["status"] == "queued" and response.get_json()["progress"] == 0
    assert client.get(status_url, headers=headers).get_json()["download_url"] is None
    run_worker(app)
    status = client.get(status_url, headers=headers).get_json()
    assert status["status"] == "finished" and status["progress"] == 100, status
    file = client.get(status["download_url"], headers=headers)
    assert file.status_code == 200
    return status_url, status, file


def test_csv_export_of_a_relais(app, client, world):
    _url, _status, file = export(app, client, world.admin, "csv", year=world.y)
    assert file.mimetype == "text/csv"
    assert f"bilan-{world.y}-relais.csv" in file.headers["Content-Disposition"]
    content = file.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content), delimiter=";"))
    by_label = {row[0]: row[1:] for row in rows if row}
    assert by_label["Personnes accompagnées"] == ["7", "3"]
    assert by_label["Heures d'accompagnement (durée × participants)"] == ["11.0", "3.0"]
    assert by_label["REC-D"] == ["2", "3"]
    assert by_label["Distribués dans le programme Connect Refugees"] == ["1", "0"]
    for name in NAMES:
        assert name not in content


def test_xlsx_export_of_the_network(app, client, world):
    _url, _status, file = export(app, client, world.national, "xlsx", year=world.y)
    sheet = load_workbook(io.BytesIO(file.data)).active
    values = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row[0]}
    assert values["Personnes accompagnées"] == (14, None) or values["Personnes accompagnées"][0] == 14
    assert values["Relais actifs"][0] == 3
    assert values["REC-D"][0] == 3
    flat = " ".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None)
    for name in NAMES:
        assert name not in flat


def test_pdf_export_of_a_coach_portfolio(app, client, world):
    _url, _status, file = export(app, client, world.coach, "pdf", year=world.y)
    assert file.mimetype == "application/pdf"
    assert file.data.startswith(b"%PDF-") and file.data.rstrip().endswith(b"%%EOF")


def test_pdf_document_has_figures_charts_and_tables_but_no_name(app, world):
    from relais_platform.accounts.models import User
    from relais_platform.reporting import exports
    from relais_platform.reporting.bilan import annual_bilan, resolve_scope
    from relais_platform.reporting.presentation import charts_of
    from relais_platform.tenancy import TenantScope, set_scope

    with app.test_request_context():
        set_scope(db.session, TenantScope(relais_id=world.a))
        actor = db.session.scalar(db.select(User).where(User.relais_id == world.a).limit(1))
        bilan = annual_bilan(resolve_scope(actor), world.y)
        html = app.jinja_env.get_template("reporting/bilan_pdf.html").render(
            bilan=bilan, rows=exports.indicator_rows(bilan), products=exports.product_rows(bilan),
            charts=charts_of(bilan), generated_at=utcnow())
        pdf = exports.render(bilan, "pdf")
    # Four charts (the fourth: new people per kind of referring structure), each with its table.
    assert html.count('role="img"') == 4 and html.count("<table") == 6
    assert "Personnes accompagnées" in html and "KIT-CR" in html
    for name in NAMES:
        assert name not in html
    assert pdf.startswith(b"%PDF-")


def test_only_the_requester_sees_the_export(app, client, world):
    url, status, _file = export(app, client, world.admin, "csv", year=world.y)
    for other in (world.worker, world.b_admin, world.national, world.coach):
        assert client.get(url, headers=other).status_code == 404
        assert client.get(status["download_url"], headers=other).status_code == 404


def test_relais_user_cannot_export_another_relais(client, world):
    response = client.get(URL, query_string={"format": "csv", "year": world.y, "relais_id": world.b},
                          headers=world.admin)
    assert response.status_code == 404
    response = client.get(URL, query_string={"format": "csv", "year": world.y, "relais_id": world.c},
                          headers=world.coach)
    assert response.status_code == 404
    assert jobs.queue("reports").count == 0


@pytest.mark.parametrize(("params", "fields"), [
    ({"format": "docx", "year": "2025"}, {"format"}),
    ({"format": "csv", "year": "1800"}, {"year"}),
    ({"format": "odt", "year": "x"}, {"format", "year"}),
    ({"year": "2025"}, {"format"}),
])
def test_bad_year_or_format_is_422_and_queues_nothing(client, world, params, fields):
    response = client.get(URL, query_string=params, headers=world.national)
    assert response.status_code == 422
    assert fields <= set(response.get_json()["errors"])
    assert jobs.queue("reports").count == 0


def test_file_before_the_job_ran_is_409(client, world):
    response = client.get(URL, query_string={"format": "csv", "year": world.y}, headers=world.admin)
    file_url = response.headers["Location"] + "/file"
    assert client.get(file_url, headers=world.admin).status_code == 409


def test_progress_is_written_to_job_meta_and_the_row(app, client, world, owner_engine):
    response = client.get(URL, query_string={"format": "csv", "year": world.y}, headers=world.national)
    export_id = response.get_json()["id"]
    job = jobs.queue("reports").jobs[0]
    run_worker(app)
    job.refresh()
    assert job.meta["progress"] == 100
    with owner_engine.connect() as conn:
        row = conn.execute(text("SELECT status, progress, job_id IS NULL AS no_job, length(content) AS size"
                                " FROM report_exports WHERE id = :id"), {"id": export_id}).one()
    assert row.status == "finished" and row.progress == 100 and row.size > 0 and not row.no_job


def test_failed_job_is_retried_then_marked_failed(app, client, world, monkeypatch):
    from relais_platform.reporting import exports

    calls = []

    def broken(bilan, fmt):
        calls.append(fmt)
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "render", broken)
    response = client.get(URL, query_string={"format": "csv", "year": world.y}, headers=world.admin)
    run_worker(app)
    status = client.get(response.headers["Location"], headers=world.admin).get_json()
    # A retry is scheduled (with backoff): the export still waits.
    assert status["status"] == "queued" and status["error"] == "RuntimeError"
    assert len(jobs.queue("reports").scheduled_job_registry.get_job_ids()) == 1
    assert calls == ["csv"]
    # The last try fails for good.
    jobs.enqueue(exports.build_export, status["id"], relais_id=world.a, queue_name="reports")
    run_worker(app)
    status = client.get(response.headers["Location"], headers=world.admin).get_json()
    assert status["status"] == "failed" and status["download_url"] is None


def test_old_exports_are_purged(app, client, world, owner_engine):
    first = client.get(URL, query_string={"format": "csv", "year": world.y}, headers=world.admin)
    second = client.get(URL, query_string={"format": "csv", "year": world.y}, headers=world.national)
    run_worker(app)
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE report_exports SET created_at = :at WHERE id = :id"),
                     {"at": utcnow() - timedelta(days=8), "id": first.get_json()["id"]})
    job = jobs.enqueue("relais_platform.reporting.exports.purge_old_exports")
    with app.app_context():
        SimpleWorker([jobs.queue()], connection=jobs.redis_connection()).work(burst=True)
    assert job.return_value() == 1
    assert client.get(first.headers["Location"], headers=world.admin).status_code == 404
    assert client.get(second.headers["Location"], headers=world.national).status_code == 200


def test_purge_is_a_periodic_job():
    assert any(p.func == "relais_platform.reporting.exports.purge_old_exports" for p in periodic_jobs())


def test_a_link_cannot_start_an_export(app, world):
    """A browser following or prefetching a link sends its cookie: GET starts nothing then."""
    national = db.session.scalar(select(User).where(User.role == Role.NATIONAL))
    browser = app.test_client(user=national)
    response = browser.get(URL, query_string={"format": "csv", "year": world.y})
    assert response.status_code == 405
    assert jobs.queue("reports").count == 0


def test_an_api_client_may_still_start_one_with_get(client, world):
    response = client.get(URL, query_string={"format": "csv", "year": world.y}, headers=world.national)
    assert response.status_code == 202 and response.headers["Location"]
