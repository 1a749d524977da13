"""The national catalogue: modules and their sessions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse

from flask_babel import gettext as _
from sqlalchemy import select

from relais_platform.accounts.models import Role, User
from relais_platform.audit import services as audit
from relais_platform.domain import Conflict, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.training.models import ModuleFormat, TrainingModule, TrainingSession

# The network's modules; the first three are the core of every relais' training path.
NETWORK_MODULES: list[dict[str, Any]] = [
    {
        "code": "M1-INCLUSION",
        "title": "Sensibilisation et compréhension de l'inclusion numérique",
        "duration_hours": Decimal("7"),
        "format": ModuleFormat.IN_PERSON,
        "objectives": "Comprendre les publics éloignés du numérique, les causes de l'exclusion "
                      "et le rôle d'un Relais Numérique.",
        "prerequisites": None,
        "core": True,
    },
    {
        "code": "M2-ACCOMPAGNEMENT",
        "title": "Pratiques d'accompagnement",
        "duration_hours": Decimal("7"),
        "format": ModuleFormat.IN_PERSON,
        "objectives": "Mener un diagnostic d'autonomie numérique, accompagner sans faire à la "
                      "place, orienter vers les bons dispositifs.",
        "prerequisites": "Module 1.",
        "core": True,
    },
    {
        "code": "M3-ATELIERS",
        "title": "Ateliers clés en main",
        "duration_hours": Decimal("3.5"),
        "format": ModuleFormat.REMOTE,
        "objectives": "Animer les ateliers thématiques du réseau (santé, emploi, sécurité, "
                      "démarches en ligne).",
        "prerequisites": "Modules 1 et 2.",
        "core": True,
    },
    {
        "code": "PLATEFORME",
        "title": "Utiliser la plateforme et l'offre de connexion solidaire",
        "duration_hours": Decimal("1.5"),
        "format": ModuleFormat.ELEARNING,
        "objectives": "Commander, recevoir et distribuer les cartes SIM, recharges et "
                      "équipements ; rendre compte chaque mois.",
        "prerequisites": None,
        "core": False,
    },
]


def list_modules(*, include_inactive: bool = False) -> list[TrainingModule]:
    stmt = select(TrainingModule).order_by(TrainingModule.position, TrainingModule.code)
    if not include_inactive:
        stmt = stmt.where(TrainingModule.active.is_(True))
    return list(db.session.scalars(stmt))


def module_by_code(code: str) -> TrainingModule | None:
    return db.session.scalar(select(TrainingModule).where(TrainingModule.code == code))


def save_module(data: Mapping[str, Any]) -> TrainingModule:
    """Create or update a module by code (national scope must be open)."""
    errors: dict[str, list[str]] = {}
    code = (data.get("code") or "").strip().upper()
    if not code:
        errors["code"] = [_("Ce champ est obligatoire.")]
    if not (data.get("title") or "").strip():
        errors["title"] = [_("Ce champ est obligatoire.")]
    try:
        # Stored to a tenth of an hour: what rounds to zero is no duration.
        hours = Decimal(str(data.get("duration_hours"))).quantize(Decimal("0.1"))
        if hours <= 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["duration_hours"] = [_("Indiquez une durée positive en heures.")]
    try:
        fmt = ModuleFormat(str(data.get("format")))
    except ValueError:
        errors["format"] = [_("Format inconnu.")]
    if errors:
        raise ValidationFailed(errors)
    module = module_by_code(code)
    if module is None:
        module = TrainingModule(code=code, position=len(list_modules(include_inactive=True)))
        db.session.add(module)
    module.title = data["title"].strip()
    module.duration_hours = hours
    module.format = fmt
    module.objectives = data.get("objectives")
    module.prerequisites = data.get("prerequisites")
    module.core = bool(data.get("core", module.core or False))
    module.active = bool(data.get("active", True))
    db.session.flush()
    audit.record("training_module_saved", target=module, details={"code": code})
    return module


def _valid_url(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def create_session(actor: User, data: Mapping[str, Any]) -> TrainingSession:
    """A national user publishes a session (national scope must be open)."""
    errors: dict[str, list[str]] = {}
    module = module_by_code(data.get("module_code") or "")
    if module is None or not module.active:
        errors["module_code"] = [_("Module inconnu.")]
    values = _session_values(data, errors)
    assert module is not None  # _session_values raised otherwise
    session = TrainingSession(module=module, created_by_id=actor.id, **values)
    db.session.add(session)
    db.session.flush()
    audit.record("training_session_created", target=session, details={"module": module.code})
    return session


def _session_values(data: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    """The dated and placed part of a session, checked (raises with `errors` and its own)."""
    starts_at: datetime | None = data.get("starts_at")
    ends_at: datetime | None = data.get("ends_at")
    for key, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is None:
            errors[key] = [_("Ce champ est obligatoire.")]
        elif value.tzinfo is None:
            errors[key] = [_("Indiquez le fuseau horaire (ex. 2026-03-02T09:00:00+01:00).")]
    if starts_at and ends_at and starts_at.tzinfo and ends_at.tzinfo and ends_at <= starts_at:
        errors["ends_at"] = [_("La fin doit suivre le début.")]
    capacity = data.get("capacity")
    if not isinstance(capacity, int) or capacity < 1:
        errors["capacity"] = [_("Indiquez un nombre de places d'au moins 1.")]
    location = (data.get("location") or "").strip() or None
    online_url = (data.get("online_url") or "").strip() or None
    if location is None and online_url is None:
        errors["location"] = [_("Indiquez un lieu ou un lien de connexion.")]
    if online_url and not _valid_url(online_url):
        errors["online_url"] = [_("Le lien doit commencer par https://.")]
    trainer_account = None
    if data.get("trainer_id"):
        trainer_account = db.session.get(User, data["trainer_id"])
        if (trainer_account is None or not trainer_account.active
                or trainer_account.role not in TRAINER_ROLES):
            errors["trainer_id"] = [_("Choisissez un compte actif de coach ou de l'équipe nationale.")]
    if errors:
        raise ValidationFailed(errors)
    trainer_name = (data.get("trainer") or "").strip() or None
    return {
        "starts_at": starts_at, "ends_at": ends_at, "capacity": capacity,
        "location": location, "online_url": online_url,
        "trainer": trainer_name or (trainer_account.name if trainer_account else None),
        "trainer_id": trainer_account.id if trainer_account else None,
    }


def update_session(session_id: int, data: Mapping[str, Any]) -> tuple[TrainingSession, bool]:
    """National: change a session before it starts; missing fields keep their value.

    Returns the session and whether its date or place changed (the enrolled are told).
    Capacity cannot go below the people already enrolled; a larger one promotes from the
    waiting list (the caller settles the seats).
    """
    session = get_session(session_id)
    if session.cancelled:
        raise Conflict(_("Cette session est annulée : elle ne peut plus changer."))
    if session.signed_off_at is not None or session.starts_at <= utcnow():
        raise Conflict(_("Cette session a déjà commencé : elle ne peut plus changer."))
    fields = ("starts_at", "ends_at", "capacity", "location", "online_url", "trainer", "trainer_id")
    current = {name: getattr(session, name) for name in fields}
    merged = {**current, **{k: v for k, v in data.items() if k in fields}}
    errors: dict[str, list[str]] = {}
    if merged["starts_at"] != current["starts_at"] and merged["starts_at"] is not None \
            and merged["starts_at"].tzinfo and merged["starts_at"] <= utcnow():
        errors["starts_at"] = [_("Choisissez une date à venir.")]
    values = _session_values(merged, errors)
    if values["capacity"] < session.enrolled_count:
        raise Conflict(_("%(n)s personnes sont déjà inscrites : la capacité ne peut pas être "
                         "inférieure.", n=session.enrolled_count))
    moved = any(values[k] != current[k] for k in ("starts_at", "ends_at", "location", "online_url"))
    for name, value in values.items():
        setattr(session, name, value)
    db.session.flush()
    audit.record("training_session_updated", target=session,
                 details={k: str(values[k]) for k in fields if values[k] != current[k]})
    return session, moved


# Who may be named trainer of a session (Emmaüs Connect staff).
TRAINER_ROLES = (Role.COACH, Role.NATIONAL)


def trainer_accounts() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role.in_(TRAINER_ROLES), User.active.is_(True))
        .order_by(User.name)))


def list_sessions(*, upcoming_only: bool = False, module_code: str | None = None) -> list[TrainingSession]:
    stmt = select(TrainingSession).order_by(TrainingSession.starts_at, TrainingSession.id)
    if upcoming_only:  # the sessions still open: to come, not cancelled
        stmt = stmt.where(TrainingSession.ends_at > utcnow(), TrainingSession.cancelled_at.is_(None))
    if module_code:
        stmt = stmt.join(TrainingModule).where(TrainingModule.code == module_code)
    return list(db.session.scalars(stmt))


def get_session(session_id: int) -> TrainingSession:
    session = db.session.get(TrainingSession, session_id)
    if session is None:
        raise NotFound(_("Session introuvable."))
    return session
