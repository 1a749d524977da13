"""Every list downloadable as CSV or XLSX: same filters, same scope, streamed, formula-safe,
JSON by default; an export of the registry is audited."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from relais_platform.audit.models import AuditEntry
from relais_platform.extensions import db
from relais_platform.tabular import http as tabular_http
from relais_platform.tabular.writer import safe_text
from relais_platform.tenancy import TenantScope, tenant_session
from tests.isolation_world import build_world


@pytest.fixture
def w(app: Flask) -> SimpleNamespace:
    with app.app_context():
        return build_world()


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))


A_MARKERS = ("Relais Alpha", "Arcachon", "Alphonsine", "Arcachonnaise", "Forum Alpha")

# (list URL, who may download it)
LISTS = [
    ("/api/v1/relais", "admin_b"), ("/api/v1/relais/{b}/users", "admin_b"), ("/api/v1/orders", "admin_b"),
    ("/api/v1/inventory", "worker_b"), ("/api/v1/inventory/units", "worker_b"),
    ("/api/v1/inventory/movements", "worker_b"), ("/api/v1/distributions", "worker_b"),
    ("/api/v1/accompaniments", "worker_b"), ("/api/v1/beneficiaries", "worker_b"),
    ("/api/v1/events", "admin_b"), ("/api/v1/training/sessions", "worker_b"),
    ("/api/v1/training/records", "worker_b"), ("/api/v1/products", "admin_b"),
    ("/api/v1/relais", "coach_b"), ("/api/v1/stock-reports", "worker_b"), ("/api/v1/imports", "admin_b"),
]


@pytest.mark.parametrize(("url", "who"), LISTS)
def test_every_list_downloads_within_the_users_scope(client, w, url, who):
    url = url.format(b=w.b)
    for fmt in ("csv", "xlsx"):
        response = client.get(f"{url}?format={fmt}", headers=w.headers[who])
        assert response.status_code == 200, (url, fmt, response.status_code)
        if fmt == "csv":
            text = response.get_data(as_text=True)
            assert not [m for m in A_MARKERS if m in text], url
        else:
            sheet = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
            values = " ".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v)
            assert not [m for m in A_MARKERS if m in values], url
    # The JSON answer is unchanged.
    assert client.get(url, headers=w.headers[who]).is_json


@pytest.mark.parametrize("url", ["/api/v1/stock", "/api/v1/network-stock", "/api/v1/orders",
                                 "/api/v1/stock-reports/status?period=2026-01", "/api/v1/relais",
                                 "/api/v1/stock/movements"])
def test_national_lists_download(client, w, url):
    sep = "&" if "?" in url else "?"
    rows = rows_of(client.get(f"{url}{sep}format=csv", headers=w.headers["national"]))
    assert len(rows) >= 2


def test_filters_apply_and_accept_header_works(client, w):
    headers = {**w.headers["national"], "Accept": "text/csv"}
    rows = rows_of(client.get("/api/v1/relais?q=Beta", headers=headers))
    names = [row[rows[0].index("name")] for row in rows[1:]]
    assert names == ["Relais Beta"]


def test_orders_export_one_row_per_line(client, w):
    rows = rows_of(client.get("/api/v1/orders?format=csv", headers=w.headers["admin_a"]))
    assert "lines.sku" in rows[0] and "lines" not in rows[0]
    assert rows[1][rows[0].index("lines.sku")] == "REC-ISO"


def test_unknown_format_is_refused(client, w):
    response = client.get("/api/v1/relais?format=pdf", headers=w.headers["national"])
    assert response.status_code == 422 and "format" in response.json["errors"]


def test_large_lists_are_read_page_after_page(client, w, monkeypatch):
    monkeypatch.setattr(tabular_http, "EXPORT_PAGE", 1)
    rows = rows_of(client.get("/api/v1/relais?format=csv", headers=w.headers["national"]))
    assert sorted(row[rows[0].index("name")] for row in rows[1:]) == ["Relais Alpha", "Relais Beta"]


def test_beneficiaries_export_is_staff_only_and_audited(app, client, w):
    assert client.get("/api/v1/beneficiaries?format=csv", headers=w.headers["national"]).status_code == 403
    assert client.get("/api/v1/beneficiaries?format=csv", headers=w.headers["coach_b"]).status_code == 403
    rows = rows_of(client.get("/api/v1/beneficiaries?format=csv&q=Bertille", headers=w.headers["worker_b"]))
    assert [row[rows[0].index("first_name")] for row in rows[1:]] == ["Bertille"]
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=w.b)) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "beneficiaries_exported"))
        assert entry is not None and entry.details == {"format": "csv", "filters": ["q"]}
        assert "Bertille" not in str(entry.details)
        assert entry.actor_id == w.worker_b


@pytest.mark.parametrize("value", ["=1+1", "+33 6", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(value):
    assert safe_text(value) == "'" + value
    assert safe_text(-5) == -5 and safe_text("Bordeaux") == "Bordeaux"


def test_formula_names_are_neutralised_in_both_formats(app, client, w):
    from relais_platform.tenants.models import Relais

    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)) as session:
        session.get(Relais, w.b).name = '=HYPERLINK("http://evil","x")'
        session.commit()
    rows = rows_of(client.get("/api/v1/relais?format=csv", headers=w.headers["admin_b"]))
    assert rows[1][rows[0].index("name")] == '\'=HYPERLINK("http://evil","x")'
    response = client.get("/api/v1/relais?format=xlsx", headers=w.headers["admin_b"])
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("name") + 1)
    assert cell.data_type == "s" and cell.value.startswith("'=")


def test_openapi_documents_the_format(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/relais"]["get"]
    assert "format" in {p["name"] for p in operation["parameters"]}
    assert {"page", "per_page"} <= {p["name"] for p in operation["parameters"]}
    # The JSON page, and the downloads beside it.
    assert list(operation["responses"]["200"]["content"]) == [
        "application/json", "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]


@pytest.mark.parametrize(("page", "who", "endpoint"), [
    ("/", "national", "/api/v1/relais?"), ("/relais/{b}", "admin_b", "/api/v1/relais/{b}/users?"),
    ("/stock/orders", "admin_b", "/api/v1/orders?"), ("/stock/national", "national", "/api/v1/stock?"),
    ("/stock/inventory", "worker_b", "/api/v1/inventory?"),
    ("/stock/inventory", "worker_b", "/api/v1/inventory/movements?"),
    ("/distributions/", "worker_b", "/api/v1/distributions?"),
    ("/distributions/national", "national", "/api/v1/network-stock?"),
    ("/beneficiaires/?q=Bert", "worker_b", "/api/v1/beneficiaries?"),
    ("/beneficiaires/accompagnement", "worker_b", "/api/v1/accompaniments?"),
    ("/rapports/evenements", "admin_b", "/api/v1/events?"),
    ("/stock/catalogue", "national", "/api/v1/products?"),
    ("/training/", "worker_b", "/api/v1/training/sessions?"),
    ("/stock/national/movements", "national", "/api/v1/stock/movements?"),
    ("/distributions/reports/history", "worker_b", "/api/v1/stock-reports?"),
])
def test_list_pages_link_their_downloads(app, w, page, who, endpoint):
    from tests.isolation_world import browser

    client = browser(app, w.session_ids[who])
    response = client.get(page.format(b=w.b), follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert endpoint.format(b=w.b) in text and "format=xlsx" in text, page
    if "q=Bert" in page:
        assert "q=Bert" in text.split("/api/v1/beneficiaries?")[1][:80]
