"""Web pages of the audit log: who looked at whom (relais admin), the network's events (national)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import distinct, select

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.models import Role, User
from relais_platform.audit import services as audit
from relais_platform.audit.labels import action_label, sort_key, target_label
from relais_platform.audit.models import AuditEntry
from relais_platform.audit.schemas import AuditFilterSchema
from relais_platform.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")

PAGE_SIZE = 50
_FILTERS = ("beneficiary_id", "user_id", "action", "from", "to")


def _filter_args() -> dict[str, str]:
    """The filters as typed (empty fields dropped), for the form and the links."""
    return {key: request.args[key].strip() for key in _FILTERS if (request.args.get(key) or "").strip()}


@bp.get("")
@roles_required(Role.RELAIS_ADMIN, Role.NATIONAL)
def log() -> tuple[str, int]:
    typed = _filter_args()
    try:
        filters = AuditFilterSchema().load(typed)["filters"]
    except ValidationError as exc:
        return _page(typed, None, errors=exc.normalized_messages()), 422
    page = db.paginate(audit.log_query(current_user, filters), page=request.args.get("page", 1, type=int),
                       per_page=PAGE_SIZE, max_per_page=PAGE_SIZE, error_out=False)
    return _page(typed, page, errors={}), 200


def _page(typed: dict[str, str], page, errors: dict) -> str:
    national = current_user.role == Role.NATIONAL
    team = [] if national else list(db.session.execute(
        select(User.id, User.name).where(User.relais_id == current_user.relais_id).order_by(User.name)))
    entries = list(page.items) if page is not None else []
    return render_template(
        "audit/log.html", page=page, entries=entries, names=audit.actor_names(entries), typed=typed,
        errors=errors, team=team, national=national, actions=_known_actions(national),
        action_label=action_label, target_label=target_label,
        title=_("Journal du réseau") if national else _("Journal d'audit"),
    )


def _known_actions(national: bool) -> list[tuple[str, str]]:
    """The filter's choices: (code, label), in the labels' alphabetical order."""
    if national:
        codes: list[str] = list(audit.NETWORK_ACTIONS | audit.NETWORK_LOGIN_ACTIONS)
    else:
        codes = list(db.session.scalars(select(distinct(AuditEntry.action)).where(
            AuditEntry.relais_id == current_user.relais_id)))
    choices = [(code, action_label(code)) for code in codes]
    return sorted(choices, key=lambda choice: (sort_key(choice[1]), choice[0]))


@bp.get("/export.csv")
@roles_required(Role.RELAIS_ADMIN, Role.NATIONAL)
def export() -> Response | tuple[str, int]:
    typed = _filter_args()
    try:
        filters = AuditFilterSchema().load(typed)["filters"]
    except ValidationError as exc:
        return _page(typed, None, errors=exc.normalized_messages()), 422
    return Response(audit.log_csv(current_user, filters), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="journal-audit.csv"',
                             "Cache-Control": "no-store"})
