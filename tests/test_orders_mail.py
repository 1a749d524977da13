"""Order e-mails reach the outbox once the job queues run (real Redis, real RQ worker)."""

from __future__ import annotations

import pytest
from rq import SimpleWorker

from relais_platform import jobs, mail
from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.stock.orders import services as orders
from relais_platform.stock.orders.models import OrderStatus
from relais_platform.stock.scope import national_scope
from relais_platform.tenants.models import Relais
from tests.factories import make_orders_world, make_user


@pytest.fixture
def world(app):
    with app.app_context():
        world = make_orders_world()
        make_user(Role.NATIONAL, email="logistique@emmaus-connect.org")
        make_user(Role.RELAIS_ADMIN, db.session.get(Relais, world.relais_id),
                  email="referente@bastide.org")
        db.session.remove()
    return world


def _run_queues(app) -> list[dict]:
    with app.app_context():
        SimpleWorker([jobs.queue("default"), jobs.queue("mail")],
                     connection=jobs.redis_connection()).work(burst=True)
        return mail.read_outbox()


def test_order_emails_on_submission_allocation_and_shipment(app, client, world):
    order_id = client.post("/api/v1/orders", headers=world.admin,
                           json={"lines": [{"sku": "SIM-1", "quantity": 2}]}).json["id"]
    assert _run_queues(app) == []  # a draft tells no one
    client.post(f"/api/v1/orders/{order_id}/submit", headers=world.admin)
    submitted = _run_queues(app)
    national = [m for m in submitted if m["to"] == "logistique@emmaus-connect.org"]
    assert len(national) == 1 and f"n° {order_id}" in national[0]["subject"]
    assert "SIM-1" in national[0]["body"] and "Relais Bastide" in national[0]["body"]
    assert not any(m["to"] == "referente@bastide.org" for m in submitted)

    client.post(f"/api/v1/orders/{order_id}/allocation", headers=world.national,
                json={"lines": [{"sku": "SIM-1", "quantity": 2}]})
    due = [m for m in _run_queues(app) if m["to"] == "referente@bastide.org"]
    assert len(due) == 1 and "paiement" in due[0]["subject"]
    assert "2,00" in due[0]["body"] and "virement" in due[0]["body"]

    with app.app_context():
        national_scope("test")
        orders.transition(orders.get_order(order_id, lock=True), OrderStatus.PAID)
        db.session.commit()
    client.post(f"/api/v1/orders/{order_id}/shipment", headers=world.national, json={})
    shipped = [m for m in _run_queues(app)
               if m["to"] == "referente@bastide.org" and "expédiée" in m["subject"]]
    assert len(shipped) == 1
    assert shipped[0]["attachments"] == [f"bon-de-livraison-{order_id}.pdf"]


def test_no_email_when_the_request_fails(app, client, world):
    order_id = client.post("/api/v1/orders", headers=world.admin,
                           json={"lines": [{"sku": "REC-1", "quantity": 2}]}).json["id"]
    client.post(f"/api/v1/orders/{order_id}/submit", headers=world.admin)
    _run_queues(app)
    refused = client.post(f"/api/v1/orders/{order_id}/allocation", headers=world.national,
                          json={"lines": [{"sku": "REC-1", "quantity": 3}]})
    assert refused.status_code == 422
    with app.app_context():
        assert (jobs.queue("default").count, jobs.queue("mail").count) == (0, 0)


def test_delivery_note_lists_lines_and_serials(app, client, world):
    from relais_platform.stock.orders import delivery_note

    order_id = client.post("/api/v1/orders", headers=world.admin,
                           json={"lines": [{"sku": "SIM-1", "quantity": 2},
                                           {"sku": "REC-1", "quantity": 3}]}).json["id"]
    client.post(f"/api/v1/orders/{order_id}/submit", headers=world.admin)
    early = client.get(f"/api/v1/orders/{order_id}/delivery-note", headers=world.admin)
    assert early.status_code == 409
    client.post(f"/api/v1/orders/{order_id}/allocation", headers=world.national,
                json={"lines": [{"sku": "SIM-1", "quantity": 2}, {"sku": "REC-1", "quantity": 3}]})
    with app.app_context():
        national_scope("test")
        orders.transition(orders.get_order(order_id, lock=True), OrderStatus.PAID)
        db.session.commit()
    client.post(f"/api/v1/orders/{order_id}/shipment", headers=world.national,
                json={"lines": [{"sku": "SIM-1", "serials": world.serials[3:5]}]})
    with app.app_context(), app.test_request_context():
        national_scope("test")
        html = delivery_note.render_html(orders.get_order(order_id))
        pdf = delivery_note.render_pdf(orders.get_order(order_id))
    assert all(serial in html for serial in world.serials[3:5])
    assert world.serials[0] not in html
    assert "SIM-1" in html and "REC-1" in html and "Relais Bastide" in html
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
