"""Training paths and training progress, per person and per relais.

A relais' path is its own list of required modules, or the network's core modules when it
has none. A module counts for the relais once at least one *active* staff member completed
it. Progress is computed set-based for any number of relais in one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import CompoundSelect, Select, and_, delete, exists, func, select, union_all

from relais_platform.accounts.models import User
from relais_platform.audit import services as audit
from relais_platform.domain import ValidationFailed
from relais_platform.extensions import db
from relais_platform.tenants.models import Relais
from relais_platform.training.models import TrainingModule, TrainingPathModule, TrainingRecord


@dataclass
class TrainingProgress:
    required: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    last_completed_at: datetime | None = None

    @property
    def percent(self) -> int:
        if not self.required:
            return 100
        return round(100 * len(self.completed) / len(self.required))


def required_modules(ids: Select) -> CompoundSelect:
    """(relais_id, module_id) of every required module of the relais in `ids`."""
    has_own_path = exists().where(TrainingPathModule.relais_id == Relais.id)
    core = (
        select(Relais.id.label("relais_id"), TrainingModule.id.label("module_id"))
        .join(TrainingModule, and_(TrainingModule.core.is_(True), TrainingModule.active.is_(True)))
        .where(Relais.id.in_(ids), ~has_own_path)
    )
    own = select(TrainingPathModule.relais_id, TrainingPathModule.module_id).where(
        TrainingPathModule.relais_id.in_(ids))
    return union_all(core, own)


def completed_modules(ids: Select) -> Select:
    """(relais_id, module_id, last completion) counting active staff only."""
    return (
        select(TrainingRecord.relais_id, TrainingRecord.module_id,
               func.max(TrainingRecord.completed_at).label("last_at"))
        .join(User, and_(User.id == TrainingRecord.user_id, User.active.is_(True)))
        .where(TrainingRecord.relais_id.in_(ids))
        .group_by(TrainingRecord.relais_id, TrainingRecord.module_id)
    )


def training_progress(ids: Select) -> dict[int, TrainingProgress]:
    required = required_modules(ids).subquery()
    completed = completed_modules(ids).subquery()
    rows = db.session.execute(
        select(required.c.relais_id, TrainingModule.code, completed.c.last_at)
        .join(TrainingModule, TrainingModule.id == required.c.module_id)
        .outerjoin(completed, and_(completed.c.relais_id == required.c.relais_id,
                                   completed.c.module_id == required.c.module_id))
        .order_by(required.c.relais_id, TrainingModule.position, TrainingModule.code)
    )
    result: dict[int, TrainingProgress] = {}
    for relais_id, code, last_at in rows:
        progress = result.setdefault(relais_id, TrainingProgress())
        progress.required.append(code)
        if last_at is not None:
            progress.completed.append(code)
            if progress.last_completed_at is None or last_at > progress.last_completed_at:
                progress.last_completed_at = last_at
    return result


def relais_progress(relais_id: int) -> TrainingProgress:
    return training_progress(select(Relais.id).where(Relais.id == relais_id)).get(
        relais_id, TrainingProgress())


@dataclass(frozen=True)
class PersonProgress:
    user_id: int
    name: str
    active: bool
    completed: list[str]


def people_progress(relais_id: int, required: Iterable[str]) -> list[PersonProgress]:
    """Each staff member's completed modules among the required ones (two queries)."""
    staff = list(db.session.scalars(
        select(User).where(User.relais_id == relais_id).order_by(User.active.desc(), User.name)))
    done: dict[int, set[str]] = {}
    for user_id, code in db.session.execute(
        select(TrainingRecord.user_id, TrainingModule.code)
        .join(TrainingModule, TrainingModule.id == TrainingRecord.module_id)
        .where(TrainingRecord.relais_id == relais_id)
    ):
        done.setdefault(user_id, set()).add(code)
    codes = list(required)
    return [PersonProgress(u.id, u.name, u.active, [c for c in codes if c in done.get(u.id, set())])
            for u in staff]


def set_path(relais: Relais, module_codes: list[str]) -> list[str]:
    """Replace the relais' required modules; an empty list goes back to the core modules."""
    codes = list(dict.fromkeys(c.strip().upper() for c in module_codes if c and c.strip()))
    modules = {m.code: m for m in db.session.scalars(
        select(TrainingModule).where(TrainingModule.code.in_(codes), TrainingModule.active.is_(True)))}
    unknown = [c for c in codes if c not in modules]
    if unknown:
        raise ValidationFailed.field("module_codes",
                                     _("Module inconnu : %(codes)s.", codes=", ".join(unknown)))
    db.session.execute(delete(TrainingPathModule).where(TrainingPathModule.relais_id == relais.id))
    for code in codes:
        db.session.add(TrainingPathModule(relais_id=relais.id, module_id=modules[code].id))
    db.session.flush()
    audit.record("training_path_set", target=relais, relais_id=relais.id, details={"modules": codes})
    return codes
