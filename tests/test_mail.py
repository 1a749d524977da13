"""E-mail: outbox files, SMTP delivery (a real local SMTP server), the national-only outbox."""

from __future__ import annotations

import socket
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker

from relais_platform import jobs, mail
from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db, login_manager
from relais_platform.tenants import services as tenants
from tests.factories import make_relais, make_user

MESSAGE = {
    "to": "claire@example.org",
    "subject": "Votre commande est expédiée",
    "body": "Bonjour Claire,\nvotre commande part aujourd'hui.",
    "attachments": [("bon.csv", "text/csv", b"ref;qte\nSIM;10\n")],
}


def parse(path: Path):
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


def test_deliver_files_the_message_in_the_outbox(app, app_ctx):
    name = mail.deliver(MESSAGE)

    parsed = parse(Path(app.config["MAIL_OUTBOX"]) / name)
    assert parsed["To"] == "claire@example.org"
    assert parsed["Subject"] == "Votre commande est expédiée"
    assert parsed["From"] == app.config["MAIL_SENDER"]
    assert "votre commande part aujourd'hui" in parsed.get_body(("plain",)).get_content()
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "bon.csv"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_content() == "ref;qte\nSIM;10\n"


def test_send_delivers_through_the_mail_queue_after_commit(app, app_ctx):
    mail.send(MESSAGE["to"], MESSAGE["subject"], MESSAGE["body"])
    db.session.commit()

    with app.app_context():
        SimpleWorker([jobs.queue("mail")], connection=jobs.redis_connection()).work(burst=True)

    [message] = mail.read_outbox()
    assert message["subject"] == MESSAGE["subject"]
    assert message["to"] == MESSAGE["to"]


class Recorder:
    """aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(app, monkeypatch):
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    yield recorder
    controller.stop()


def test_deliver_uses_smtp_when_a_server_is_configured(app, app_ctx, smtp_server):
    assert mail.deliver(MESSAGE) == "smtp"

    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["claire@example.org"]
    received = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
    assert received["Subject"] == "Votre commande est expédiée"
    assert [part.get_filename() for part in received.iter_attachments()] == ["bon.csv"]
    assert not Path(app.config["MAIL_OUTBOX"]).is_dir() or not mail.read_outbox()


# --- the outbox pages ------------------------------------------------------------------


def signed_in(app: Flask, user: User) -> FlaskClient:
    """A browser signed in as `user`, fingerprint included (flask-login's "strong" mode)."""
    client = app.test_client(user=user)
    with app.test_request_context(environ_base=client.environ_base):
        fingerprint = login_manager._session_identifier_generator()
    with client.session_transaction() as sess:
        sess["_id"] = fingerprint
    return client


def test_outbox_is_shown_to_national_users(app, app_ctx):
    mail.deliver(MESSAGE)
    [filed] = mail.read_outbox()
    national = make_user(Role.NATIONAL)

    with signed_in(app, national) as client:
        listing = client.get("/outbox/")
        detail = client.get(f"/outbox/{filed['id']}")
        missing = client.get("/outbox/no-such-message")

    assert listing.status_code == 200
    assert "Votre commande est expédiée" in listing.get_data(as_text=True)
    assert detail.status_code == 200
    assert "votre commande part aujourd" in detail.get_data(as_text=True)
    assert missing.status_code == 404


@pytest.mark.parametrize("role", [Role.COACH, Role.RELAIS_ADMIN, Role.RELAIS_WORKER])
def test_outbox_is_forbidden_to_other_roles(app, app_ctx, role):
    mail.deliver(MESSAGE)
    [filed] = mail.read_outbox()
    relais = make_relais() if role.is_relais_role else None
    user = make_user(role, relais)
    if relais is not None:
        tenants.accept_terms(relais, user)  # else a relais admin is sent to the terms first
        db.session.commit()

    with signed_in(app, user) as client:
        assert client.get("/outbox/").status_code == 403
        assert client.get(f"/outbox/{filed['id']}").status_code == 403


def test_outbox_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get("/outbox/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_outbox_is_gone_when_mail_goes_through_smtp(app, app_ctx, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")
    national = make_user(Role.NATIONAL)
    with signed_in(app, national) as client:
        assert client.get("/outbox/").status_code == 404
