"""Workshop themes: a national list (the seeds' themes, plus those the national team adds).

A theme in use is never deleted (the sessions that name it keep their history): it is
retired, and retired themes are no longer offered for new sessions.
"""

from __future__ import annotations

import re

from flask import g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from relais_platform.audit import services as audit
from relais_platform.audit.services import network_access
from relais_platform.beneficiaries.models import AccompanimentSession, Theme
from relais_platform.domain import Conflict, Forbidden, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenancy import current_scope

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
# The seeded themes speak the interface's language; themes added later keep their label.
SEEDED_LABELS = {
    "health": _l("Santé"), "employment": _l("Emploi"), "security": _l("Sécurité"),
    "administration": _l("Démarches administratives"), "shopping": _l("Achats en ligne"),
    "communication": _l("Communication"), "parenting": _l("Parentalité"),
    "responsible_digital": _l("Numérique responsable"), "culture_leisure": _l("Culture et loisirs"),
    "digital_education": _l("Éducation au numérique"), "other": _l("Autre thème"),
}


def national_scope(reason: str) -> None:
    """The list is the national team's: its changes run under the audited '*' scope."""
    scope = current_scope(db.session)
    if scope.is_bound:
        raise Forbidden(_("Action réservée à l'équipe nationale."))
    if not scope.all_relais:
        network_access(None, reason=reason)


def label_of(theme: Theme) -> str:
    return str(SEEDED_LABELS.get(theme.code, theme.label))


def all_themes(*, include_retired: bool = True) -> list[Theme]:
    stmt = select(Theme).order_by(Theme.retired_at.is_not(None), Theme.id)
    if not include_retired:
        stmt = stmt.where(Theme.retired_at.is_(None))
    return list(db.session.scalars(stmt))


def labels() -> dict[str, str]:
    """code → label, read once per request (pages list many sessions)."""
    if "theme_labels" not in g:
        g.theme_labels = {t.code: label_of(t) for t in all_themes()}
    return g.theme_labels


def active_code(value: str | None, field: str = "theme") -> str | None:
    """The theme code of a new or changed session: an active theme, or none."""
    if value in (None, ""):
        return None
    theme = db.session.scalar(select(Theme).where(Theme.code == value))
    if theme is None or theme.retired:
        raise ValidationFailed.field(field, _("Choisissez un thème de la liste."))
    return theme.code


def create(code: str | None, label: str | None) -> Theme:
    national_scope("thèmes d'accompagnement : ajout")
    code, label = (code or "").strip().lower(), (label or "").strip()
    errors: dict[str, list[str]] = {}
    if not _CODE.match(code):
        errors["code"] = [_("Un code de 2 à 32 caractères : lettres minuscules, chiffres et « _ ».")]
    elif db.session.scalar(select(exists().where(Theme.code == code))):
        errors["code"] = [_("Ce code existe déjà.")]
    if not label or len(label) > 120:
        errors["label"] = [_("Indiquez un libellé (120 caractères au plus).")]
    if errors:
        raise ValidationFailed(errors)
    theme = Theme(code=code, label=label)
    db.session.add(theme)
    db.session.flush()
    audit.record("theme_created", target=theme, details={"code": code})
    return theme


def get(theme_id: int) -> Theme:
    theme = db.session.get(Theme, theme_id)
    if theme is None:
        raise NotFound(_("Thème introuvable."))
    return theme


def in_use(theme: Theme) -> bool:
    # Sessions of every relais: the national scope is open (a count, never a row read).
    return bool(db.session.scalar(select(exists().where(AccompanimentSession.theme == theme.code))))


def delete(theme_id: int) -> None:
    national_scope("thèmes d'accompagnement : suppression")
    theme = get(theme_id)
    if in_use(theme):
        raise Conflict(_("Ce thème est utilisé par des séances : il ne peut pas être supprimé, "
                         "seulement retiré."), {"theme": [_("Thème utilisé : retirez-le.")]})
    audit.record("theme_deleted", target=theme, details={"code": theme.code})
    db.session.delete(theme)
    db.session.flush()


def set_retired(theme_id: int, retired: bool) -> Theme:
    national_scope("thèmes d'accompagnement : retrait")
    theme = get(theme_id)
    if retired != theme.retired:
        theme.retired_at = utcnow() if retired else None
        db.session.flush()
        audit.record("theme_retired" if retired else "theme_restored", target=theme,
                     details={"code": theme.code})
    return theme
