"""Web pages for relais: national management, the relais page and its team, public applications."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from relais_platform.accounts import services as accounts
from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.forms import ActionForm, InviteForm, RoleForm, add_errors
from relais_platform.accounts.models import Role, User
from relais_platform.domain import ValidationFailed
from relais_platform.extensions import db, limiter
from relais_platform.tenants import services as tenants
from relais_platform.tenants.forms import (
    ApplicationForm,
    RelaisForm,
    StatusForm,
    dimension_label,
    kind_label,
)
from relais_platform.tenants.models import Relais, RelaisStatus

bp = Blueprint("tenants", __name__, url_prefix="/relais")

Page = BaseResponse | tuple[str, int] | str

# Button labels for the lifecycle moves, in display order. Approving an application is its
# own action (it also invites the contact), so APPLIED → ACTIVE is not a plain status button.
_MOVES: list[tuple[RelaisStatus, RelaisStatus, object]] = [
    (RelaisStatus.APPLIED, RelaisStatus.REJECTED, _l("Refuser la candidature")),
    (RelaisStatus.SUSPENDED, RelaisStatus.ACTIVE, _l("Réactiver")),
    (RelaisStatus.ACTIVE, RelaisStatus.SUSPENDED, _l("Suspendre")),
    (RelaisStatus.ACTIVE, RelaisStatus.CLOSED, _l("Fermer définitivement")),
    (RelaisStatus.SUSPENDED, RelaisStatus.CLOSED, _l("Fermer définitivement")),
]


@bp.app_template_filter("status_label")
def _status_label(status: RelaisStatus | str) -> str:
    return tenants.status_label(RelaisStatus(status))


@bp.app_template_filter("kind_label")
def _kind_label(kind: str) -> str:
    return kind_label(kind)


@bp.app_template_filter("dimension_label")
def _dimension_label(dimension: str) -> str:
    return dimension_label(dimension)


def relais_page(
    relais: Relais,
    *,
    invite_form: InviteForm | None = None,
    status_form: StatusForm | None = None,
    errors: Iterable[str] = (),
    code: int = 200,
) -> tuple[str, int]:
    """A relais' profile and team, with the actions the current user may take on them."""
    if code >= 400:
        # The request rolls a refused action back at its end; do it now, so that the page shows
        # the stored state rather than the refused change.
        db.session.rollback()
    national = current_user.role == Role.NATIONAL
    manage = accounts.can_manage_team(current_user, relais.id)
    team = accounts.team_of(relais.id)
    own = current_user.relais_id == relais.id
    default_role = Role.RELAIS_ADMIN if national else Role.RELAIS_WORKER
    if manage and invite_form is None:
        invite_form = InviteForm(prefix="invite", data={"role": default_role.value})
    moves = [(target, label) for source, target, label in _MOVES if source == relais.status]
    return render_template(
        "tenants/detail.html",
        relais=relais,
        team=team,
        own=own,
        national=national,
        manage=manage,
        moves=moves if national else [],
        can_approve=national and relais.status == RelaisStatus.APPLIED,
        invite_form=invite_form,
        role_forms={
            member.id: RoleForm(prefix=f"member-{member.id}", data={"role": member.role.value})
            for member in team
        } if manage else {},
        status_form=status_form or StatusForm(),
        action_form=ActionForm(),
        errors=list(errors),
        title=_("Mon relais") if own else relais.name,
    ), code


def _messages(exc: ValidationFailed) -> list[str]:
    return [message for messages in exc.errors.values() for message in messages] or [exc.message]


def _back(relais: Relais) -> str:
    if current_user.relais_id == relais.id:
        return url_for("accounts.home")
    return url_for("tenants.detail", relais_id=relais.id)


def _national_relais(relais_id: int) -> Relais:
    """A relais for a national action: looked up first, so another tenant's id stays a 404."""
    relais = tenants.get_visible_relais(current_user, relais_id)
    if current_user.role != Role.NATIONAL:
        abort(403)
    return relais


def _managed_relais(relais_id: int) -> Relais:
    """A relais whose team the current user manages; another tenant's relais is a 404."""
    relais = tenants.get_visible_relais(current_user, relais_id)
    if not accounts.can_manage_team(current_user, relais.id):
        abort(403)
    return relais


def _managed_member(relais_id: int, user_id: int) -> tuple[Relais, User]:
    """A member of a managed team; both are looked up before the permission check (404 first)."""
    relais = tenants.get_visible_relais(current_user, relais_id)
    member = accounts.get_team_member(relais.id, user_id)
    if not accounts.can_manage_team(current_user, relais.id):
        abort(403)
    return relais, member


# --- national management -------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.NATIONAL)
def create() -> Page:
    form = RelaisForm()
    status = 200
    if form.validate_on_submit():
        try:
            relais = tenants.create_relais(form.service_data())
        except ValidationFailed as exc:
            add_errors(form, exc.errors, exc.message)
            status = 422
        else:
            flash(_("Relais « %(name)s » créé.", name=relais.name), "success")
            return redirect(url_for("tenants.detail", relais_id=relais.id))
    return render_template("tenants/form.html", form=form, relais=None,
                           title=_("Créer un relais")), status


