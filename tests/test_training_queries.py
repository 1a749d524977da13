"""The coach dashboard and the national progress table cost the same queries for 20 or 2,000 relais."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, insert, select

from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.tenants.models import Relais
from tests.factories import relais_data
from tests.training_helpers import login_as, make_user, training_world


@contextmanager
def counting(app) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _add_relais(app, coach_id: int, count: int) -> None:
    """Bulk relais in the coach's portfolio, each with staff (a single INSERT per table)."""
    with app.app_context():
        rows = []
        for _ in range(count):
            data = relais_data()
            rows.append({**data, "departement": "33", "status": "active", "coach_id": coach_id,
                         "kind": "association"})
        ids = db.session.scalars(insert(Relais).returning(Relais.id), rows).all()
        db.session.commit()
        for relais_id in ids[:3]:
            make_user(Role.RELAIS_WORKER, db.session.get(Relais, relais_id))
        db.session.remove()


@pytest.fixture
def w(app):
    with app.app_context():
        world = training_world()
        db.session.remove()
    return world


@pytest.mark.parametrize("path,who", [("/coaching/", "coach"), ("/coaching/network", "national")])
def test_dashboards_use_a_bounded_number_of_queries(app, w, path, who):
    client = login_as(app, getattr(w, who))
    counts = []
    for total in (20, 2000):
        with app.app_context():
            present = len(db.session.scalars(select(Relais.id).where(Relais.coach_id == w.coach)).all())
        _add_relais(app, w.coach, total - present)
        client.get(path)  # warm-up: first-request work does not count
        with counting(app) as statements:
            response = client.get(path)
        assert response.status_code == 200
        assert response.get_data(as_text=True).count("<progress") >= 2 * total
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 20


def test_portfolio_api_uses_a_bounded_number_of_queries(app, w):
    headers = w.h["coach"]
    client = app.test_client()
    counts = []
    for extra in (20, 1980):
        _add_relais(app, w.coach, extra)
        with counting(app) as statements:
            assert client.get("/api/v1/coaching/portfolio", headers=headers).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
