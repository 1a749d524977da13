"""The outbox pages: where national users read the e-mails the platform would have sent, when
no SMTP server is configured (quick start, demos)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_babel import gettext as _

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.models import Role
from relais_platform.mail import read_outbox

bp = Blueprint("mail", __name__, url_prefix="/outbox")


@bp.get("/")
@roles_required(Role.NATIONAL)
def outbox():
    if current_app.config["MAIL_SERVER"]:
        abort(404)
    return render_template("mail/outbox.html", messages=read_outbox(), title=_("Boîte d'envoi"))


@bp.get("/<message_id>")
@roles_required(Role.NATIONAL)
def message(message_id: str):
    found = next((m for m in read_outbox() if m["id"] == message_id), None)
    if current_app.config["MAIL_SERVER"] or found is None:
        abort(404)
    return render_template("mail/message.html", message=found, title=found["subject"])