@bp.get("/<int:relais_id>")
@login_required
def detail(relais_id: int) -> Page:
    return relais_page(tenants.get_visible_relais(current_user, relais_id))


@bp.route("/<int:relais_id>/edit", methods=["GET", "POST"])
@login_required
def edit(relais_id: int) -> Page:
    relais = _national_relais(relais_id)
    form = RelaisForm(obj=relais)
    status = 200
    if form.validate_on_submit():
        try:
            changes = tenants.update_relais(relais, form.service_data())
        except ValidationFailed as exc:
            add_errors(form, exc.errors, exc.message)
            status = 422
        else:
            if changes:
                flash(_("Modifications enregistrées."), "success")
            else:
                flash(_("Aucune modification."), "info")
            return redirect(url_for("tenants.detail", relais_id=relais.id))
    return render_template("tenants/form.html", form=form, relais=relais,
                           title=_("Modifier « %(name)s »", name=relais.name)), status


@bp.post("/<int:relais_id>/status")
@login_required
def change_status(relais_id: int) -> Page:
    relais = _national_relais(relais_id)
    form = StatusForm()
    try:
        tenants.change_status(relais, request.form.get("status", ""),
                              (form.reason.data or "").strip() or None)
    except ValidationFailed as exc:
        return relais_page(relais, status_form=form, errors=_messages(exc), code=422)
    flash(_("Nouveau statut du relais : %(status)s.", status=tenants.status_label(relais.status)),
          "success")
    return redirect(url_for("tenants.detail", relais_id=relais.id))


@bp.post("/<int:relais_id>/approve")
@login_required
def approve(relais_id: int) -> Page:
    relais = _national_relais(relais_id)
    try:
        admin = tenants.approve_application(relais, current_user)
    except ValidationFailed as exc:
        return relais_page(relais, errors=_messages(exc), code=422)
    if admin is not None:
        flash(_("Candidature approuvée : une invitation a été envoyée à %(email)s.", email=admin.email),
              "success")
    else:
        flash(_("Candidature approuvée. Invitez maintenant un administrateur."), "success")
    return redirect(url_for("tenants.detail", relais_id=relais.id))


# --- team ----------------------------------------------------------------------------


@bp.post("/<int:relais_id>/team")
@login_required
def invite(relais_id: int) -> Page:
    relais = _managed_relais(relais_id)
    form = InviteForm(prefix="invite")
    try:
        member = accounts.invite_user(email=form.email.data or "", name=form.name.data or "",
                                      role=form.role.data or "", relais=relais, invited_by=current_user)
    except ValidationFailed as exc:
        add_errors(form, exc.errors, exc.message)
        return relais_page(relais, invite_form=form, code=422)
    flash(_("Invitation envoyée à %(email)s.", email=member.email), "success")
    return redirect(_back(relais))


@bp.post("/<int:relais_id>/team/<int:user_id>/active")
@login_required
def set_member_active(relais_id: int, user_id: int) -> Page:
    relais, member = _managed_member(relais_id, user_id)
    active = request.form.get("active") == "1"
    try:
        accounts.set_active(current_user, member, active)
    except ValidationFailed as exc:
        return relais_page(relais, errors=_messages(exc), code=422)
    if active:
        flash(_("Compte de %(name)s réactivé.", name=member.name), "success")
    else:
        flash(_("Compte de %(name)s désactivé.", name=member.name), "success")
    return redirect(_back(relais))


@bp.post("/<int:relais_id>/team/<int:user_id>/role")
@login_required
def set_member_role(relais_id: int, user_id: int) -> Page:
    relais, member = _managed_member(relais_id, user_id)
    form = RoleForm(prefix=f"member-{member.id}")
    try:
        accounts.change_role(current_user, member, form.role.data or "")
    except ValidationFailed as exc:
        return relais_page(relais, errors=_messages(exc), code=422)
    flash(_("Rôle de %(name)s mis à jour.", name=member.name), "success")
    return redirect(_back(relais))


# --- public application --------------------------------------------------------------


@bp.route("/candidature", methods=["GET", "POST"])
@limiter.limit("10/hour", methods=["POST"])
def apply() -> Page:
    # Members of the network already have a relais; the national team creates relais directly.
    if current_user.is_authenticated:
        if request.method == "POST":
            abort(403)
        return render_template("tenants/apply.html", form=None, title=_("Devenir Relais Numérique"))
    form = ApplicationForm()
    status = 200
    if form.validate_on_submit():
        try:
            tenants.submit_application(form.service_data())
        except ValidationFailed as exc:
            add_errors(form, exc.errors, exc.message)
            status = 422
        else:
            return redirect(url_for("tenants.applied"))
    return render_template("tenants/apply.html", form=form, title=_("Devenir Relais Numérique")), status


@bp.get("/candidature/merci")
def applied() -> str:
    return render_template("tenants/applied.html", title=_("Candidature envoyée"))
