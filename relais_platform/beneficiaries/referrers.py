"""Referring structures (« structures orienteuses »): each relais keeps its own list; a person
may name one, and the activity figures count people per kind of structure."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from relais_platform.audit import services as audit
from relais_platform.beneficiaries.models import REFERRER_KINDS, Referrer
from relais_platform.domain import Conflict, Forbidden, ValidationFailed
from relais_platform.extensions import db
from relais_platform.tenancy import current_scope

KIND_LABELS = {
    "ccas": _l("CCAS"), "cias": _l("CIAS"), "mds": _l("Maison départementale des solidarités"),
    "association": _l("Association"), "secours_populaire": _l("Secours populaire"),
    "restos_du_coeur": _l("Restos du Cœur"), "croix_rouge": _l("Croix-Rouge"), "cada": _l("CADA"),
    "chrs": _l("CHRS"), "accueil_de_jour": _l("Accueil de jour"), "centre_social": _l("Centre social"),
    "france_services": _l("France Services"), "cidff": _l("CIDFF"),
    "siae": _l("Structure d'insertion (SIAE)"), "pole_emploi": _l("France Travail (Pôle emploi)"),
    "mission_locale": _l("Mission locale"), "caf": _l("CAF"), "hospital": _l("Hôpital"),
    "school": _l("Établissement scolaire"), "other": _l("Autre structure"), "none": _l("Non renseignée"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def get(referrer_id: int) -> Referrer | None:
    return db.session.get(Referrer, referrer_id)


def all_referrers() -> list[Referrer]:
    return list(db.session.scalars(select(Referrer).order_by(Referrer.name, Referrer.id)))


def create(name: str | None, kind: str | None) -> Referrer:
    if current_scope(db.session).relais_id is None:
        raise Forbidden(_("Action réservée aux équipes des relais."))
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 200:
        errors["name"] = [_("Indiquez un nom (200 caractères au plus).")]
    if kind not in REFERRER_KINDS:
        errors["kind"] = [_("Choisissez un type de structure de la liste.")]
    if errors:
        raise ValidationFailed(errors)
    referrer = Referrer(name=name, kind=kind)
    try:
        # Inside a savepoint: a duplicate name rolls back this insert only.
        with db.session.begin_nested():
            db.session.add(referrer)
            db.session.flush()
    except IntegrityError:
        message = _("Une structure porte déjà ce nom.")
        raise Conflict(message, {"name": [message]}) from None
    audit.record("referrer_created", target=referrer, details={"kind": kind})
    return referrer
