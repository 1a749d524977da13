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


def _unavailable(*args, **kwargs):
    raise ConnectionError("down")


def test_healthz_names_the_database_when_it_fails(client, monkeypatch):
    from relais_platform.extensions import db

    monkeypatch.setattr(db.session, "execute", _unavailable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unavailable", "redis": "ok"}


def test_healthz_names_redis_when_it_fails(client, monkeypatch):
    from relais_platform import jobs

    class DeadRedis:
        ping = staticmethod(_unavailable)

    monkeypatch.setattr(jobs, "redis_connection", DeadRedis)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "ok", "redis": "unavailable"}
