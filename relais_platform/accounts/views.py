"""Web pages for accounts: sign-in (with TOTP), enrolment, invitations, passwords, home."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import qrcode
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from markupsafe import Markup, escape
from qrcode.image.svg import SvgPathImage
from werkzeug.wrappers import Response
from werkzeug.wrappers import Response as BaseResponse

from relais_platform.accounts import services
from relais_platform.accounts.auth import BROWSER_SESSION
from relais_platform.accounts.forms import (
    ActionForm,
    ChangePasswordForm,
    CodeForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    TermsForm,
    add_errors,
    role_label,
)
from relais_platform.accounts.models import Role, TokenPurpose, User
from relais_platform.domain import AuthenticationFailed, Throttled, ValidationFailed
from relais_platform.extensions import db, limiter
from relais_platform.security import safe_redirect_target
from relais_platform.tenants import services as tenants
from relais_platform.tenants import views as tenant_views
from relais_platform.tenants.forms import FilterForm

bp = Blueprint("accounts", __name__)

PENDING_LOGIN = "pending_login"
PENDING_LOGIN_TTL = 300  # seconds to type the TOTP code after the password was accepted
PAGE_SIZE = 25

# Pages a signed-in user may still reach before finishing enrolment or accepting the terms.
_ALWAYS_OPEN = {"accounts.logout", "set_language", "static"}

Page = BaseResponse | tuple[str, int] | str

_WEB_ADDRESS = re.compile(r"https?://[^\s<>]+")


@bp.app_template_filter("role_label")
def _role_label(role: Role | str) -> str:
    return role_label(role)


@bp.app_template_filter("linkify")
def _linkify(text: str) -> Markup:
    """Plain text, escaped, with its web addresses as links (e-mails shown in the outbox)."""
    return Markup(_WEB_ADDRESS.sub(lambda m: f'<a href="{m[0]}">{m[0]}</a>', str(escape(text))))


@bp.before_app_request
def require_account_setup() -> Response | None:
    """National and coach accounts must enrol a TOTP app; a relais admin must sign the terms."""
    if request.path.startswith("/api/") or request.endpoint in _ALWAYS_OPEN or request.endpoint is None:
        return None
    if not current_user.is_authenticated:
        return None
    if services.needs_two_factor_enrolment(current_user):
        if request.endpoint != "accounts.two_factor_setup":
            return redirect(url_for("accounts.two_factor_setup"))
    elif _must_accept_terms(current_user) and request.endpoint != "accounts.terms":
        return redirect(url_for("accounts.terms"))
    return None


def _must_accept_terms(user: User) -> bool:
    return user.role == Role.RELAIS_ADMIN and user.relais.terms_accepted_at is None


def _sign_in(user: User, next_url: str | None) -> Response:
    # A fresh session: nothing from before the sign-in (pending step, old token) survives.
    session.clear()
    session[BROWSER_SESSION] = services.open_browser_session(user.id)
    login_user(user)
    return redirect(safe_redirect_target(next_url) or url_for("accounts.home"))


# --- sign-in -------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Page:
    if current_user.is_authenticated:
        return redirect(url_for("accounts.home"))
    form = LoginForm()
    next_url = safe_redirect_target(request.args.get("next"))
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.TwoFactorRequired:
            pending = services.find_by_email(form.email.data)
            assert pending is not None  # its password just matched
            session[PENDING_LOGIN] = {
                "user": pending.get_id(),
                "expires": time.time() + PENDING_LOGIN_TTL,
                "next": next_url,
            }
            return redirect(url_for("accounts.login_code"))
        except Throttled as exc:
            add_errors(form, {}, exc.message)
            status = 429
        except AuthenticationFailed as exc:
            add_errors(form, {}, exc.message)
            status = 401
        else:
            return _sign_in(user, next_url)
    elif form.is_submitted():
        status = 422
    return render_template("accounts/login.html", form=form, next_url=next_url,
                           title=_("Connexion")), status


def _pending_user() -> tuple[User, dict[str, Any]] | None:
    """The account whose password was accepted, while its TOTP step is still open."""
    pending = session.get(PENDING_LOGIN)
    if not pending or pending.get("expires", 0) < time.time():
        return None
    user_id, _sep, version = str(pending.get("user", "")).partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    # A password change in the meantime invalidates the half-finished sign-in.
    if user is None or str(user.session_version) != version:
        return None
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> Page:
    found = _pending_user()
    if found is None:
        session.pop(PENDING_LOGIN, None)
        flash(_("Votre session de connexion a expiré : recommencez."), "info")
        return redirect(url_for("accounts.login"))
    user, pending = found
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.authenticate_second_factor(user, form.code.data)
        except Throttled as exc:
            add_errors(form, {}, exc.message)
            status = 429
        except AuthenticationFailed:
            add_errors(form, {"code": [_("Code incorrect : vérifiez l'heure de votre téléphone.")]})
            status = 401
        else:
            return _sign_in(user, pending.get("next"))
    elif form.is_submitted():
        status = 422
    return render_template("accounts/login_code.html", form=form,
                           title=_("Vérification en deux étapes")), status


@bp.post("/logout")
def logout() -> Response:
    services.end_browser_session(session.get(BROWSER_SESSION))
    logout_user()
    session.clear()
    flash(_("Vous êtes déconnecté."), "success")
    return redirect(url_for("accounts.login"))


# --- two-factor ----------------------------------------------------------------------


def _qr_data_uri(text: str) -> str:
    """The provisioning URI as an SVG QR code, inline (CSP allows data: images)."""
    svg = qrcode.make(text, image_factory=SvgPathImage, box_size=12, border=2).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_setup() -> Page:
    if current_user.has_two_factor:
        flash(_("La double authentification est déjà activée."), "info")
        return redirect(url_for("accounts.account"))
    if current_user.totp_secret is None:
        # Kept until confirmed, so that reloading the page does not change the QR code.
        services.start_totp_enrolment(current_user)
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.confirm_totp(current_user, form.code.data)
        except ValidationFailed as exc:
            add_errors(form, exc.errors, exc.message)
            status = 422
        else:
            flash(_("Double authentification activée."), "success")
            return redirect(url_for("accounts.home"))
    elif form.is_submitted():
        status = 422
    return render_template(
        "accounts/two_factor_setup.html",
        form=form,
        qr=_qr_data_uri(services.provisioning_uri(current_user)),
        secret=current_user.totp_secret,
        mandatory=current_user.role.requires_two_factor,
        title=_("Activer la double authentification"),
    ), status


@bp.post("/account/two-factor/disable")
@login_required
def two_factor_disable() -> Response:
    services.disable_totp(current_user)
    flash(_("Double authentification désactivée."), "success")
    return redirect(url_for("accounts.account"))


# --- account -------------------------------------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Page:
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data,
                                     keep_session=session.get(BROWSER_SESSION))
        except ValidationFailed as exc:
            add_errors(form, exc.errors, exc.message)
            status = 422
        else:
            # The change ends every other session; this one continues under the new version.
            login_user(current_user._get_current_object())
            flash(_("Mot de passe modifié. Vos autres sessions ont été fermées."), "success")
            return redirect(url_for("accounts.account"))
    elif form.is_submitted():
        status = 422
    user = current_user._get_current_object()
    return render_template(
        "accounts/account.html", form=form, action_form=ActionForm(),
        two_factor_required=services.two_factor_required(user),
        team_relais=user.relais if user.role == Role.RELAIS_ADMIN else None,
        network_policy=services.network_policy() if user.role == Role.NATIONAL else None,
        title=_("Mon compte"),
    ), status


@bp.post("/relais/<int:relais_id>/two-factor")
@login_required
def team_two_factor(relais_id: int) -> Response:
    """A relais admin (or national) requires two-factor of the whole team, or stops."""
    relais = tenants.get_visible_relais(current_user, relais_id)  # another relais: 404
    required = request.form.get("required") == "1"
    services.require_team_two_factor(current_user, relais, required)
    if required:
        flash(_("La double authentification est exigée pour toute l'équipe."), "success")
    else:
        flash(_("La double authentification n'est plus exigée pour l'équipe."), "success")
    return redirect(url_for("accounts.account"))


@bp.post("/network/two-factor")
@login_required
def network_two_factor() -> Response:
    required = request.form.get("required") == "1"
    services.require_network_two_factor(current_user, required)
    if required:
        flash(_("La double authentification est exigée dans tout le réseau."), "success")
    else:
        flash(_("La double authentification n'est plus exigée dans tout le réseau."), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/terms", methods=["GET", "POST"])
def terms() -> Page:
    """The charter is public; a relais admin whose structure has not signed it signs here."""
    relais = current_user.relais if current_user.is_authenticated else None
    can_accept = current_user.is_authenticated and _must_accept_terms(current_user)
    if request.method == "POST" and not can_accept:
        abort(403)
    form = TermsForm()
    status = 200
    if form.validate_on_submit() and relais is not None:
        tenants.accept_terms(relais, current_user)
        flash(_("Merci : les conditions d'utilisation sont acceptées pour votre structure."), "success")
        return redirect(url_for("accounts.home"))
    elif form.is_submitted():
        status = 422
    return render_template("accounts/terms.html", form=form, can_accept=can_accept, relais=relais,
                           title=_("Conditions d'utilisation et protection des données")), status


# --- invitations and password resets -------------------------------------------------


def _password_page(token: str, purpose: TokenPurpose, template: str, title: str) -> Page:
    user = services.peek_token(token, purpose)  # NotFound (404) for unknown, used, expired
    form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            if purpose == TokenPurpose.INVITATION:
                user = services.accept_invitation(token, form.password.data)
            else:
                user = services.reset_password(token, form.password.data)
        except ValidationFailed as exc:
            add_errors(form, exc.errors, exc.message)
            status = 422
        else:
            if purpose == TokenPurpose.INVITATION:
                flash(_("Bienvenue ! Votre compte est prêt."), "success")
                return _sign_in(user, None)
            flash(_("Mot de passe modifié : vous pouvez vous connecter."), "success")
            return redirect(url_for("accounts.login"))
    elif form.is_submitted():
        status = 422
    return render_template(template, form=form, invited=user, title=title), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Page:
    return _password_page(token, TokenPurpose.INVITATION, "accounts/invitation.html",
                          _("Activer votre compte"))


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Page:
    return _password_page(token, TokenPurpose.PASSWORD_RESET, "accounts/reset_password.html",
                          _("Choisir un nouveau mot de passe"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10/hour", methods=["POST"])
def forgot_password() -> Page:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # The same answer whether or not the address has an account.
        services.request_password_reset(form.email.data)
        flash(_("Si un compte existe pour cette adresse, un lien valable une heure vient d'y être "
                "envoyé."), "info")
        return redirect(url_for("accounts.login"))
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/forgot_password.html", form=form,
                           title=_("Mot de passe oublié")), status


# --- home ----------------------------------------------------------------------------


@bp.get("/")
def home() -> Page:
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    if current_user.role.is_relais_role:
        return tenant_views.relais_page(current_user.relais)
    return _network_home()


def _network_home() -> Page:
    """National: every relais; coach: its portfolio. Filtered, counted, one page at a time."""
    filters = FilterForm(formdata=request.args)
    values = filters.filter_values()
    stmt = tenants.visible_relais_query(current_user, tenants.RelaisFilters(**values))
    page = db.paginate(stmt, page=request.args.get("page", 1, type=int), per_page=PAGE_SIZE,
                       max_per_page=PAGE_SIZE, error_out=False)
    national = current_user.role == Role.NATIONAL
    return render_template(
        "accounts/home_network.html",
        filters=filters,
        page=page,
        query={k: v for k, v in values.items() if v},
        counts=tenants.count_by_status() if national else None,
        title=_("Réseau des relais") if national else _("Mon portefeuille de relais"),
    )
