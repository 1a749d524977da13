"""Each request is its own unit of work, even when a test holds an app context."""

from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.tenancy import current_scope
from tests.factories import make_relais, make_user


def test_signed_in_client_and_separate_request_sessions(app_ctx, app):
    relais = make_relais()
    admin = make_user(Role.RELAIS_ADMIN, relais)
    response = app.test_client(user=admin).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json["relais"]["id"] == relais.id
    # The request bound its relais to its own session, not to the test's.
    assert not current_scope(db.session).is_bound


def test_a_failed_request_rolls_back_its_writes(app_ctx, app):
    relais = make_relais()
    admin = make_user(Role.RELAIS_ADMIN, relais)
    client = app.test_client(user=admin)
    response = client.post("/api/v1/relais", json={})
    assert response.status_code == 403
