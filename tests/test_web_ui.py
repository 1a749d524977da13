"""The UI for a phone and a busy desk: the data-driven menu, the newcomer's fixes (locale
dates and month names, one charset, history lines in the reader's language, the coach's
links), the bilan's default year, and the clock the demo writes its history with."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from relais_platform import mail, navigation
from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.orm import clock_at, utcnow
from relais_platform.stock.pages import history_note
from relais_platform.stock.warehouse.models import StockMovement
from tests.factories import (
    as_national,
    make_accompaniment,
    make_beneficiary,
    make_product,
    make_user,
    receive,
)
from tests.test_web_support import build, deliver_mail, login_as, make_signed_relais, text

ROLES = (Role.NATIONAL, Role.COACH, Role.RELAIS_ADMIN, Role.RELAIS_WORKER)


@pytest.fixture
def relais(app: Flask):
    return build(app, make_signed_relais, name="CCAS de Pessac")


def _user(app: Flask, role: Role, relais=None):
    return build(app, make_user, role, relais if role.is_relais_role else None)


def _nav(html: str) -> str:
    return html.split('aria-label="Navigation principale"')[1].split("</nav>")[0]


@pytest.mark.parametrize("role", ROLES)
def test_training_is_in_every_role_menu(app, relais, role):
    nav = _nav(text(login_as(app, _user(app, role, relais)).get("/")))
    assert 'href="/training/"' in nav


def test_the_national_menu_groups_its_many_entries(app):
    nav = _nav(text(login_as(app, _user(app, Role.NATIONAL)).get("/")))
    top_level = re.sub(r"<details.*?</details>", "", nav, flags=re.S).count("<li")
    groups = re.findall(r"<summary[^>]*>([^<]+)</summary>", nav)
    assert groups == ["Réseau", "Stock", "Activité", "Formation"]
    assert top_level <= 8  # one row at 1280 px
    assert 'href="/stock/catalogue"' in nav and 'href="/relais/new"' in nav  # inside the groups


def test_a_feature_adds_its_menu_entry_with_one_line(app, relais, monkeypatch):
    entry = navigation.Entry("Rappels de recharge", "accounts.account", navigation.STAFF, "people")
    monkeypatch.setattr(navigation, "MENU", [*navigation.MENU, entry])
    staff = _nav(text(login_as(app, _user(app, Role.RELAIS_WORKER, relais)).get("/")))
    national = _nav(text(login_as(app, _user(app, Role.NATIONAL)).get("/")))
    assert "Rappels de recharge" in staff and "Rappels de recharge" not in national


def test_the_current_page_is_marked_in_the_menu(app):
    client = login_as(app, _user(app, Role.NATIONAL))
    nav = _nav(text(client.get("/", query_string={"status": "applied"})))
    assert re.search(r'<a href="/\?status=applied" aria-current="page">Candidatures', nav)
    assert not re.search(r'<a href="/" aria-current="page">Relais<', nav)
    assert 'class="is-current">Réseau' in nav


def test_a_coach_goes_from_a_relais_to_its_progress_and_coaching(app, relais):
    coach = _user(app, Role.COACH)
    with app.app_context():
        from relais_platform.tenants.models import Relais

        db.session.get(Relais, relais.id).coach_id = coach.id
        db.session.commit()
    page = text(login_as(app, coach).get(f"/relais/{relais.id}"))
    assert f'href="/training/relais/{relais.id}"' in page and 'href="/coaching/"' in page


def test_csv_responses_carry_a_single_charset(app):
    response = login_as(app, _user(app, Role.NATIONAL)).get("/training/exports/records.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_stock_report_titles_name_the_month(app, relais):
    admin = _user(app, Role.RELAIS_ADMIN, relais)
    page = text(login_as(app, admin).get("/distributions/reports/2026-01"))
    assert "Rapport de stock de janvier 2026" in page and "de 2026-01" not in page


def test_history_lines_written_by_the_platform_read_in_the_reader_language(app):
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert history_note("Paiement reçu.") == "Payment received."
        assert history_note("Expédition de la commande n° 12") == "Shipment of order no. 12"
        assert history_note("distribution 7 cancelled") == "Distribution no. 7 cancelled"
        assert history_note("Écran fissuré à la livraison") == "Écran fissuré à la livraison"


def test_english_pages_do_not_show_french_prerequisites(app, relais):
    from relais_platform.training.catalogue import NETWORK_MODULES

    assert all(spec["prerequisites"] != "Aucun." for spec in NETWORK_MODULES)


def test_the_outbox_shows_dates_in_the_reader_format(app):
    with app.app_context(), app.test_request_context("/"):
        mail.send("equipe@example.org", "Bonjour", "Corps du message")
        db.session.commit()
    deliver_mail(app)
    page = text(login_as(app, _user(app, Role.NATIONAL)).get("/outbox/"))
    assert not re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d", page)  # no RFC 2822 date
    assert re.search(r"\d{2}/\d{2}/\d{4}", page)


def test_the_bilan_opens_on_the_year_that_holds_the_activity(app, relais):
    """A network in its first year: the current year, not an empty previous one."""
    admin = _user(app, Role.RELAIS_ADMIN, relais)
    with app.app_context():
        make_accompaniment(relais.id, [make_beneficiary(relais.id)], date=date.today())
    page = text(login_as(app, admin).get("/rapports/bilan"))
    assert f"Bilan annuel {date.today().year}" in page


def test_the_bilan_keeps_opening_on_last_year_when_it_has_activity(app, relais):
    admin = _user(app, Role.RELAIS_ADMIN, relais)
    last_year = date(date.today().year - 1, 6, 1)
    with app.app_context(), clock_at(datetime(last_year.year, 6, 1, 10, tzinfo=UTC)):
        people = [make_beneficiary(relais.id),
                  make_beneficiary(relais.id, first_name="Paul", last_name="Durand")]
        make_accompaniment(relais.id, people, date=last_year)
    page = text(login_as(app, admin).get("/rapports/bilan"))
    assert f"Bilan annuel {date.today().year - 1}" in page


def test_what_is_pending_when_the_clock_stops_is_stamped_with_it(app):
    moment = datetime(2025, 5, 6, 9, 0, tzinfo=UTC)
    with app.app_context():
        product = make_product(sku="REC-PENDING")
        with as_national():
            with clock_at(moment):
                db.session.add(StockMovement(product_id=product.id, kind="adjustment", on_hand_delta=1,
                                             reason="test"))
            db.session.commit()
            stamped = db.session.scalar(select(StockMovement.occurred_at).where(
                StockMovement.product_id == product.id))
    assert stamped == moment


def test_the_clock_stamps_what_is_written_under_it(app):
    moment = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
    with app.app_context():
        product = make_product(sku="REC-CLOCK")
        with clock_at(moment):
            assert utcnow() == moment
            receive(product, quantity=5)
        assert utcnow() > moment
        with as_national():
            stamped = db.session.scalar(select(StockMovement.occurred_at).where(
                StockMovement.product_id == product.id))
    assert stamped == moment
