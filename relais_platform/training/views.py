"""Web pages: training catalogue and sessions, my training, relais progress, coach dashboard."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.models import Role, User
from relais_platform.audit.services import network_access
from relais_platform.domain import DomainError, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants.models import Relais
from relais_platform.training import (
    attendance,
    catalogue,
    certificates,
    coaching,
    dashboard,
    enrolments,
    exports,
    paths,
    progress,
)
from relais_platform.training.access import reach_relais
from relais_platform.training.alerts import RULES
from relais_platform.training.forms import (
    CoachForm,
    CoachingSessionForm,
    EnrolForm,
    MilestoneForm,
    ModuleForm,
    PathForm,
    SessionCancelForm,
    SessionEditForm,
    SessionForm,
    SurveyForm,
)
from relais_platform.training.models import EnrolmentStatus, TrainingSession
from relais_platform.training.models import ModuleFormat as Format

bp = Blueprint("training", __name__, template_folder="templates")

STAFF = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)
FOLLOWERS = (Role.NATIONAL, Role.COACH)


def _flash_error(exc: DomainError) -> None:
    messages = [m for field_messages in exc.errors.values() for m in field_messages]
    flash(" ".join(messages) or exc.message, "error")


def _add_errors(form: FlaskForm, errors: Mapping[str, list[str]]) -> None:
    """A service's field errors shown on the form's fields (the rest above the form)."""
    for name, messages in errors.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)


# --- training ---------------------------------------------------------------------------


@bp.route("/training/", methods=["GET", "POST"])
@login_required
def index() -> Any:
    form = SessionForm() if current_user.role == Role.NATIONAL else None
    modules = catalogue.list_modules()
    if form is not None:
        form.module_code.choices = [SelectChoice(m.code, f"{m.code} — {m.title}") for m in modules]
        form.trainer_id.choices = [SelectChoice(0, _("Aucun compte (formateur·rice externe)"))] + [
            SelectChoice(u.id, u.name) for u in catalogue.trainer_accounts()]
        if form.validate_on_submit():
            zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
            data = {k: v for k, v in form.data.items() if k != "csrf_token"}
            data["starts_at"] = data["starts_at"].replace(tzinfo=zone)
            data["ends_at"] = data["ends_at"].replace(tzinfo=zone)
            try:
                network_access(None, reason="training catalogue")
                session = catalogue.create_session(current_user, data)
            except ValidationFailed as exc:
                _add_errors(form, exc.errors)
            else:
                flash(_("Session publiée."), "success")
                return redirect(url_for(".session_detail", session_id=session.id))
    mine = {}
    if current_user.role in STAFF:
        mine = {e.session_id: e for e in enrolments.enrolments_of_user(current_user.id)}
    page = render_template("training/index.html", title=_("Formations"), modules=modules,
                           sessions=catalogue.list_sessions(upcoming_only=True), mine=mine, form=form)
    return page, 422 if form is not None and form.errors else 200


@bp.route("/training/modules/", methods=["GET", "POST"])
@roles_required(Role.NATIONAL)
def modules() -> Any:
    """The national team creates a module, or edits one by its code (`?code=`)."""
    network_access(None, reason="training catalogue")
    existing = catalogue.module_by_code(request.args.get("code", "")) if request.method == "GET" else None
    form = ModuleForm(obj=existing, format=existing.format.value if existing else Format.IN_PERSON.value)
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k != "csrf_token"}
        try:
            module = catalogue.save_module(data)
        except ValidationFailed as exc:
            _add_errors(form, exc.errors)
        else:
            flash(_("Module %(code)s enregistré.", code=module.code), "success")
            return redirect(url_for(".modules"))
    page = render_template("training/modules.html", title=_("Modules de formation"), form=form,
                           modules=catalogue.list_modules(include_inactive=True), editing=existing)
    return page, 422 if form.errors else 200


@bp.get("/training/sessions/<int:session_id>")
@login_required
def session_detail(session_id: int) -> Any:
    return _session_page(catalogue.get_session(session_id))


def _edit_form(session: TrainingSession, formdata: Any = None) -> SessionEditForm:
    form = SessionEditForm(formdata=formdata, obj=session)
    if formdata is None:  # the form shows Paris wall-clock times
        zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        form.starts_at.data = session.starts_at.astimezone(zone).replace(tzinfo=None)
        form.ends_at.data = session.ends_at.astimezone(zone).replace(tzinfo=None)
        form.trainer_id.data = session.trainer_id or 0
    form.trainer_id.choices = [SelectChoice(0, _("Aucun compte (formateur·rice externe)"))] + [
        SelectChoice(u.id, u.name) for u in catalogue.trainer_accounts()]
    return form


def _session_page(session: TrainingSession, edit_form: SessionEditForm | None = None,
                  cancel_form: SessionCancelForm | None = None) -> Any:
    lines = []
    enrol_form = None
    keeper = attendance.keeps_sheet(current_user, session)
    if keeper:
        network_access(None, reason="training attendance sheet")
        lines = enrolments.enrolments_of_session(session.id)
    elif current_user.role in STAFF:
        lines = enrolments.enrolments_of_session(session.id)
        if current_user.role == Role.RELAIS_ADMIN and not session.cancelled:
            taken = {e.user_id for e in lines}
            enrol_form = EnrolForm()
            enrol_form.user_id.choices = [
                SelectChoice(u.id, u.name) for u in db.session.scalars(
                    select(User).where(User.relais_id == current_user.relais_id, User.active.is_(True))
                    .order_by(User.name)) if u.id not in taken]
    mine = next((e for e in lines if e.user_id == current_user.id), None)
    if (current_user.role == Role.NATIONAL and session.signed_off_at is None
            and not session.cancelled and session.starts_at > utcnow()):
        edit_form = edit_form or _edit_form(session)
        cancel_form = cancel_form or SessionCancelForm()
    page = render_template("training/session.html", title=session.module.title, session=session,
                           lines=lines, mine=mine, enrol_form=enrol_form, keeper=keeper,
                           edit_form=edit_form, cancel_form=cancel_form, Status=EnrolmentStatus)
    invalid = any(form is not None and form.errors for form in (edit_form, cancel_form))
    return page, 422 if invalid else 200


@bp.post("/training/sessions/<int:session_id>/edit")
@roles_required(Role.NATIONAL)
def edit_session(session_id: int) -> Any:
    session = catalogue.get_session(session_id)
    form = _edit_form(session, request.form)
    if form.validate_on_submit():
        zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        data = {k: v for k, v in form.data.items() if k != "csrf_token"}
        data["starts_at"] = data["starts_at"].replace(tzinfo=zone)
        data["ends_at"] = data["ends_at"].replace(tzinfo=zone)
        try:
            network_access(None, reason="training catalogue")
            enrolments.change_session(session.id, data)
        except ValidationFailed as exc:
            _add_errors(form, exc.errors)
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(_("Session modifiée ; les inscrits sont prévenus d'un changement de date ou de lieu."),
                  "success")
            return redirect(url_for(".session_detail", session_id=session.id))
    return _session_page(catalogue.get_session(session.id), edit_form=form)


@bp.post("/training/sessions/<int:session_id>/cancel-session")
@roles_required(Role.NATIONAL)
def cancel_session(session_id: int) -> Any:
    session = catalogue.get_session(session_id)
    form = SessionCancelForm()
    if form.validate_on_submit():
        try:
            network_access(None, reason="training catalogue")
            enrolments.cancel_session(current_user, session.id, form.reason.data)
        except DomainError as exc:
            _flash_error(exc)
        else:
            flash(_("Session annulée ; les inscrits et les personnes en attente sont prévenus par e-mail."),
                  "success")
        return redirect(url_for(".session_detail", session_id=session.id))
    return _session_page(session, cancel_form=form)


@bp.post("/training/sessions/<int:session_id>/enrol")
@roles_required(Role.NATIONAL, *STAFF)
def enrol(session_id: int) -> BaseResponse:
    user_id = request.form.get("user_id", type=int) or current_user.id
    try:
        enrolment = enrolments.enrol(current_user, session_id, user_id)
    except DomainError as exc:
        _flash_error(exc)
    else:
        if enrolment.status == EnrolmentStatus.ENROLLED:
            flash(_("Inscription confirmée : l'invitation part par e-mail."), "success")
        else:
            flash(_("Session complète : inscription sur la liste d'attente (position %(n)s).",
                    n=enrolment.waitlist_position), "info")
    return redirect(url_for(".session_detail", session_id=session_id))


@bp.post("/training/sessions/<int:session_id>/cancel")
@roles_required(Role.NATIONAL, *STAFF)
def cancel(session_id: int) -> BaseResponse:
    user_id = request.form.get("user_id", type=int) or current_user.id
    try:
        enrolments.cancel(current_user, session_id, user_id)
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash(_("Inscription annulée."), "success")
    return redirect(url_for(".session_detail", session_id=session_id))


@bp.post("/training/sessions/<int:session_id>/attendance")
@roles_required(*FOLLOWERS)
def save_attendance(session_id: int) -> BaseResponse:
    try:
        for key, value in request.form.items():
            if key.startswith("present-") and value in ("yes", "no"):
                attendance.mark_attendance(current_user, session_id, int(key.removeprefix("present-")),
                                           value == "yes")
        if request.form.get("sign_off"):
            attendance.sign_off(current_user, session_id, request.form.get("trainer"))
            flash(_("Feuille d'émargement signée."), "success")
        else:
            flash(_("Feuille d'émargement enregistrée."), "success")
    except DomainError as exc:
        db.session.rollback()
        _flash_error(exc)
    return redirect(url_for(".session_detail", session_id=session_id))


@bp.route("/training/me", methods=["GET", "POST"])
@roles_required(*STAFF)
def my_training() -> Any:
    form = SurveyForm()
    refused = False
    if form.validate_on_submit():
        try:
            attendance.submit_survey(current_user, request.form.get("session_id", type=int) or 0,
                                     form.rating.data, form.comment.data)
        except DomainError as exc:
            _flash_error(exc)
            refused = True
        else:
            flash(_("Merci pour votre avis."), "success")
            return redirect(url_for(".my_training"))
    records = attendance.records_of(current_user.id)
    page = render_template(
        "training/me.html", title=_("Mes formations"), form=form, records=records,
        surveyed=attendance.surveyed_record_ids([r.id for r in records]),
        enrolments=enrolments.enrolments_of_user(current_user.id), Status=EnrolmentStatus,
        posted_session=request.form.get("session_id", type=int) if refused or form.errors else None,
    )
    return page, 422 if refused or form.errors else 200


@bp.get("/training/records/<int:record_id>/certificate.pdf")
@roles_required(Role.NATIONAL, *STAFF)
def certificate(record_id: int) -> Response:
    record = attendance.record_for(current_user, record_id)
    return Response(certificates.certificate_pdf(record), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{certificates.certificate_filename(record)}"'})


@bp.get("/training/exports/")
@roles_required(Role.NATIONAL)
def export_list() -> str:
    return render_template("training/exports.html", title=_("Exports pour l'audit qualité"))


@bp.get("/training/exports/<kind>.<fmt>")
@roles_required(Role.NATIONAL)
def export_file(kind: str, fmt: str) -> Response:
    name, mimetype, content = exports.export(kind, fmt)
    return Response(content, content_type=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- relais progress and coaching -------------------------------------------------------


@bp.get("/training/relais/")
@roles_required(*STAFF)
def own_progress() -> BaseResponse:
    return redirect(url_for(".relais_progress", relais_id=current_user.relais_id))


def _relais_page(relais: Relais, *, session_form: CoachingSessionForm | None = None,
                 milestone_form: MilestoneForm | None = None, path_form: PathForm | None = None,
                 coach_form: CoachForm | None = None) -> tuple[str, int]:
    """The relais' progress page; a refused form comes back filled in with its errors (422)."""
    view = progress.relais_overview(relais)
    sessions = coaching.coaching_sessions(relais)
    writer = coaching.can_write(current_user, relais)
    if current_user.role == Role.NATIONAL:
        coach_form = coach_form or CoachForm(coach_id=relais.coach_id or 0)
        coach_form.coach_id.choices = [SelectChoice(0, _("Aucun coach"))] + [
            SelectChoice(c.id, c.name) for c in dashboard.coaches() if c.active]
    if writer:
        session_form = session_form or CoachingSessionForm(formdata=None)
        milestone_form = milestone_form or MilestoneForm(formdata=None)
        path_form = path_form or PathForm(formdata=None, module_codes=view.training.required)
        path_form.module_codes.choices = [SelectChoice(m.code, f"{m.code} — {m.title}")
                                          for m in catalogue.list_modules()]
    forms = [f for f in (session_form, milestone_form, path_form, coach_form) if f is not None]
    page = render_template(
        "training/relais.html", title=relais.name, relais=relais, view=view,
        people=paths.people_progress(relais.id, view.training.required),
        sessions=sessions, notes=coaching.notes_for(current_user, sessions),
        show_notes=coaching.can_read_notes(current_user), writer=writer,
        session_form=session_form if writer else None, milestone_form=milestone_form if writer else None,
        path_form=path_form if writer else None, coach_form=coach_form, forms=forms,
    )
    return page, 422 if any(f.errors for f in forms) else 200


