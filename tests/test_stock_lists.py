"""Two stock lists and their downloads: the national ledger (`GET /api/v1/stock/movements`,
national only, filtered) and a relais' own monthly reports (`GET /api/v1/stock-reports`),
with their web pages."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from openpyxl import load_workbook

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.reports import services as reports
from relais_platform.stock.warehouse import ledger
from relais_platform.stock.warehouse.models import MovementKind, ReasonCode
from relais_platform.tabular import http as tabular_http
from tests.factories import as_national, bearer, make_product, make_relais, make_user
from tests.isolation_world import browser
from tests.test_distributions_reports import world  # noqa: F401  (the reports' fixture)

PARIS = ZoneInfo("Europe/Paris")


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def xlsx_rows(response) -> list[dict[str, object]]:
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


# --- the national ledger ------------------------------------------------------------------


def _move(product, kind: MovementKind, day: date, **kwargs) -> None:
    with as_national():
        movement = ledger.move_national(product, kind, **kwargs)
        movement.occurred_at = datetime.combine(day, time(10), PARIS)
        db.session.commit()


@pytest.fixture
def ledger_world(app):
    with app.app_context():
        a = make_relais(name="Relais Adour")
        a.terms_accepted_at = utcnow()
        db.session.commit()
        sim = make_product(sku="SIM-L", name="Carte SIM")
        recharge = make_product(sku="REC-L", name="Recharge")
        _move(sim, MovementKind.RECEIPT, date(2026, 1, 5), on_hand_delta=100, reason="Livraison janvier")
        _move(recharge, MovementKind.RECEIPT, date(2026, 1, 20), on_hand_delta=50)
        _move(sim, MovementKind.SHIPMENT, date(2026, 2, 3), on_hand_delta=-10, relais_id=a.id)
        _move(sim, MovementKind.ADJUSTMENT, date(2026, 2, 28), on_hand_delta=-2,
              reason="=HYPERLINK(\"http://x\")", reason_code=ReasonCode.DAMAGED)
        users = {"national": make_user(Role.NATIONAL), "admin": make_user(Role.RELAIS_ADMIN, a),
                 "worker": make_user(Role.RELAIS_WORKER, a), "coach": make_user(Role.COACH)}
        logins = {name: user.get_id() for name, user in users.items()}
        return SimpleNamespace(a=a.id, sim=sim.id, logins=logins,
                               **{name: bearer(user) for name, user in users.items()})


URL = "/api/v1/stock/movements"


def test_the_national_ledger_newest_first_with_pagination(client, ledger_world):
    response = client.get(URL, headers=ledger_world.national)
    assert response.status_code == 200
    assert [(m["sku"], m["kind"], m["on_hand_delta"]) for m in response.json] == [
        ("SIM-L", "adjustment", -2), ("SIM-L", "shipment", -10), ("REC-L", "receipt", 50),
        ("SIM-L", "receipt", 100)]
    shipment = response.json[1]
    assert shipment["relais_id"] == ledger_world.a and shipment["relais_name"] == "Relais Adour"
    assert response.json[0]["reason_code"] == "damaged" and response.json[3]["location_name"]
    page = client.get(f"{URL}?per_page=3&page=2", headers=ledger_world.national)
    assert [m["kind"] for m in page.json] == ["receipt"] and page.json[0]["sku"] == "SIM-L"
    assert page.headers["X-Total-Count"] == "4"
    pagination = page.headers["X-Pagination"]
    assert '"exact": true' in pagination and '"last_page": 2' in pagination


@pytest.mark.parametrize(("query", "expected"), [
    ("sku=sim-l", [-2, -10, 100]),
    ("product_id={sim}", [-2, -10, 100]),
    ("kind=receipt", [50, 100]),
    ("from=2026-01-20&to=2026-02-03", [-10, 50]),
    ("from=2026-02-28", [-2]),
    ("to=2026-01-05", [100]),
    ("sku=SIM-L&kind=shipment&from=2026-02-01", [-10]),
    ("sku=NOPE", []),
])
def test_filters(client, ledger_world, query, expected):
    response = client.get(f"{URL}?{query.format(sim=ledger_world.sim)}", headers=ledger_world.national)
    assert response.status_code == 200
    assert [m["on_hand_delta"] for m in response.json] == expected


@pytest.mark.parametrize(("query", "field"), [
    ("kind=theft", "kind"), ("from=2026-13-01", "from"), ("to=hier", "to"),
    ("from=2026-03-01&to=2026-02-01", "to"), ("product_id=0", "product_id"), ("format=pdf", "format"),
])
def test_bad_filters_are_422_naming_the_field(client, ledger_world, query, field):
    response = client.get(f"{URL}?{query}", headers=ledger_world.national)
    assert response.status_code == 422 and field in response.json["errors"], response.json


@pytest.mark.parametrize("who", ["admin", "worker", "coach"])
def test_the_national_ledger_is_national_only(client, ledger_world, who):
    assert client.get(URL, headers=getattr(ledger_world, who)).status_code == 403
    assert client.get(f"{URL}?format=csv", headers=getattr(ledger_world, who)).status_code == 403
    assert client.get(URL).status_code == 401


def test_the_ledger_downloads_with_its_filters(client, ledger_world, monkeypatch):
    monkeypatch.setattr(tabular_http, "EXPORT_PAGE", 1)  # read page after page
    rows = csv_rows(client.get(f"{URL}?format=csv&sku=SIM-L", headers=ledger_world.national))
    assert [(r["kind"], r["on_hand_delta"]) for r in rows] == [
        ("adjustment", "-2"), ("shipment", "-10"), ("receipt", "100")]
    # A reason typed as a formula stays text.
    assert rows[0]["reason"] == "'=HYPERLINK(\"http://x\")"
    sheet = xlsx_rows(client.get(f"{URL}?kind=shipment", headers={
        **ledger_world.national,
        "Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}))
    assert [(r["sku"], r["on_hand_delta"], r["relais_name"]) for r in sheet] == [
        ("SIM-L", -10, "Relais Adour")]


def test_the_ledger_page_filters_and_links_its_downloads(app, ledger_world):
    web = browser(app, ledger_world.logins["national"])
    stock = web.get("/stock/national").get_data(as_text=True)
    assert 'href="/stock/national/movements"' in stock and "/stock/national/movements?sku=SIM-L" in stock
    # The form's empty fields are dropped from the address (and so from the download links).
    response = web.get("/stock/national/movements?sku=SIM-L&kind=&from=2026-02-01&to=")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/stock/national/movements?sku=SIM-L&from=2026-02-01")
    page = web.get("/stock/national/movements?sku=SIM-L&from=2026-02-01")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "2 mouvements" in text and "Relais Adour" in text
    assert "/api/v1/stock/movements?format=csv&amp;sku=SIM-L&amp;from=2026-02-01" in text
    assert "format=xlsx" in text and "Livraison janvier" not in text
    refused = web.get("/stock/national/movements?from=2026-03-01&to=2026-02-01")
    assert refused.status_code == 422 and "précède" in refused.get_data(as_text=True)
    for who in ("admin", "worker", "coach"):
        assert browser(app, ledger_world.logins[who]).get("/stock/national/movements").status_code == 403


# --- a relais' own monthly reports ---------------------------------------------------------


def _submit(client, headers, period: str, lines: list[dict]):
    response = client.post("/api/v1/stock-reports", json={"period": period, "lines": lines}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def reported(client, world):  # noqa: F811  (the imported fixture)
    """Relais A sent the last two months' reports, relais B the last one."""
    earlier = reports.format_period(world.period_date - relativedelta(months=1))
    _submit(client, world.admin, earlier, [{"sku": "REC-R", "counted_closing": 20},
                                           {"sku": "PHONE-R", "counted_closing": 2}])
    _submit(client, world.admin, world.period, [
        {"sku": "REC-R", "counted_closing": 24, "adjustment_reason": "Une recharge introuvable"},
        {"sku": "PHONE-R", "counted_closing": 2}])
    _submit(client, world.b_admin, world.period, [{"sku": "REC-R", "counted_closing": 3}])
    world.earlier = earlier
    return world


