"""A relais' progress (milestones, training, last activity, alerts), for one or many relais.

`overview` runs a fixed number of queries whatever the number of relais: the coach
dashboard, the national progress table and the weekly digest all go through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select

from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants.models import Relais
from relais_platform.training.alerts import (
    Alert,
    no_activity_since,
    open_alerts,
    training_stalled_since,
)
from relais_platform.training.milestones import MILESTONES, last_activity, milestone_dates
from relais_platform.training.models import CustomMilestone
from relais_platform.training.paths import TrainingProgress, training_progress


@dataclass(frozen=True)
class Milestone:
    code: str
    label: str
    done_at: datetime | None
    due_date: date | None = None
    custom_id: int | None = None


@dataclass
class RelaisOverview:
    relais: Relais
    milestones: list[Milestone] = field(default_factory=list)
    training: TrainingProgress = field(default_factory=TrainingProgress)
    last_activity_at: datetime | None = None
    alerts: list[Alert] = field(default_factory=list)

    @property
    def milestones_done(self) -> int:
        return sum(1 for m in self.milestones if m.done_at is not None)

    @property
    def milestones_percent(self) -> int:
        return round(100 * self.milestones_done / len(self.milestones)) if self.milestones else 100

    def as_dict(self) -> dict[str, Any]:
        """The API shape of GET /api/v1/relais/<id>/progress."""
        return {
            "relais_id": self.relais.id,
            "milestones": [
                {"code": m.code, "label": m.label, "done_at": m.done_at,
                 **({"due_date": m.due_date} if m.custom_id is not None else {})}
                for m in self.milestones
            ],
            "training": {"required": self.training.required, "completed": self.training.completed,
                         "percent": self.training.percent},
            "last_activity_at": self.last_activity_at,
            "alerts": [{"code": a.code, "since": a.since, "label": a.label, "detail": a.detail}
                       for a in self.alerts],
        }


def overview(relais_stmt: Select, now: datetime | None = None) -> list[RelaisOverview]:
    """Progress of the relais `relais_stmt` selects (a SELECT of Relais), in its order."""
    now = now or utcnow()
    relais_list = list(db.session.scalars(relais_stmt))
    ids = select(relais_stmt.subquery().c.id)
    reached = milestone_dates(ids)
    custom: dict[int, list[CustomMilestone]] = {}
    for row in db.session.scalars(
        select(CustomMilestone).where(CustomMilestone.relais_id.in_(ids))
        .order_by(CustomMilestone.due_date.nulls_last(), CustomMilestone.id)
    ):
        custom.setdefault(row.relais_id, []).append(row)
    training = training_progress(ids)
    activity = last_activity(ids)
    alerts = open_alerts(ids, now)
    labels = {code: str(source.label) for code, source in MILESTONES.items()}  # translated once
    result = []
    for relais in relais_list:
        done = reached.get(relais.id, {})
        milestones = [Milestone(code, label, done.get(code)) for code, label in labels.items()]
        milestones += [Milestone(f"custom-{m.id}", m.title, m.done_at, m.due_date, m.id)
                       for m in custom.get(relais.id, [])]
        progress = training.get(relais.id, TrainingProgress())
        last_at = activity.get(relais.id)
        relais_alerts = list(alerts.get(relais.id, []))
        for code, since in (("no_activity", no_activity_since(relais, last_at, now)),
                            ("training_stalled", training_stalled_since(relais, progress, now))):
            if since is not None:
                relais_alerts.append(Alert(code, since))
        relais_alerts.sort(key=lambda a: (a.since, a.code))
        result.append(RelaisOverview(
            relais=relais, milestones=milestones, training=progress,
            last_activity_at=last_at, alerts=relais_alerts,
        ))
    return result


def relais_overview(relais: Relais, now: datetime | None = None) -> RelaisOverview:
    return overview(select(Relais).where(Relais.id == relais.id), now)[0]
