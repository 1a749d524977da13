"""API schemas for training and coaching (paths and field names are a published contract)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from relais_platform.bounds import INT64_MAX, years
from relais_platform.training.models import CoachingKind, ModuleFormat


class TrainingModuleSchema(Schema):
    code = fields.String(required=True)
    title = fields.String(required=True)
    duration_hours = fields.Float(required=True)
    format = fields.Enum(ModuleFormat, by_value=True, required=True)
    objectives = fields.String(allow_none=True)
    prerequisites = fields.String(allow_none=True)
    core = fields.Boolean()
    active = fields.Boolean()


class TrainingSessionInSchema(Schema):
    module_code = fields.String(load_default=None)
    starts_at = fields.AwareDateTime(load_default=None, validate=years())
    ends_at = fields.AwareDateTime(load_default=None, validate=years())
    capacity = fields.Integer(load_default=None, strict=True)
    location = fields.String(load_default=None, allow_none=True)
    online_url = fields.String(load_default=None, allow_none=True)
    trainer = fields.String(load_default=None, allow_none=True)
    trainer_id = fields.Integer(load_default=None, allow_none=True, strict=True)


class TrainingSessionPatchSchema(Schema):
    """Only the fields sent change."""

    starts_at = fields.AwareDateTime(validate=years())
    ends_at = fields.AwareDateTime(validate=years())
    capacity = fields.Integer(strict=True)
    location = fields.String(allow_none=True)
    online_url = fields.String(allow_none=True)
    trainer = fields.String(allow_none=True)
    trainer_id = fields.Integer(allow_none=True, strict=True)


class TrainingSessionSchema(Schema):
    id = fields.Integer()
    module_code = fields.Function(lambda s: s.module.code)
    module_title = fields.Function(lambda s: s.module.title)
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    location = fields.String(allow_none=True)
    online_url = fields.String(allow_none=True)
    trainer = fields.String(allow_none=True)
    trainer_id = fields.Integer(allow_none=True)
    capacity = fields.Integer()
    enrolled_count = fields.Integer()
    waitlisted_count = fields.Integer()
    seats_left = fields.Integer()
    signed_off_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)


class TrainingSessionCancelInSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                           metadata={"description": "Motif, repris dans l'e-mail aux inscrits."})


class TrainingSessionListArgs(Schema):
    upcoming = fields.Boolean(load_default=False,
                              metadata={"description": "Sessions ouvertes : à venir, non annulées."})
    module_code = fields.String(load_default=None)


class TrainingEnrolmentInSchema(Schema):
    user_id = fields.Integer(required=True)


class TrainingEnrolmentSchema(Schema):
    id = fields.Integer()
    session_id = fields.Integer()
    user_id = fields.Integer()
    user_name = fields.Function(lambda e: e.user.name)
    relais_id = fields.Integer()
    status = fields.Function(lambda e: e.status.value)
    waitlist_position = fields.Integer(allow_none=True)
    present = fields.Boolean(allow_none=True)


class TrainingAttendanceInSchema(Schema):
    user_id = fields.Integer(required=True)
    present = fields.Boolean(required=True)


class TrainingAttendanceSchema(Schema):
    session_id = fields.Integer()
    user_id = fields.Integer()
    present = fields.Boolean(allow_none=True)


class TrainingSignOffInSchema(Schema):
    trainer = fields.String(load_default=None, allow_none=True)


class TrainingSurveyInSchema(Schema):
    rating = fields.Integer(required=True, strict=True)
    comment = fields.String(load_default=None, allow_none=True)


class TrainingSurveySchema(Schema):
    id = fields.Integer()
    record_id = fields.Integer()
    rating = fields.Integer()
    comment = fields.String(allow_none=True)
    submitted_at = fields.DateTime()


class TrainingRecordSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    module_code = fields.Function(lambda r: r.module.code)
    module_title = fields.Function(lambda r: r.module.title)
    session_id = fields.Integer()
    completed_at = fields.DateTime()


class TrainingExportArgs(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))


class RelaisCoachInSchema(Schema):
    coach_id = fields.Integer(required=True, allow_none=True)


class RelaisCoachSchema(Schema):
    relais_id = fields.Integer()
    coach_id = fields.Integer(allow_none=True)


class RelaisMilestoneSchema(Schema):
    code = fields.String()
    label = fields.String()
    done_at = fields.DateTime(allow_none=True)
    due_date = fields.Date()


class RelaisTrainingSummarySchema(Schema):
    required = fields.List(fields.String())
    completed = fields.List(fields.String())
    percent = fields.Integer()


class RelaisAlertSchema(Schema):
    code = fields.String()
    since = fields.Date()
    label = fields.String()
    detail = fields.String(allow_none=True)


class RelaisProgressSchema(Schema):
    relais_id = fields.Integer()
    milestones = fields.List(fields.Nested(RelaisMilestoneSchema))
    training = fields.Nested(RelaisTrainingSummarySchema)
    last_activity_at = fields.DateTime(allow_none=True)
    alerts = fields.List(fields.Nested(RelaisAlertSchema))


class TrainingPersonProgressSchema(Schema):
    user_id = fields.Integer()
    name = fields.String()
    active = fields.Boolean()
    completed = fields.List(fields.String())


class TrainingPathInSchema(Schema):
    module_codes = fields.List(fields.String(), required=True)


class TrainingPathSchema(Schema):
    module_codes = fields.List(fields.String())


class CoachingNextStepInSchema(Schema):
    text = fields.String(load_default=None)
    due_date = fields.String(load_default=None, allow_none=True)
    owner = fields.String(load_default=None, allow_none=True)


class CoachingNextStepSchema(Schema):
    id = fields.Integer()
    text = fields.String()
    owner = fields.String(allow_none=True)
    due_date = fields.Date(allow_none=True)
    done = fields.Boolean()


class CoachingSessionInSchema(Schema):
    date = fields.String(load_default=None)
    kind = fields.String(load_default=None, validate=validate.OneOf([k.value for k in CoachingKind]))
    topics = fields.String(load_default=None, allow_none=True)
    notes = fields.String(load_default=None, allow_none=True)
    next_steps = fields.List(fields.Nested(CoachingNextStepInSchema), load_default=list)


class CoachingSessionSchema(Schema):
    id = fields.Integer()
    date = fields.Date(attribute="held_on")
    kind = fields.Function(lambda s: s.kind.value)
    topics = fields.String(allow_none=True)
    coach_name = fields.Function(lambda s: s.coach.name if s.coach else None)
    next_steps = fields.List(fields.Nested(CoachingNextStepSchema))


class CoachingDoneInSchema(Schema):
    done = fields.Boolean(required=True)


class CoachingMilestoneInSchema(Schema):
    title = fields.String(load_default=None)
    due_date = fields.String(load_default=None, allow_none=True)


class CoachingMilestoneSchema(Schema):
    id = fields.Integer()
    code = fields.Function(lambda m: f"custom-{m.id}")
    title = fields.String()
    due_date = fields.Date(allow_none=True)
    done_at = fields.DateTime(allow_none=True)


class CoachingPortfolioArgs(Schema):
    q = fields.String(load_default=None)
    departement = fields.String(load_default=None)
    alert = fields.String(load_default=None)
    coach_id = fields.Integer(load_default=None, validate=validate.Range(max=INT64_MAX))
    sort = fields.String(load_default="name",
                         validate=validate.OneOf(["name", "milestones", "training", "activity", "alerts"]))
    descending = fields.Boolean(load_default=False)


class CoachingPortfolioRowSchema(Schema):
    relais_id = fields.Function(lambda o: o.relais.id)
    name = fields.Function(lambda o: o.relais.name)
    city = fields.Function(lambda o: o.relais.city)
    milestones_done = fields.Integer()
    milestones_total = fields.Function(lambda o: len(o.milestones))
    training_percent = fields.Function(lambda o: o.training.percent)
    last_activity_at = fields.DateTime(allow_none=True)
    alerts = fields.List(fields.Nested(RelaisAlertSchema))