def test_a_relais_lists_its_own_reports_newest_first(client, reported):
    response = client.get("/api/v1/stock-reports", headers=reported.worker)
    assert response.status_code == 200
    assert [r["period"] for r in response.json] == [reported.period, reported.earlier]
    latest = response.json[0]
    assert latest["status"] == "submitted" and latest["submitted_at"]
    totals = (latest["line_count"], latest["losses"], latest["adjustment"], latest["discrepancy"])
    assert totals == (2, 1, -1, 2)
    assert response.headers["X-Total-Count"] == "2" and '"exact": true' in response.headers["X-Pagination"]
    page = client.get("/api/v1/stock-reports?per_page=1&page=2", headers=reported.admin)
    assert [r["period"] for r in page.json] == [reported.earlier]
    # Relais B sees its own report only.
    other = client.get("/api/v1/stock-reports", headers=reported.b_admin).json
    assert [(r["period"], r["line_count"]) for r in other] == [(reported.period, 1)]
    assert not {r["id"] for r in response.json} & {r["id"] for r in other}


def test_the_status_filter_follows_the_review(client, reported):
    review = client.post(f"/api/v1/stock-reports/{reported.a}/{reported.earlier}/review",
                         json={"decision": "returned", "comment": "Recomptez les SIM"},
                         headers=reported.national)
    assert review.status_code == 200, review.json
    returned = client.get("/api/v1/stock-reports?status=returned", headers=reported.admin).json
    assert [(r["period"], r["review_comment"]) for r in returned] == [(reported.earlier, "Recomptez les SIM")]
    assert client.get("/api/v1/stock-reports?status=lost", headers=reported.admin).status_code == 422


