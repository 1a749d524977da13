"""What the stock pages share: role groups, page sizes, the `euros` filter, error messages.

Every route taking an order id first checks the role family (coaches: 403), then looks the
order up through the session's scope (another relais' order: 404), and only then checks the
action's own role (403), so that a 403 never confirms that another relais' order exists.
Refused actions re-render their page with the services' messages; the request rolls back."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from flask import abort, request
from flask_babel import format_currency
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from relais_platform.accounts.models import Role, User
from relais_platform.domain import DomainError, ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.blueprints import stock_bp as bp

NATIONAL = (Role.NATIONAL,)
RELAIS_STAFF = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)
READERS = (Role.NATIONAL, *RELAIS_STAFF)
ORDERING = (Role.NATIONAL, Role.RELAIS_ADMIN)
PAGE_SIZE = 25
UNITS_PAGE_SIZE = 50
Page = BaseResponse | tuple[str, int] | str


@bp.app_template_filter("euros")
def euros(cents: int | None) -> str:
    return "—" if cents is None else format_currency(cents / 100, "EUR")


# History notes the platform writes itself (in French, whoever triggered them): shown in the
# reader's language. Anything else is a person's own words, shown as typed.
_SYSTEM_NOTES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"Paiement reçu\."), lambda m: _("Paiement reçu.")),
    (re.compile(r"Livraison de démonstration"), lambda m: _("Livraison de démonstration")),
    (re.compile(r"distribution (\d+)"), lambda m: _("Distribution n° %(id)d", id=int(m[1]))),
    (re.compile(r"distribution (\d+) cancelled"),
     lambda m: _("Distribution n° %(id)d annulée", id=int(m[1]))),
    (re.compile(r"(?:Expédition|Shipment) (?:de la commande n°|of order no\.) (\d+)"),
     lambda m: _("Expédition de la commande n° %(id)d", id=int(m[1]))),
    (re.compile(r"(?:Réception de la commande n°|Receipt of order no\.) (\d+)"),
     lambda m: _("Réception de la commande n° %(id)d", id=int(m[1]))),
    (re.compile(r"(?:Annulation de la commande n°|Cancellation of order no\.) (\d+)"),
     lambda m: _("Annulation de la commande n° %(id)d", id=int(m[1]))),
    (re.compile(r"(?:Allocation de la commande n°|Allocation of order no\.) (\d+)"),
     lambda m: _("Allocation de la commande n° %(id)d", id=int(m[1]))),
]


@bp.app_template_filter("history_note")
def history_note(note: str | None) -> str:
    for pattern, translate in _SYSTEM_NOTES:
        match = pattern.fullmatch(note or "")
        if match:
            return translate(match)
    return note or ""


def page_number() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def error_messages(exc: DomainError) -> list[str]:
    """What to show for a refused action. Some 409s carry the bare sku as their error; the
    message already names it."""
    keyed = [message for key, messages in exc.errors.items() for message in messages if message != key]
    if isinstance(exc, ValidationFailed) and keyed:
        return list(dict.fromkeys(keyed))
    return list(dict.fromkeys([exc.message, *keyed]))


def require_role(*roles: Role) -> None:
    if current_user.role not in roles:
        abort(403)


def is_national() -> bool:
    return current_user.role == Role.NATIONAL


def discard_refused() -> None:
    # The request rolls the refused action back at its end; do it now, so that the page
    # re-rendered below shows the stored state rather than half-made changes.
    db.session.rollback()


def posted_lines(prefix: str, keys: Iterable[str]) -> dict[str, str]:
    return {key: request.form.get(f"{prefix}-{key}", "") for key in keys}


def actor_names(actor_ids: Iterable[int | None]) -> dict[int, str]:
    ids = sorted({actor_id for actor_id in actor_ids if actor_id is not None})
    if not ids:
        return {}
    # A relais session sees its own members only: other actors are the national team.
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).tuples().all())


def form_int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None
