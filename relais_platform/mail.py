"""E-mail: rendered in the request (its language), delivered by a job after commit.

With `MAIL_SERVER` set, messages go through SMTP; otherwise (the embedded quick start) they
are written as .eml files to the instance outbox, which the national team can browse.
"""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from flask import current_app, render_template, url_for
from rq import Retry

from relais_platform import jobs
from relais_platform.orm import utcnow


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link for an e-mail, on the public base URL (not the request's host)."""
    path = url_for(endpoint, **values)
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


# Set while the demo loader writes history: e-mails about events long past are not sent.
_silenced: ContextVar[bool] = ContextVar("mail_silenced", default=False)


@contextmanager
def silenced() -> Iterator[None]:
    token = _silenced.set(True)
    try:
        yield
    finally:
        _silenced.reset(token)


def is_silenced() -> bool:
    return _silenced.get()


def send(
    to: str,
    subject: str,
    body: str,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> None:
    """Queue a message; it leaves only if the current transaction commits."""
    if _silenced.get():
        return
    message = {
        "to": to,
        "subject": subject,
        "body": body,
        "attachments": [(name, mime, data) for name, mime, data in attachments or []],
    }
    jobs.enqueue_after_commit(
        deliver, message, queue_name="mail", retry=Retry(max=5, interval=[10, 60, 300, 900, 3600])
    )


def send_template(to: str, subject: str, template: str, attachments=None, **context: Any) -> None:
    send(to, subject, render_template(template, **context), attachments)


def _build(message: dict[str, Any]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = message["to"]
    msg["Subject"] = message["subject"]
    msg["Date"] = utcnow().strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg["Message-ID"] = f"<{uuid.uuid4()}@relais-numerique>"
    msg.set_content(message["body"])
    for name, mime, data in message["attachments"]:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def deliver(message: dict[str, Any]) -> str:
    """Job: send one message (SMTP) or file it in the outbox. Retried with backoff."""
    msg = _build(message)
    config = current_app.config
    if config["MAIL_SERVER"]:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(msg)
        return "smtp"
    folder = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
    (folder / name).write_bytes(msg.as_bytes(policy=policy.SMTP))
    return name


def outbox_dir() -> Path:
    return Path(current_app.config["MAIL_OUTBOX"] or Path(current_app.instance_path) / "outbox")


def read_outbox() -> list[dict[str, Any]]:
    folder = outbox_dir()
    if not folder.is_dir():
        return []
    messages = []
    for path in sorted(folder.glob("*.eml"), reverse=True):
        parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        body = parsed.get_body(preferencelist=("plain",))
        messages.append({
            "id": path.stem,
            "to": parsed["To"],
            "subject": parsed["Subject"],
            "date": parsed["Date"].datetime if parsed["Date"] else None,
            "body": body.get_content() if body else "",
            "attachments": [part.get_filename() for part in parsed.iter_attachments()],
        })
    return messages