@bp.get("/training/relais/<int:relais_id>")
@login_required
def relais_progress(relais_id: int) -> Any:
    return _relais_page(reach_relais(current_user, relais_id, reason="relais progress"))


@bp.post("/training/relais/<int:relais_id>/coach")
@roles_required(Role.NATIONAL)
def assign_coach(relais_id: int) -> Any:
    relais = reach_relais(current_user, relais_id, reason="coach assignment")
    form = CoachForm()
    try:
        if form.coach_id.data is None:  # not a number: never read as "no coach"
            raise ValidationFailed.field("coach_id", _("Choisissez un coach actif."))
        coaching.assign_coach(relais, form.coach_id.data or None)
    except ValidationFailed as exc:
        form.coach_id.errors = exc.errors.get("coach_id", [exc.message])
        return _relais_page(relais, coach_form=form)
    flash(_("Coach enregistré."), "success")
    return redirect(url_for(".relais_progress", relais_id=relais_id))


def _writer_or_403(relais: Relais) -> None:
    if not coaching.can_write(current_user, relais):
        abort(403)


@bp.post("/training/relais/<int:relais_id>/coaching-sessions")
@roles_required(*FOLLOWERS)
def log_coaching_session(relais_id: int) -> Any:
    relais = reach_relais(current_user, relais_id, reason="coaching session")
    _writer_or_403(relais)
    form = CoachingSessionForm()
    if form.validate_on_submit():
        steps = []
        if form.step_text.data or form.step_due_date.data or form.step_owner.data:
            steps.append({"text": form.step_text.data, "owner": form.step_owner.data,
                          "due_date": form.step_due_date.data})
        try:
            coaching.create_coaching_session(current_user, relais, {
                "date": form.date.data, "kind": form.kind.data, "topics": form.topics.data,
                "notes": form.notes.data, "next_steps": steps})
        except ValidationFailed as exc:
            _add_errors(form, {("step_text" if k.endswith(".text") else "step_due_date"
                                if k.endswith(".due_date") else k): v for k, v in exc.errors.items()})
        else:
            flash(_("Rendez-vous enregistré."), "success")
            return redirect(url_for(".relais_progress", relais_id=relais_id))
    return _relais_page(relais, session_form=form)