@pytest.mark.parametrize("who", ["national", "coach"])
def test_other_roles_do_not_list_relais_reports(client, reported, who):
    assert client.get("/api/v1/stock-reports", headers=getattr(reported, who)).status_code == 403
    assert client.get("/api/v1/stock-reports?format=csv", headers=getattr(reported, who)).status_code == 403


def test_the_reports_download_in_both_formats(client, reported):
    rows = csv_rows(client.get("/api/v1/stock-reports?format=csv", headers=reported.worker))
    assert [(r["period"], r["line_count"], r["status"]) for r in rows] == [
        (reported.period, "2", "submitted"), (reported.earlier, "2", "submitted")]
    sheet = xlsx_rows(client.get("/api/v1/stock-reports?format=xlsx", headers=reported.b_admin))
    assert [(r["period"], r["line_count"]) for r in sheet] == [(reported.period, 1)]


def test_the_posted_report_route_is_unchanged(client, reported):
    body = client.get(f"/api/v1/stock-reports/{reported.period}", headers=reported.worker).json
    assert body["status"] == "submitted" and {line["sku"] for line in body["lines"]} == {"REC-R", "PHONE-R"}


def _login(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).get_id()


def test_the_reports_page_lists_and_links_its_downloads(app, reported):
    web = browser(app, _login(app, reported.user_ids["worker"]))
    report_page = web.get(f"/distributions/reports/{reported.period}").get_data(as_text=True)
    assert 'href="/distributions/reports/history"' in report_page
    page = web.get("/distributions/reports/history")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "2 rapports" in text
    assert f'href="/distributions/reports/{reported.period}"' in text
    assert f'href="/distributions/reports/{reported.earlier}"' in text
    assert "/api/v1/stock-reports?format=csv" in text and "/api/v1/stock-reports?format=xlsx" in text
    assert 'aria-current="page"' in text
    national = browser(app, _login(app, reported.user_ids["national"]))
    assert national.get("/distributions/reports/history").status_code == 403


def test_a_relais_without_reports_sees_an_empty_list(app, client, world):  # noqa: F811
    assert client.get("/api/v1/stock-reports", headers=world.worker).json == []
    web = browser(app, _login(app, world.user_ids["worker"]))
    text = web.get("/distributions/reports/history").get_data(as_text=True)
    assert "aucun rapport" in text


def test_dates_are_days_in_the_platform_time_zone(client, ledger_world, app):
    """A movement at 23:30 in Paris on 31 January belongs to that day, not to 1 February (UTC)."""
    with app.app_context():
        from relais_platform.stock.catalogue.models import Product

        with as_national():
            product = db.session.get(Product, ledger_world.sim)
            movement = ledger.move_national(product, MovementKind.RECEIPT, on_hand_delta=1)
            movement.occurred_at = datetime.combine(date(2026, 1, 31), time(23, 30), PARIS)
            db.session.commit()
    january = client.get(f"{URL}?from=2026-01-31&to=2026-01-31", headers=ledger_world.national).json
    assert [m["on_hand_delta"] for m in january] == [1]
    assert client.get(f"{URL}?from=2026-02-01&to=2026-02-01", headers=ledger_world.national).json == []
