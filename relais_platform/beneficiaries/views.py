"""Web pages of the registry and accompaniment: thin views over the same services.

Relais staff only (national and coaches get 403); export, erasure and merge are the relais
admin's, each behind a confirmation step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.models import Role
from relais_platform.api import pagination_headers
from relais_platform.audit import services as audit
from relais_platform.beneficiaries import (
    accompaniment,
    connection,
    referrers,
    registry,
    rights,
    search,
    themes,
)
from relais_platform.beneficiaries.forms import (
    BeneficiaryForm,
    CreateBeneficiaryForm,
    DiagnosticForm,
    ExtensionForm,
    MergeForm,
    ParcoursForm,
    ReasonForm,
    ReferrerForm,
    SessionForm,
    ThemeForm,
    label,
)
from relais_platform.beneficiaries.models import AccompanimentSession, Beneficiary
from relais_platform.domain import DomainError, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.distributions import handovers
from relais_platform.stock.distributions import services as distributions

bp = Blueprint("beneficiaries", __name__, url_prefix="/beneficiaires", template_folder="templates")

STAFF = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)
NATIONAL = (Role.NATIONAL,)
PAGE_SIZE = 25
CANDIDATES_SHOWN = 50

Page = BaseResponse | tuple[str, int] | tuple[str, int, dict[str, str]] | str


@bp.app_template_filter("beneficiary_label")
def _label(value: Any, field: str | None = None) -> str:
    return label(value, field)


def _add_errors(form: FlaskForm, errors: Mapping[str, list[str]]) -> None:
    for name, messages in errors.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)


def _referrer_choices() -> list[tuple[str, str]]:
    return [("", _("— Aucune —"))] + [(str(r.id), f"{r.name} ({referrers.kind_label(r.kind)})")
                                      for r in referrers.all_referrers()]


def _theme_choices(keep: str | None = None) -> list[tuple[str, str]]:
    """Active themes, and a corrected session's own even if retired since."""
    return [("", _("— Non renseigné —"))] + [(t.code, themes.label_of(t)) for t in themes.all_themes()
                                             if not t.retired or t.code == keep]


def _page_number() -> int:
    page = request.args.get("page", "1")
    return max(1, int(page)) if page.isdigit() else 1