@bp.post("/training/relais/<int:relais_id>/next-steps/<int:step_id>")
@roles_required(*FOLLOWERS)
def next_step_done(relais_id: int, step_id: int) -> BaseResponse:
    relais = reach_relais(current_user, relais_id, reason="coaching next step")
    coaching.set_next_step_done(current_user, relais, step_id, request.form.get("done") == "1")
    return redirect(url_for(".relais_progress", relais_id=relais_id))


@bp.post("/training/relais/<int:relais_id>/milestones")
@roles_required(*FOLLOWERS)
def add_milestone(relais_id: int) -> Any:
    relais = reach_relais(current_user, relais_id, reason="coaching milestone")
    _writer_or_403(relais)
    form = MilestoneForm()
    if form.validate_on_submit():
        try:
            coaching.add_milestone(current_user, relais, {"title": form.title.data,
                                                          "due_date": form.due_date.data})
        except ValidationFailed as exc:
            _add_errors(form, exc.errors)
        else:
            flash(_("Jalon ajouté."), "success")
            return redirect(url_for(".relais_progress", relais_id=relais_id))
    return _relais_page(relais, milestone_form=form)


@bp.post("/training/relais/<int:relais_id>/milestones/<int:milestone_id>")
@roles_required(*FOLLOWERS)
def milestone_done(relais_id: int, milestone_id: int) -> BaseResponse:
    relais = reach_relais(current_user, relais_id, reason="coaching milestone")
    coaching.set_milestone_done(current_user, relais, milestone_id, request.form.get("done") == "1")
    return redirect(url_for(".relais_progress", relais_id=relais_id))


