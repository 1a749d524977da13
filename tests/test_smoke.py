from relais_platform.accounts.models import Role
from tests.factories import make_relais, make_user


def test_healthz_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_factories_create_relais_and_staff(app_ctx):
    relais = make_relais()
    user = make_user(Role.RELAIS_ADMIN, relais)
    assert user.relais_id == relais.id