@bp.route("/")
@roles_required(*STAFF)
def index() -> Page:
    q = request.args.get("q", "").strip()[:200]
    page = _page_number()
    people, total = search.search(q, page, PAGE_SIZE)
    last_page = max(1, -(-total // PAGE_SIZE))
    return render_template("beneficiaries/index.html", title=_("Bénéficiaires"), people=people,
                           total=total, q=q, page=page, last_page=last_page)


@bp.route("/nouveau", methods=["GET", "POST"])
@roles_required(*STAFF)
def create() -> Page:
    form = CreateBeneficiaryForm()
    form.referrer_id.choices = _referrer_choices()
    duplicates: list[Beneficiary] = []
    status = 200
    if form.validate_on_submit():
        values = form.values()
        if not form.confirm_duplicate.data:
            ids = search.likely_duplicates(values["first_name"] or "", values["last_name"] or "",
                                           values["birth_year"])
            duplicates = [db.session.get_one(Beneficiary, i) for i in ids]
            # Their names are shown: audited like a search. The warning page is a confirmation
            # step, not a refusal: 200, so that this entry is committed with the request.
            if ids:
                audit.record("beneficiary_searched", target_type="beneficiaries",
                             details={"duplicate_check": True, "ids": ids})
        if not duplicates:
            try:
                beneficiary, _ids = registry.create({**values, "consent": form.consent.data})
                if form.diagnostic_level.data:
                    accompaniment.record_diagnostic(beneficiary, form.diagnostic_level.data,
                                                    form.diagnostic_needs.data)
            except ValidationFailed as exc:
                db.session.rollback()
                _add_errors(form, exc.errors)
                status = 422
            else:
                flash(_("Fiche créée."), "success")
                return redirect(url_for("beneficiaries.detail", beneficiary_id=beneficiary.id))
    elif form.is_submitted():
        # The registry's own rules too (consent, phone…), so that every problem shows at once.
        values = {**form.values(), "consent": form.consent.data}
        for name, messages in registry.creation_errors(values).items():
            field = form._fields.get(name)
            if field is not None and not field.errors:
                field.errors = list(messages)
        status = 422
    return render_template("beneficiaries/form.html", title=_("Nouvelle fiche"), form=form,
                           duplicates=duplicates, creating=True), status


@bp.route("/<int:beneficiary_id>")
@roles_required(*STAFF)
def detail(beneficiary_id: int) -> Page:
    beneficiary = registry.view(beneficiary_id)
    sessions = db.session.execute(
        accompaniment.sessions_statement(beneficiary_id=beneficiary.id).limit(50)).tuples().all()
    diagnostic_form = DiagnosticForm(formdata=None, assessed_on=utcnow().date())
    return render_template(
        "beneficiaries/detail.html", title=_("Fiche n° %(id)d", id=beneficiary.id), person=beneficiary,
        diagnostics=accompaniment.diagnostics_of(beneficiary.id), sessions=sessions,
        progress=accompaniment.progress_of(beneficiary.id), diagnostic_form=diagnostic_form,
        received=db.session.scalars(distributions.query(beneficiary_id=beneficiary.id).limit(50)).all(),
        handovers=handovers.of_beneficiary(beneficiary.id), extension_form=ExtensionForm(formdata=None),
        referrer=referrers.get(beneficiary.referrer_id) if beneficiary.referrer_id else None,
        merge_form=MergeForm(formdata=None), is_admin=current_user.role == Role.RELAIS_ADMIN,
    )


@bp.route("/<int:beneficiary_id>/prolongation", methods=["POST"])
@roles_required(*STAFF)
def extend_connection(beneficiary_id: int) -> Page:
    beneficiary = registry.get(beneficiary_id)
    if current_user.role != Role.RELAIS_ADMIN:
        abort(403)
    form = ExtensionForm()
    try:
        connection.extend(beneficiary, form.months.data if form.validate_on_submit() else None,
                          form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        flash(" ".join(m for messages in exc.errors.values() for m in messages) or exc.message, "error")
    else:
        until = beneficiary.connection_until
        flash(_("Période de connexion prolongée jusqu'au %(day)s.",
                day=until.strftime("%d/%m/%Y") if until else "—"), "success")
    return redirect(url_for("beneficiaries.detail", beneficiary_id=beneficiary_id,
                            _anchor="connection-title"))


@bp.route("/<int:beneficiary_id>/modifier", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit(beneficiary_id: int) -> Page:
    beneficiary = registry.view(beneficiary_id) if request.method == "GET" else registry.get(beneficiary_id)
    form = BeneficiaryForm(obj=None if request.method == "POST" else beneficiary)
    form.referrer_id.choices = _referrer_choices()
    if request.method == "GET":
        for name in ("language", "situation", "housing", "banked", "nationality"):
            form[name].data = getattr(beneficiary, name).value if getattr(beneficiary, name) else ""
        form.referrer_id.data = str(beneficiary.referrer_id or "")
    status = 200
    if form.validate_on_submit():
        try:
            registry.update_record(beneficiary, form.values())
        except ValidationFailed as exc:
            _add_errors(form, exc.errors)
            status = 422
        else:
            flash(_("Fiche mise à jour."), "success")
            return redirect(url_for("beneficiaries.detail", beneficiary_id=beneficiary.id))
    elif form.is_submitted():
        status = 422
    title = _("Modifier la fiche n° %(id)d", id=beneficiary.id)
    return render_template("beneficiaries/form.html", title=title, form=form, duplicates=[],
                           creating=False, person=beneficiary), status


@bp.route("/<int:beneficiary_id>/diagnostic", methods=["POST"])
@roles_required(*STAFF)
def diagnostic(beneficiary_id: int) -> Page:
    beneficiary = registry.get(beneficiary_id)
    form = DiagnosticForm()
    if form.validate_on_submit():
        try:
            accompaniment.record_diagnostic(beneficiary, form.level.data, form.needs.data,
                                            form.assessed_on.data)
        except ValidationFailed as exc:
            flash(" ".join(m for messages in exc.errors.values() for m in messages), "error")
        else:
            flash(_("Diagnostic enregistré."), "success")
    else:
        flash(_("Le diagnostic est incomplet."), "error")
    return redirect(url_for("beneficiaries.detail", beneficiary_id=beneficiary.id))


@bp.route("/<int:beneficiary_id>/export.<fmt>")
@roles_required(Role.RELAIS_ADMIN)
def export(beneficiary_id: int, fmt: str) -> Response:
    beneficiary = registry.get(beneficiary_id)
    filename = f"beneficiaire-{beneficiary.id}.{fmt}"
    if fmt == "pdf":
        body, mimetype = rights.export_pdf(beneficiary), "application/pdf"
    elif fmt == "json":
        body = json.dumps(rights.export(beneficiary, "json"), ensure_ascii=False, indent=2).encode()
        mimetype = "application/json"
    else:
        abort(404)
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/<int:beneficiary_id>/effacer", methods=["GET", "POST"])
@roles_required(Role.RELAIS_ADMIN)
def erase(beneficiary_id: int) -> Page:
    # The confirmation page shows the name: a view, audited.
    beneficiary = registry.view(beneficiary_id) if request.method == "GET" else registry.get(beneficiary_id)
    form = FlaskForm()
    if form.validate_on_submit():
        rights.erase(beneficiary)
        flash(_("La fiche a été anonymisée : les statistiques sont conservées."), "success")
        return redirect(url_for("beneficiaries.index"))
    return render_template("beneficiaries/confirm_erase.html", title=_("Effacer la fiche"),
                           person=beneficiary, form=form)


@bp.route("/<int:beneficiary_id>/fusionner", methods=["GET", "POST"])
@roles_required(Role.RELAIS_ADMIN)
def merge(beneficiary_id: int) -> Page:
    read = registry.view if request.method == "GET" else registry.get  # the page shows both names
    keep = read(beneficiary_id)
    form = MergeForm(request.values if request.method == "GET" else None)
    other = read(form.merge_id.data) if form.merge_id.data else None
    if other is None:
        abort(404)
    if request.method == "POST" and form.validate_on_submit():
        try:
            rights.merge(keep, other)
        except ValidationFailed as exc:
            flash(" ".join(m for messages in exc.errors.values() for m in messages), "error")
            return redirect(url_for("beneficiaries.detail", beneficiary_id=keep.id))
        flash(_("Les fiches ont été fusionnées."), "success")
        return redirect(url_for("beneficiaries.detail", beneficiary_id=keep.id))
    return render_template("beneficiaries/confirm_merge.html", title=_("Fusionner deux fiches"),
                           keep=keep, other=other, form=form)


# --- accompaniment ---------------------------------------------------------------------


@bp.route("/accompagnement")
@roles_required(*STAFF)
def sessions() -> Page:
    page = _page_number()
    rows, total = accompaniment.sessions_page(None, None, page, PAGE_SIZE)
    headers = pagination_headers(total, page, PAGE_SIZE)
    today = utcnow().date()
    year_start, month_start = today.replace(month=1, day=1), today.replace(day=1)
    tomorrow = today + timedelta(days=1)  # sessions are never in the future
    hours = {"month": accompaniment.accompaniment_hours(current_user.relais_id, month_start, tomorrow),
             "year": accompaniment.accompaniment_hours(current_user.relais_id, year_start, tomorrow)}
    return render_template("beneficiaries/sessions.html", title=_("Accompagnement"), rows=rows, hours=hours,
                           month_start=month_start, year_start=year_start,
                           page=page, last_page=max(1, -(-total // PAGE_SIZE)),
                           parcours=accompaniment.list_parcours(), parcours_form=ParcoursForm(formdata=None),
                           is_admin=current_user.role == Role.RELAIS_ADMIN), 200, headers


@bp.route("/accompagnement/nouvelle-seance", methods=["GET", "POST"])
@roles_required(*STAFF)
def new_session() -> Page:
    form = SessionForm()
    form.parcours_id.choices = _parcours_choices()
    form.theme.choices = _theme_choices()
    q = request.values.get("q", "").strip()[:200]
    # From a person's page (GET ?beneficiary_ids=…) or the form itself.
    selected = [int(i) for i in request.values.getlist("beneficiary_ids") if i.isdigit()]
    if request.method == "GET":
        form.beneficiary_ids.data = selected
    # Through the audited search: this list shows names.
    candidates = search.search(q, 1, CANDIDATES_SHOWN)[0] if q else []
    chosen = list(db.session.scalars(select(Beneficiary).where(Beneficiary.id.in_(selected),
                                                                  Beneficiary.anonymised_at.is_(None))))
    people = {b.id: b for b in [*chosen, *candidates]}
    form.beneficiary_ids.choices = [(b.id, f"{b.first_name} {b.last_name} (n° {b.id})")
                                    for b in people.values()]
    status = 200
    if request.method == "POST" and "search" not in request.form and form.validate_on_submit():
        try:
            accompaniment.record_session({
                "kind": form.kind.data, "theme": form.theme.data or None, "date": form.date.data,
                "duration_minutes": form.duration_minutes.data, "beneficiary_ids": form.beneficiary_ids.data,
                "anonymous_count": form.anonymous_count.data or 0,
                "parcours_id": int(form.parcours_id.data) if form.parcours_id.data else None,
            })
        except ValidationFailed as exc:
            _add_errors(form, exc.errors)
            status = 422
        else:
            flash(_("Séance enregistrée."), "success")
            return redirect(url_for("beneficiaries.sessions"))
    elif request.method == "POST" and "search" not in request.form:
        status = 422
    return render_template("beneficiaries/session_form.html", title=_("Nouvelle séance"), form=form,
                           q=q), status


def _parcours_choices() -> list[tuple[str, str]]:
    return [("", _("— Aucun —"))] + [(str(p.id), p.name) for p in accompaniment.list_parcours()]


def _session_page(session: AccompanimentSession, form: SessionForm, status: int = 200,
                  messages: list[str] | None = None) -> Page:
    participants = accompaniment.participants_of([session.id])[session.id]
    ids = sorted(set(participants) | set(form.beneficiary_ids.data or []))
    people = list(db.session.scalars(select(Beneficiary).where(Beneficiary.id.in_(ids),
                                                               Beneficiary.anonymised_at.is_(None))))
    form.beneficiary_ids.choices = [(b.id, f"{b.first_name} {b.last_name} (n° {b.id})") for b in people]
    return render_template("beneficiaries/session_edit.html", title=_("Séance du %(day)s",
                           day=session.held_on.strftime("%d/%m/%Y")), session=session, form=form,
                           reason_form=ReasonForm(formdata=None), messages=messages or [],
                           today=utcnow().date()), status


@bp.route("/accompagnement/<int:accompaniment_id>/modifier", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit_session(accompaniment_id: int) -> Page:
    session = accompaniment.get_session(accompaniment_id)
    if request.method == "GET":
        form = SessionForm(formdata=None, kind=session.kind.value, theme=session.theme or "",
                           date=session.held_on, duration_minutes=session.duration_minutes,
                           anonymous_count=session.anonymous_count,
                           parcours_id=str(session.parcours_id or ""),
                           beneficiary_ids=accompaniment.participants_of([session.id])[session.id])
    else:
        form = SessionForm()
    form.parcours_id.choices = _parcours_choices()
    form.theme.choices = _theme_choices(session.theme)
    if request.method == "GET":
        return _session_page(session, form)
    if form.validate_on_submit():
        try:
            accompaniment.update_session(session.id, {
                "kind": form.kind.data, "theme": form.theme.data or None, "date": form.date.data,
                "duration_minutes": form.duration_minutes.data, "beneficiary_ids": form.beneficiary_ids.data,
                "anonymous_count": form.anonymous_count.data or 0,
                "parcours_id": int(form.parcours_id.data) if form.parcours_id.data else None})
        except ValidationFailed as exc:
            db.session.rollback()
            _add_errors(form, exc.errors)
            return _session_page(accompaniment.get_session(accompaniment_id), form, 422)
        flash(_("Séance corrigée."), "success")
        return redirect(url_for("beneficiaries.sessions"))
    return _session_page(session, form, 422)


@bp.route("/accompagnement/<int:accompaniment_id>/supprimer", methods=["POST"])
@roles_required(*STAFF)
def delete_session(accompaniment_id: int) -> Page:
    session = accompaniment.get_session(accompaniment_id)
    form = ReasonForm()
    try:
        accompaniment.delete_session(session.id, form.reason.data if form.validate_on_submit() else None)
    except ValidationFailed as exc:
        db.session.rollback()
        page_form = SessionForm(formdata=None, kind=session.kind.value, theme=session.theme or "",
                                date=session.held_on, duration_minutes=session.duration_minutes,
                                anonymous_count=session.anonymous_count,
                                parcours_id=str(session.parcours_id or ""),
                                beneficiary_ids=accompaniment.participants_of([session.id])[session.id])
        page_form.parcours_id.choices = _parcours_choices()
        page_form.theme.choices = _theme_choices(session.theme)
        return _session_page(accompaniment.get_session(accompaniment_id), page_form, 422,
                             [m for messages in exc.errors.values() for m in messages])
    flash(_("Séance supprimée : elle n'est plus comptée."), "success")
    return redirect(url_for("beneficiaries.sessions"))


@bp.route("/accompagnement/<int:accompaniment_id>/dupliquer", methods=["POST"])
@roles_required(*STAFF)
def duplicate_session(accompaniment_id: int) -> Page:
    session = accompaniment.get_session(accompaniment_id)
    day = request.form.get("date") or ""
    try:
        held_on = date.fromisoformat(day) if day else None
    except ValueError:
        held_on = None
    try:
        copy = accompaniment.duplicate_session(session.id, held_on)
    except ValidationFailed as exc:
        db.session.rollback()
        flash(" ".join(m for messages in exc.errors.values() for m in messages), "error")
        return redirect(url_for("beneficiaries.edit_session", accompaniment_id=accompaniment_id))
    flash(_("Séance reproduite le %(day)s.", day=copy.held_on.strftime("%d/%m/%Y")), "success")
    return redirect(url_for("beneficiaries.sessions"))


# --- referring structures (relais) and themes (national) ---------------------------------


@bp.route("/structures", methods=["GET", "POST"])
@roles_required(*STAFF)
def referrer_list() -> Page:
    form = ReferrerForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                referrers.create(form.name.data, form.kind.data)
            except DomainError as exc:
                db.session.rollback()
                _add_errors(form, exc.errors)
                status = exc.status
            else:
                flash(_("Structure ajoutée."), "success")
                return redirect(url_for("beneficiaries.referrer_list"))
        else:
            status = 422
    return render_template("beneficiaries/referrers.html", title=_("Structures orienteuses"), form=form,
                           items=referrers.all_referrers(), kind_label=referrers.kind_label), status


@bp.route("/themes", methods=["GET", "POST"])
@roles_required(*NATIONAL)
def theme_list() -> Page:
    form = ThemeForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                themes.create(form.code.data, form.label.data)
            except DomainError as exc:
                db.session.rollback()
                _add_errors(form, exc.errors)
                status = exc.status
            else:
                flash(_("Thème ajouté."), "success")
                return redirect(url_for("beneficiaries.theme_list"))
        else:
            status = 422
    return render_template("beneficiaries/themes.html", title=_("Thèmes des ateliers"), form=form,
                           items=themes.all_themes(), label_of=themes.label_of, csrf_form=FlaskForm()), status


@bp.route("/themes/<int:theme_id>/retrait", methods=["POST"])
@roles_required(*NATIONAL)
def retire_theme(theme_id: int) -> Page:
    theme = themes.set_retired(theme_id, request.form.get("retired") == "1")
    flash(_("Thème retiré : il n'est plus proposé.") if theme.retired else _("Thème rétabli."), "success")
    return redirect(url_for("beneficiaries.theme_list"))


@bp.route("/themes/<int:theme_id>/suppression", methods=["POST"])
@roles_required(*NATIONAL)
def delete_theme(theme_id: int) -> Page:
    try:
        themes.delete(theme_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Thème supprimé."), "success")
    return redirect(url_for("beneficiaries.theme_list"))


@bp.route("/accompagnement/parcours", methods=["POST"])
@roles_required(Role.RELAIS_ADMIN)
def new_parcours() -> Page:
    form = ParcoursForm()
    if form.validate_on_submit():
        try:
            accompaniment.create_parcours(form.name.data, form.kind.data, form.sessions_required.data)
        except DomainError as exc:
            flash(" ".join(m for messages in exc.errors.values() for m in messages), "error")
        else:
            flash(_("Parcours créé."), "success")
    else:
        flash(_("Le parcours est incomplet."), "error")
    return redirect(url_for("beneficiaries.sessions"))