@bp.post("/training/relais/<int:relais_id>/path")
@roles_required(*FOLLOWERS)
def set_path(relais_id: int) -> Any:
    relais = reach_relais(current_user, relais_id, reason="relais training path")
    _writer_or_403(relais)
    form = PathForm()
    form.module_codes.choices = [SelectChoice(m.code, m.code) for m in catalogue.list_modules()]
    if form.validate_on_submit():
        try:
            paths.set_path(relais, form.module_codes.data or [])
        except ValidationFailed as exc:
            _add_errors(form, exc.errors)
        else:
            flash(_("Parcours de formation enregistré."), "success")
            return redirect(url_for(".relais_progress", relais_id=relais_id))
    return _relais_page(relais,
                        path_form=form)


def _dashboard_query() -> dashboard.DashboardQuery:
    args = request.args
    sort = args.get("sort", "name")
    return dashboard.DashboardQuery(
        q=args.get("q") or None, departement=args.get("departement") or None,
        alert=args.get("alert") or None, coach_id=args.get("coach_id", type=int),
        sort=sort if sort in dashboard.SORT_KEYS else "name", descending=args.get("order") == "desc",
    )


def _render_dashboard(template_title: str, national: bool) -> str:
    query = _dashboard_query()
    rows = dashboard.dashboard(current_user, query)
    return render_template(
        "training/dashboard.html", title=template_title, rows=rows, query=query, national=national,
        coaches=dashboard.coaches() if national else [], alert_rules=RULES,
        endpoint=request.endpoint,
        filters={k: v for k, v in request.args.items() if k not in ("sort", "order") and v},
    )


@bp.get("/coaching/")
@roles_required(Role.COACH, Role.NATIONAL)
def coach_dashboard() -> Any:
    if current_user.role == Role.NATIONAL:
        return redirect(url_for(".national_progress"))
    return _render_dashboard(_("Mon portefeuille"), national=False)


@bp.get("/coaching/network")
@roles_required(Role.NATIONAL)
def national_progress() -> str:
    return _render_dashboard(_("Progression des relais"), national=True)

