"""Coaching: coach assignment, coaching sessions with notes and next steps, custom milestones.

Notes are written to `coaching_notes`, a table relais staff cannot read (RLS); the services
only ever load them for coaches and the national team.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from relais_platform.accounts.models import Role, User
from relais_platform.audit import services as audit
from relais_platform.bounds import EVENT_WINDOW, in_window, window_message
from relais_platform.domain import Forbidden, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants.models import Relais
from relais_platform.training.models import (
    CoachingKind,
    CoachingNote,
    CoachingSession,
    CustomMilestone,
    NextStep,
)


def can_write(actor: User, relais: Relais) -> bool:
    return actor.role == Role.NATIONAL or (actor.role == Role.COACH and relais.coach_id == actor.id)


def can_read_notes(actor: User) -> bool:
    return actor.role in (Role.NATIONAL, Role.COACH)


def _require_writer(actor: User, relais: Relais) -> None:
    if not can_write(actor, relais):
        raise Forbidden(_("Seuls son coach et l'équipe nationale suivent ce relais."))


def assign_coach(relais: Relais, coach_id: int | None) -> None:
    """National: set (or clear, with None) the coach of a relais."""
    if coach_id is not None:
        coach = db.session.get(User, coach_id)
        if coach is None or coach.role != Role.COACH or not coach.active:
            raise ValidationFailed.field("coach_id", _("Choisissez un coach actif."))
    previous = relais.coach_id
    relais.coach_id = coach_id
    audit.record("coach_assigned", target=relais, relais_id=relais.id,
                 details={"from": previous, "to": coach_id})


def _parse_date(value: Any, key: str, errors: dict[str, list[str]]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        parsed = date.fromisoformat(str(value))
    except ValueError:
        errors.setdefault(key, []).append(_("Date invalide (AAAA-MM-JJ)."))
        return None
    if not in_window(parsed, EVENT_WINDOW):
        errors.setdefault(key, []).append(window_message(EVENT_WINDOW))
        return None
    return parsed


def create_coaching_session(actor: User, relais: Relais, data: Mapping[str, Any]) -> CoachingSession:
    _require_writer(actor, relais)
    errors: dict[str, list[str]] = {}
    held_on = _parse_date(data.get("date"), "date", errors)
    if held_on is None and "date" not in errors:
        errors["date"] = [_("Ce champ est obligatoire.")]
    try:
        kind = CoachingKind(str(data.get("kind")))
    except ValueError:
        errors["kind"] = [_("Choisissez visite, téléphone ou visio.")]
    steps = []
    for index, step in enumerate(data.get("next_steps") or []):
        text = (step.get("text") or "").strip()
        if not text:
            errors.setdefault(f"next_steps.{index}.text", []).append(_("Ce champ est obligatoire."))
        due = _parse_date(step.get("due_date"), f"next_steps.{index}.due_date", errors)
        steps.append((text, due, (step.get("owner") or "").strip() or None))
    if errors:
        raise ValidationFailed(errors)
    session = CoachingSession(relais_id=relais.id, held_on=held_on, kind=kind,
                              topics=(data.get("topics") or "").strip() or None, coach_id=actor.id)
    db.session.add(session)
    db.session.flush()
    notes = (data.get("notes") or "").strip()
    if notes:
        db.session.add(CoachingNote(coaching_session_id=session.id, relais_id=relais.id, text=notes))
    for text, due, owner in steps:
        db.session.add(NextStep(coaching_session=session, relais_id=relais.id, text=text,
                                due_date=due, owner=owner))
    db.session.flush()
    audit.record("coaching_session_logged", target=session, relais_id=relais.id,
                 details={"kind": kind.value, "next_steps": len(steps)})
    return session


def coaching_sessions(relais: Relais) -> list[CoachingSession]:
    return list(db.session.scalars(
        select(CoachingSession).where(CoachingSession.relais_id == relais.id)
        .order_by(CoachingSession.held_on.desc(), CoachingSession.id.desc())
    ))


def notes_for(actor: User, sessions: list[CoachingSession]) -> dict[int, str]:
    """Notes of these sessions for a coach or national user; nothing for anyone else."""
    if not can_read_notes(actor) or not sessions:
        return {}
    return dict(db.session.execute(
        select(CoachingNote.coaching_session_id, CoachingNote.text)
        .where(CoachingNote.coaching_session_id.in_([s.id for s in sessions]))
    ).tuples().all())


def set_next_step_done(actor: User, relais: Relais, step_id: int, done: bool) -> NextStep:
    _require_writer(actor, relais)
    step = db.session.scalar(select(NextStep).where(NextStep.id == step_id,
                                                    NextStep.relais_id == relais.id))
    if step is None:
        raise NotFound(_("Étape introuvable."))
    step.done_at = (step.done_at or utcnow()) if done else None
    audit.record("coaching_next_step_done" if done else "coaching_next_step_reopened",
                 target=step, relais_id=relais.id)
    return step


def add_milestone(actor: User, relais: Relais, data: Mapping[str, Any]) -> CustomMilestone:
    _require_writer(actor, relais)
    errors: dict[str, list[str]] = {}
    title = (data.get("title") or "").strip()
    if not title:
        errors["title"] = [_("Ce champ est obligatoire.")]
    due = _parse_date(data.get("due_date"), "due_date", errors)
    if errors:
        raise ValidationFailed(errors)
    milestone = CustomMilestone(relais_id=relais.id, title=title[:200], due_date=due,
                                created_by_id=actor.id)
    db.session.add(milestone)
    db.session.flush()
    audit.record("coaching_milestone_added", target=milestone, relais_id=relais.id)
    return milestone


def set_milestone_done(actor: User, relais: Relais, milestone_id: int, done: bool) -> CustomMilestone:
    _require_writer(actor, relais)
    milestone = db.session.scalar(select(CustomMilestone).where(
        CustomMilestone.id == milestone_id, CustomMilestone.relais_id == relais.id))
    if milestone is None:
        raise NotFound(_("Jalon introuvable."))
    milestone.done_at = (milestone.done_at or utcnow()) if done else None
    audit.record("coaching_milestone_done" if done else "coaching_milestone_reopened",
                 target=milestone, relais_id=relais.id)
    return milestone


def open_next_steps(relais_ids: list[int]) -> dict[int, list[NextStep]]:
    """Open next steps by relais, earliest due first (one query)."""
    result: dict[int, list[NextStep]] = {}
    for step in db.session.scalars(
        select(NextStep).where(NextStep.relais_id.in_(relais_ids), NextStep.done_at.is_(None))
        .order_by(NextStep.due_date.nulls_last(), NextStep.id)
    ):
        result.setdefault(step.relais_id, []).append(step)
    return result
