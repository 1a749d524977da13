"""Relais API: who sees which relais, creation and its validation, profile and status changes."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from flask import Flask

from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.tenants.models import Relais, RelaisStatus
from tests.factories import PASSWORD, bearer, make_relais, make_user, relais_data, siret
from tests.test_api_auth import assert_error

RELAIS_FIELDS = {
    "id", "name", "kind", "siret", "address", "postcode", "city", "departement", "region",
    "dimensions", "status", "contact_name", "contact_email", "contact_phone", "coach_id",
    "created_at", "status_changed_at", "terms_accepted_at",
}


@pytest.fixture
def net(app: Flask) -> SimpleNamespace:
    """Three relais, a coach following two of them, and one user per role."""
    with app.app_context():
        bordeaux = make_relais(name="CCAS de Bordeaux", kind="ccas", postcode="33000", city="Bordeaux")
        gap = make_relais(name="Secours populaire Gap", kind="secours_populaire", postcode="05000",
                          city="Gap")
        briancon = make_relais(name="CADA Briançon", kind="cada", postcode="05100", city="Briançon",
                               status=RelaisStatus.SUSPENDED)
        coach = make_user(Role.COACH)
        gap.coach_id = briancon.coach_id = coach.id
        db.session.commit()
        return SimpleNamespace(
            bordeaux=bordeaux.id,
            gap=gap.id,
            briancon=briancon.id,
            national=bearer(make_user(Role.NATIONAL)),
            coach=bearer(coach),
            admin=bearer(make_user(Role.RELAIS_ADMIN, db.session.get(Relais, bordeaux.id))),
            worker=bearer(make_user(Role.RELAIS_WORKER, db.session.get(Relais, bordeaux.id))),
        )


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [r["name"] for r in response.json]


# --- listing -------------------------------------------------------------------------


class TestList:
    def test_national_sees_every_relais(self, client, net):
        response = client.get("/api/v1/relais", headers=net.national)
        assert names(response) == ["CADA Briançon", "CCAS de Bordeaux", "Secours populaire Gap"]
        assert set(response.json[0]) == RELAIS_FIELDS
        assert response.headers["X-Total-Count"] == "3"

    def test_coach_sees_its_portfolio_only(self, client, net):
        assert names(client.get("/api/v1/relais", headers=net.coach)) == [
            "CADA Briançon", "Secours populaire Gap"
        ]
        assert client.get(f"/api/v1/relais/{net.gap}", headers=net.coach).status_code == 200
        assert_error(client.get(f"/api/v1/relais/{net.bordeaux}", headers=net.coach), 404)

    @pytest.mark.parametrize("who", ["admin", "worker"])
    def test_relais_staff_see_their_own(self, client, net, who):
        assert names(client.get("/api/v1/relais", headers=getattr(net, who))) == ["CCAS de Bordeaux"]
        response = client.get(f"/api/v1/relais/{net.bordeaux}", headers=getattr(net, who))
        assert response.json["id"] == net.bordeaux

    def test_pagination(self, client, net):
        response = client.get("/api/v1/relais?page=2&per_page=2", headers=net.national)
        assert names(response) == ["Secours populaire Gap"]
        assert json.loads(response.headers["X-Pagination"]) == {
            "total": 3, "exact": True, "page": 2, "per_page": 2, "last_page": 2,
        }
        body = assert_error(client.get("/api/v1/relais?per_page=0", headers=net.national), 422)
        assert "per_page" in body["errors"]

    @pytest.mark.parametrize(("query", "expected"), [
        ("status=suspended", ["CADA Briançon"]),
        ("kind=ccas", ["CCAS de Bordeaux"]),
        ("departement=05", ["CADA Briançon", "Secours populaire Gap"]),
        ("q=gap", ["Secours populaire Gap"]),
        ("departement=05&status=active", ["Secours populaire Gap"]),
    ])
    def test_filters(self, client, net, query, expected):
        assert names(client.get(f"/api/v1/relais?{query}", headers=net.national)) == expected

    def test_invalid_filter_is_422(self, client, net):
        body = assert_error(client.get("/api/v1/relais?status=sleeping", headers=net.national), 422)
        assert list(body["errors"]) == ["status"]

    def test_signed_out_is_401(self, client, net):
        assert_error(client.get("/api/v1/relais"), 401)
        assert_error(client.get(f"/api/v1/relais/{net.bordeaux}"), 401)

    def test_unknown_id_is_404(self, client, net):
        body = assert_error(client.get("/api/v1/relais/999999", headers=net.national), 404)
        assert body["status"] == "Not Found"


# --- creation ------------------------------------------------------------------------


class TestCreate:
    def test_national_creates_an_active_relais(self, client, net):
        data = relais_data(name="CIDFF de la Gironde", kind="cidff", postcode="33300",
                           dimensions=["accompagnement", "connexion"],
                           contact_name="Awa Diallo", contact_email="Awa@CIDFF33.fr",
                           contact_phone="05 56 00 00 00")
        response = client.post("/api/v1/relais", json=data, headers=net.national)
        assert response.status_code == 201, response.json
        body = response.json
        assert set(body) == RELAIS_FIELDS
        assert body["status"] == "active"
        assert body["departement"] == "33" and body["region"] == "Nouvelle-Aquitaine"
        assert body["dimensions"] == ["connexion", "accompagnement"]
        assert body["contact_email"] == "awa@cidff33.fr"
        assert client.get(f"/api/v1/relais/{body['id']}", headers=net.national).json == body

    def test_address_and_contact_are_optional(self, client, net):
        data = relais_data()
        del data["address"]
        response = client.post("/api/v1/relais", json=data, headers=net.national)
        assert response.status_code == 201
        assert response.json["address"] is None and response.json["contact_name"] is None

    @pytest.mark.parametrize("who", ["coach", "admin", "worker"])
    def test_only_national_creates(self, client, net, who):
        assert_error(client.post("/api/v1/relais", json=relais_data(), headers=getattr(net, who)), 403)

    def test_missing_fields_are_named(self, client, net):
        body = assert_error(client.post("/api/v1/relais", json={}, headers=net.national), 422)
        assert set(body["errors"]) == {"name", "kind", "siret", "postcode", "city", "dimensions"}
        assert all(isinstance(m, list) and m for m in body["errors"].values())

    @pytest.mark.parametrize(("field", "value"), [
        ("siret", "12345678901234"),  # bad Luhn key
        ("siret", "1234567890123"),  # 13 digits
        ("siret", "1234567890123A"),
        ("postcode", "00100"),
        ("postcode", "3300"),
        ("kind", "bank"),
        ("dimensions", []),
        ("dimensions", ["connexion", "teleportation"]),
        ("dimensions", "connexion"),
        ("name", ""),
        ("contact_email", "not-an-email"),
    ])
    def test_invalid_field_is_422_on_that_field(self, client, net, field, value):
        body = assert_error(
            client.post("/api/v1/relais", json=relais_data(**{field: value}), headers=net.national), 422
        )
        assert list(body["errors"]) == [field]

    def test_duplicate_siret_is_422(self, client, net):
        data = relais_data()
        assert client.post("/api/v1/relais", json=data, headers=net.national).status_code == 201
        again = relais_data(siret=data["siret"])
        body = assert_error(client.post("/api/v1/relais", json=again, headers=net.national), 422)
        assert list(body["errors"]) == ["siret"]

    def test_unknown_field_is_422(self, client, net):
        data = relais_data(status="applied")
        body = assert_error(client.post("/api/v1/relais", json=data, headers=net.national), 422)
        assert list(body["errors"]) == ["status"]


# --- changes -------------------------------------------------------------------------


class TestUpdate:
    def test_national_changes_the_profile(self, client, net):
        new_siret = siret()
        response = client.patch(f"/api/v1/relais/{net.gap}", headers=net.national,
                                json={"name": "SPF Gap", "siret": new_siret, "postcode": "13001"})
        assert response.status_code == 200
        assert response.json["name"] == "SPF Gap" and response.json["siret"] == new_siret
        assert response.json["region"] == "Provence-Alpes-Côte d'Azur"

    def test_national_moves_the_status(self, client, net):
        before = client.get(f"/api/v1/relais/{net.gap}", headers=net.national).json
        response = client.patch(f"/api/v1/relais/{net.gap}", json={"status": "suspended"},
                                headers=net.national)
        assert response.json["status"] == "suspended"
        assert response.json["status_changed_at"] > before["status_changed_at"]
        response = client.patch(f"/api/v1/relais/{net.gap}", json={"status": "active"},
                                headers=net.national)
        assert response.json["status"] == "active"

    @pytest.mark.parametrize("status", ["applied", "rejected"])
    def test_refused_move_is_422_on_status(self, client, net, status):
        body = assert_error(client.patch(f"/api/v1/relais/{net.gap}", json={"status": status},
                                         headers=net.national), 422)
        assert list(body["errors"]) == ["status"]
        assert client.get(f"/api/v1/relais/{net.gap}", headers=net.national).json["status"] == "active"

    def test_refused_move_keeps_other_changes_out(self, client, net):
        assert_error(client.patch(f"/api/v1/relais/{net.gap}", json={"name": "X", "status": "applied"},
                                  headers=net.national), 422)
        assert client.get(f"/api/v1/relais/{net.gap}", headers=net.national).json["name"] == (
            "Secours populaire Gap"
        )

    def test_duplicate_siret_on_change_is_422(self, client, net):
        taken = client.get(f"/api/v1/relais/{net.bordeaux}", headers=net.national).json["siret"]
        body = assert_error(client.patch(f"/api/v1/relais/{net.gap}", json={"siret": taken},
                                         headers=net.national), 422)
        assert list(body["errors"]) == ["siret"]

    def test_admin_changes_address_and_contact(self, client, net):
        change = {"address": "2 place Pey-Berland", "contact_name": "Léa Martin",
                  "contact_email": "lea@ccas-bordeaux.fr", "contact_phone": "0556000000"}
        response = client.patch(f"/api/v1/relais/{net.bordeaux}", json=change, headers=net.admin)
        assert response.status_code == 200
        assert {k: response.json[k] for k in change} == change
        cleared = client.patch(f"/api/v1/relais/{net.bordeaux}", json={"contact_phone": None},
                               headers=net.admin)
        assert cleared.json["contact_phone"] is None

    @pytest.mark.parametrize("change", [{"name": "Autre"}, {"status": "closed"},
                                        {"dimensions": ["connexion"]}])
    def test_admin_cannot_change_other_fields(self, client, net, change):
        body = assert_error(client.patch(f"/api/v1/relais/{net.bordeaux}", json=change,
                                         headers=net.admin), 403)
        assert list(body["errors"]) == list(change)

    @pytest.mark.parametrize("who", ["worker", "coach"])
    def test_other_roles_cannot_change(self, client, net, who):
        relais_id = net.bordeaux if who == "worker" else net.gap
        assert_error(client.patch(f"/api/v1/relais/{relais_id}", json={"contact_phone": "0"},
                                  headers=getattr(net, who)), 403)

    def test_invalid_change_is_422(self, client, net):
        body = assert_error(client.patch(f"/api/v1/relais/{net.gap}",
                                         json={"postcode": "9999", "colour": "red"},
                                         headers=net.national), 422)
        assert set(body["errors"]) == {"postcode", "colour"}


# --- lifecycle -----------------------------------------------------------------------


class TestLifecycle:
    """applied → active | rejected; active → suspended → active; active | suspended → closed;
    rejected and closed are final."""

    @staticmethod
    def _move(client, net, relais_id: int, status: str):
        return client.patch(f"/api/v1/relais/{relais_id}", json={"status": status},
                            headers=net.national)

    @pytest.mark.parametrize("decision", ["active", "rejected"])
    def test_an_application_is_approved_or_rejected(self, app, client, net, decision):
        with app.app_context():
            applicant = make_relais(status=RelaisStatus.APPLIED).id
        assert self._move(client, net, applicant, "suspended").status_code == 422
        response = self._move(client, net, applicant, decision)
        assert response.status_code == 200 and response.json["status"] == decision

    @pytest.mark.parametrize(("path", "final"), [
        (("rejected",), "rejected"), (("closed",), "closed"), (("suspended", "closed"), "closed"),
    ])
    def test_rejected_and_closed_are_final(self, app, client, net, path, final):
        with app.app_context():
            start = RelaisStatus.APPLIED if path[0] == "rejected" else RelaisStatus.ACTIVE
            relais_id = make_relais(status=start).id
        for status in path:
            assert self._move(client, net, relais_id, status).status_code == 200
        for status in ("applied", "active", "suspended", "rejected", "closed"):
            if status == final:
                continue
            body = assert_error(self._move(client, net, relais_id, status), 422)
            assert list(body["errors"]) == ["status"]
        assert client.get(f"/api/v1/relais/{relais_id}", headers=net.national).json["status"] == final

    def test_staff_of_a_closed_relais_are_shut_out_but_not_of_a_suspended_one(self, app, client, net):
        with app.app_context():
            relais = make_relais()
            worker = make_user(Role.RELAIS_WORKER, relais)
            relais_id, email, headers = relais.id, worker.email, bearer(worker)
        credentials = {"email": email, "password": PASSWORD}
        self._move(client, net, relais_id, "suspended")
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        assert client.post("/api/v1/auth/tokens", json=credentials).status_code == 201
        self._move(client, net, relais_id, "closed")
        assert_error(client.get("/api/v1/me", headers=headers), 401)
        assert_error(client.post("/api/v1/auth/tokens", json=credentials), 401)
