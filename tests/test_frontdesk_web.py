"""The front desk on the web: the person's page as hub (hand-over of several lines on one
screen, connection period and its extension, sessions to log and correct), recharges coming
due, referring structures and the national list of themes — forms redisplayed with messages."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.tenants.models import Relais
from tests.factories import make_accompaniment, make_distribution_world, make_user


@pytest.fixture
def world(app):
    with app.app_context():
        world = make_distribution_world()
        a = db.session.get(Relais, world.a)
        a.terms_accepted_at = a.created_at
        db.session.commit()
        world.users = {"worker": make_user(Role.RELAIS_WORKER, a).id,
                       "admin": make_user(Role.RELAIS_ADMIN, a).id,
                       "national": make_user(Role.NATIONAL).id}
        world.session = make_accompaniment(world.a, [world.person_a], theme="employment")
        db.session.remove()
        return world


def _browser(app, world, who):
    with app.app_context():
        return app.test_client(user=db.session.get(User, world.users[who]))


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_the_persons_page_is_the_hub(app, world):
    client = _browser(app, world, "worker")
    page = _html(client.get(f"/beneficiaires/{world.person_a}"))
    assert f"/distributions/remises/nouvelle/{world.person_a}" in page
    assert f"/beneficiaires/accompagnement/nouvelle-seance?beneficiary_ids={world.person_a}" in page
    assert "Pas encore commencée" in page
    form = client.get(f"/beneficiaires/accompagnement/nouvelle-seance?beneficiary_ids={world.person_a}")
    assert 'checked' in _html(form) and "Zénobie" in _html(form)


def test_a_sim_and_a_recharge_on_one_screen(app, world, owner_engine):
    client = _browser(app, world, "worker")
    url = f"/distributions/remises/nouvelle/{world.person_a}"
    page = _html(client.get(url))
    assert 'name="serials-SIM-D"' in page and 'name="qty-REC-D"' in page
    assert 'value="5,00"' in page  # the recharge's price pre-filled with its cap
    bad = client.post(url, data={"serials-SIM-D": "8933990000000099999", "qty-REC-D": "1",
                                 "price-REC-D": "5,00", "price-SIM-D": "0"})
    assert bad.status_code == 422
    assert "8933990000000099999" in _html(bad) and 'aria-invalid="true"' in _html(bad)
    with owner_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM handovers")) == 0
    done = client.post(url, data={"serials-SIM-D": world.sims[0], "qty-REC-D": "1", "price-REC-D": "5,00",
                                  "price-SIM-D": "0", "programme": "standard"})
    assert done.status_code == 302
    with owner_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM distributions WHERE handover_id IS NOT NULL")) == 2
        handover = conn.scalar(text("SELECT id FROM handovers"))
    person = _html(client.get(f"/beneficiaires/{world.person_a}"))
    assert f"/distributions/remises/{handover}/recu" in person, person[person.find("received-title"):][:1500]
    assert "Cartes SIM et recharges peuvent être remises" in person
    receipt = client.get(f"/distributions/remises/{handover}/recu")
    assert receipt.status_code == 200 and world.sims[0] in _html(receipt)


def test_the_admin_extends_the_connection_once(app, world):
    client = _browser(app, world, "admin")
    client.post(f"/distributions/remises/nouvelle/{world.person_a}",
                data={"qty-REC-D": "1", "price-REC-D": "0"})
    url = f"/beneficiaires/{world.person_a}/prolongation"
    refused = client.post(url, data={"months": "6", "reason": ""}, follow_redirects=True)
    assert "Indiquez la raison" in _html(refused)
    client.post(url, data={"months": "6", "reason": "Formation en cours"})
    assert "Période prolongée de 6 mois" in _html(client.get(f"/beneficiaires/{world.person_a}"))
    worker = _browser(app, world, "worker")
    assert worker.post(url, data={"months": "6", "reason": "x"}).status_code == 403


def test_recharges_due_page(app, world):
    client = _browser(app, world, "worker")
    page = client.get("/distributions/recharges-a-echeance?within_days=40")
    assert page.status_code == 200 and "Recharges arrivant à échéance" in _html(page)


def test_a_session_corrected_duplicated_and_deleted(app, world, owner_engine):
    client = _browser(app, world, "worker")
    url = f"/beneficiaires/accompagnement/{world.session}/modifier"
    page = _html(client.get(url))
    assert 'value="120"' in page and "Zénobie" in page
    bad = client.post(url, data={"kind": "atelier_thematique", "theme": "employment", "date": "2026-01-15",
                                 "duration_minutes": "0", "beneficiary_ids": str(world.person_a),
                                 "parcours_id": ""})
    assert bad.status_code == 422 and 'value="0"' in _html(bad)
    ok = client.post(url, data={"kind": "atelier_thematique", "theme": "parenting", "date": "2026-01-15",
                                "duration_minutes": "90", "beneficiary_ids": str(world.person_a),
                                "parcours_id": "", "anonymous_count": "0"})
    assert ok.status_code == 302
    base = f"/beneficiaires/accompagnement/{world.session}"
    copy = client.post(f"{base}/dupliquer", data={"date": "2026-01-22"})
    assert copy.status_code == 302
    missing_reason = client.post(f"{base}/supprimer", data={"reason": ""})
    assert missing_reason.status_code == 422 and "Indiquez la raison" in _html(missing_reason)
    deleted = client.post(f"{base}/supprimer", data={"reason": "doublon"})
    assert deleted.status_code == 302
    with owner_engine.connect() as conn:
        rows = conn.execute(text("SELECT duration_minutes, theme, deleted_at IS NOT NULL"
                                 " FROM accompaniment_sessions ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(90, "parenting", True), (90, "parenting", False)]


def test_referrers_page_and_a_person_carrying_one(app, world):
    client = _browser(app, world, "worker")
    assert client.post("/beneficiaires/structures", data={"name": "", "kind": "caf"}).status_code == 422
    added = client.post("/beneficiaires/structures", data={"name": "CAF Gironde", "kind": "caf"})
    assert added.status_code == 302
    page = _html(client.get("/beneficiaires/structures"))
    assert "CAF Gironde" in page
    form = _html(client.get(f"/beneficiaires/{world.person_a}/modifier"))
    assert "CAF Gironde (CAF)" in form
    dashboard = _html(client.get("/dashboards/relais"))
    assert "par type de structure orienteuse" in dashboard and "Non renseignée" in dashboard


def test_national_manages_themes(app, world):
    client = _browser(app, world, "national")
    page = client.get("/beneficiaires/themes")
    assert page.status_code == 200 and "Parentalité" in _html(page)
    bad = client.post("/beneficiaires/themes", data={"code": "Pas Bon", "label": "x"})
    assert bad.status_code == 422 and "Pas Bon" in _html(bad)
    added = client.post("/beneficiaires/themes", data={"code": "mobilite", "label": "Mobilité"})
    assert added.status_code == 302
    assert "Mobilité" in _html(client.get("/beneficiaires/themes"))
    assert _browser(app, world, "worker").get("/beneficiaires/themes").status_code == 403
