"""Account rules: sign-in, two-factor, invitations, password resets, API tokens, team.

Functions take plain values, add to the session and flush; the request (or the command, or
the job) commits. The one exception is a failed sign-in, whose audit entry must survive the
refusal: it is committed here.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from datetime import datetime

import pyotp
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from relais_platform import mail
from relais_platform.accounts import throttle
from relais_platform.accounts.models import (
    ApiToken,
    BrowserSession,
    NetworkSecurityPolicy,
    Role,
    TokenPurpose,
    User,
    UserToken,
)
from relais_platform.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from relais_platform.accounts.tokens import digest, new_token
from relais_platform.audit import services as audit
from relais_platform.domain import (
    AuthenticationFailed,
    Forbidden,
    NotFound,
    Throttled,
    ValidationFailed,
)
from relais_platform.extensions import db
from relais_platform.orm import rows_affected, utcnow
from relais_platform.tenants.models import Relais, RelaisStatus

# Staff of a relais in these states cannot sign in.
_CLOSED_RELAIS = {RelaisStatus.APPLIED, RelaisStatus.REJECTED, RelaisStatus.CLOSED}


class TwoFactorRequired(AuthenticationFailed):
    """Right password, but the account needs a TOTP code (none or a wrong one given)."""


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed.field("email", _("Adresse e-mail invalide.")) from exc


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


# --- sign-in ---------------------------------------------------------------------------


def authenticate(email: str, password: str, totp: str | None = None) -> User:
    """Check credentials (and the TOTP code where the account has one); audit both outcomes."""
    email = (email or "").strip().lower()
    if throttle.is_locked(email):
        raise Throttled(_("Trop de tentatives échouées : réessayez dans quelques minutes."))
    user = find_by_email(email)
    ok = verify_password(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.active or _relais_closed(user):
        _refuse(email, user, "bad_credentials")
        raise AuthenticationFailed(_("Adresse e-mail ou mot de passe incorrect."))
    if user.has_two_factor and not verify_totp(user, totp):
        if totp:
            _refuse(email, user, "bad_totp")
        raise TwoFactorRequired(_("Code de vérification à deux facteurs requis ou incorrect."))
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    throttle.clear(email)
    audit.record("login_success", target=user, actor_id=user.id, relais_id=user.relais_id)
    return user


def authenticate_second_factor(user: User, totp: str | None) -> User:
    """Second step of a web sign-in, once `authenticate` has accepted the password."""
    if throttle.is_locked(user.email):
        raise Throttled(_("Trop de tentatives échouées : réessayez dans quelques minutes."))
    if not user.active or _relais_closed(user):
        _refuse(user.email, user, "bad_credentials")
        raise AuthenticationFailed(_("Adresse e-mail ou mot de passe incorrect."))
    if not verify_totp(user, totp):
        _refuse(user.email, user, "bad_totp")
        raise TwoFactorRequired(_("Code de vérification à deux facteurs requis ou incorrect."))
    user.last_login_at = utcnow()
    throttle.clear(user.email)
    audit.record("login_success", target=user, actor_id=user.id, relais_id=user.relais_id)
    return user


def _relais_closed(user: User) -> bool:
    return user.relais is not None and user.relais.status in _CLOSED_RELAIS


def _refuse(email: str, user: User | None, reason: str) -> None:
    throttle.record_failure(email)
    user_id, relais_id = (user.id, user.relais_id) if user else (None, None)
    db.session.rollback()
    audit.record(
        "login_failure",
        target_type="users",
        target_id=user_id,
        relais_id=relais_id,
        actor_id=None,
        details={"email": email, "reason": reason},
    )
    db.session.commit()


def needs_two_factor_enrolment(user: User) -> bool:
    return two_factor_required(user) and not user.has_two_factor


# --- two-factor ----------------------------------------------------------------------


def network_policy() -> NetworkSecurityPolicy:
    """The network-wide security settings (one row, created on first use)."""
    policy = db.session.get(NetworkSecurityPolicy, 1)
    if policy is None:
        policy = NetworkSecurityPolicy(id=1, staff_two_factor_required=False)
        db.session.add(policy)
        db.session.flush()
    return policy


def two_factor_required(user: User) -> bool:
    """Always for national and coaches; for relais staff (who reach personal data) when their
    relais or the national team requires it."""
    if user.role.requires_two_factor:
        return True
    if not user.role.is_relais_role:
        return False
    if user.relais is not None and user.relais.require_two_factor:
        return True
    policy = db.session.get(NetworkSecurityPolicy, 1)
    return policy is not None and policy.staff_two_factor_required


def require_team_two_factor(actor: User, relais: Relais, required: bool) -> None:
    """A relais admin (or national) requires two-factor of the whole team, or stops requiring it."""
    if not can_manage_team(actor, relais.id):
        raise Forbidden(_("Seuls le national et l'administrateur du relais gèrent son équipe."))
    if relais.require_two_factor == required:
        return
    relais.require_two_factor = required
    audit.record("team_two_factor_required" if required else "team_two_factor_optional",
                 target=relais, relais_id=relais.id)


def require_network_two_factor(actor: User, required: bool) -> None:
    """National: two-factor for every account that reaches personal data (all relais staff)."""
    if actor.role != Role.NATIONAL:
        raise Forbidden(_("Réservé à l'équipe nationale."))
    policy = network_policy()
    if policy.staff_two_factor_required == required:
        return
    policy.staff_two_factor_required = required
    policy.updated_by_id = actor.id
    policy.updated_at = utcnow()
    audit.record("network_two_factor_required" if required else "network_two_factor_optional",
                 target_type="network_security_policy", target_id=1, relais_id=None)


def _matching_step(user: User, code: str) -> int | None:
    """The time step (±1, for clock drift) whose code is `code`, if any."""
    totp = pyotp.TOTP(user.totp_secret or "")
    now = int(time.time()) // totp.interval
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify_totp(user: User, code: str | None) -> bool:
    """True for a right code never used before and newer than the last one accepted.

    The step is claimed with one conditional UPDATE: of two requests racing with the same
    code, the second waits for the first's row lock, then finds the step taken.
    """
    if not user.totp_secret or not code:
        return False
    step = _matching_step(user, code.replace(" ", ""))
    if step is None:
        return False
    claimed = rows_affected(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if not claimed:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def start_totp_enrolment(user: User) -> str:
    """A fresh secret, kept unconfirmed until the user proves their app generates codes."""
    if user.has_two_factor:
        raise ValidationFailed.field("totp", _("La double authentification est déjà activée."))
    user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(
        name=user.email, issuer_name="Relais Numérique"
    )


def confirm_totp(user: User, code: str) -> None:
    if not verify_totp(user, code):
        raise ValidationFailed.field("code", _("Code incorrect : vérifiez l'heure de votre téléphone."))
    user.totp_confirmed_at = utcnow()
    audit.record("totp_enabled", target=user, relais_id=user.relais_id)


def disable_totp(user: User) -> None:
    if user.role.requires_two_factor:
        raise Forbidden(_("La double authentification est obligatoire pour ce rôle."))
    if two_factor_required(user):
        raise Forbidden(_("La double authentification est obligatoire dans votre relais."))
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    audit.record("totp_disabled", target=user, relais_id=user.relais_id)


# --- users ---------------------------------------------------------------------------


def _check_new_user(email: str, name: str, role: Role | str, relais: Relais | None) -> Role:
    errors: dict[str, list[str]] = {}
    try:
        role = Role(role)
    except ValueError:
        errors["role"] = [_("Rôle inconnu.")]
    if not (name or "").strip():
        errors["name"] = [_("Le nom est obligatoire.")]
    if isinstance(role, Role) and role.is_relais_role and relais is None:
        errors["relais_id"] = [_("Un membre d'un relais doit être rattaché à un relais.")]
    if isinstance(role, Role) and not role.is_relais_role and relais is not None:
        errors["role"] = [_("Ce rôle n'appartient à aucun relais.")]
    if errors:
        raise ValidationFailed(errors)
    return Role(role)


def create_user(
    *,
    email: str,
    name: str,
    role: Role | str,
    relais: Relais | None = None,
    password: str | None = None,
) -> User:
    """Add a user; the e-mail's uniqueness is checked by the database, whatever the tenant."""
    email = normalize_email(email)
    role = _check_new_user(email, name, role, relais)
    if password is not None:
        problems = password_problems(password, email=email, name=name)
        if problems:
            raise ValidationFailed({"password": problems})
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        relais_id=relais.id if relais else None,
        password_hash=hash_password(password) if password is not None else None,
    )
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before it, and a
        # duplicate flushed there would poison the whole transaction.
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed.field("email", _("Cette adresse e-mail est déjà utilisée.")) from exc
    return user


def invite_user(
    *, email: str, name: str, role: Role | str, relais: Relais | None, invited_by: User | None
) -> User:
    """Create the account without a password and e-mail a 7-day single-use link."""
    if relais is not None and relais.status not in (RelaisStatus.ACTIVE, RelaisStatus.SUSPENDED):
        raise ValidationFailed.field("relais_id", _("Ce relais n'est pas actif."))
    user = create_user(email=email, name=name, role=role, relais=relais)
    token = _issue_token(user, TokenPurpose.INVITATION, current_app.config["INVITATION_TTL"],
                         created_by=invited_by)
    audit.record(
        "user_invited",
        target=user,
        relais_id=user.relais_id,
        details={"role": str(user.role)},
    )
    mail.send_template(
        user.email,
        _("Votre invitation à la plateforme Relais Numérique"),
        "mail/invitation.txt",
        name=user.name,
        relais_name=relais.name if relais else None,
        inviter=invited_by.name if invited_by else "Emmaüs Connect",
        link=mail.external_url("accounts.accept_invitation", token=token),
        days=current_app.config["INVITATION_TTL"].days,
    )
    return user


def _issue_token(user: User, purpose: TokenPurpose, ttl, created_by: User | None = None) -> str:
    token, token_hash = new_token()
    db.session.add(
        UserToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash,
            expires_at=utcnow() + ttl,
            created_by_id=created_by.id if created_by else None,
        )
    )
    return token


def _redeem(token: str, purpose: TokenPurpose) -> UserToken:
    """The token's row, locked; unknown, used and expired tokens all fail the same way."""
    row = db.session.scalar(
        select(UserToken)
        .where(UserToken.token_hash == digest(token or ""), UserToken.purpose == purpose)
        .with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise NotFound(_("Ce lien n'est plus valide : demandez-en un nouveau."))
    return row


def peek_token(token: str, purpose: TokenPurpose) -> User:
    """The user a still-valid token belongs to (to greet them on the form)."""
    return _redeem(token, purpose).user


def accept_invitation(token: str, password: str) -> User:
    row = _redeem(token, TokenPurpose.INVITATION)
    user = row.user
    _set_password(user, password)
    row.used_at = utcnow()
    audit.record("invitation_accepted", target=user, actor_id=user.id, relais_id=user.relais_id)
    return user


def request_password_reset(email: str) -> None:
    """E-mail a 1-hour link if the account exists; say nothing either way."""
    user = find_by_email(email or "")
    if user is None or not user.active or user.password_hash is None:
        return
    token = _issue_token(user, TokenPurpose.PASSWORD_RESET, current_app.config["PASSWORD_RESET_TTL"])
    audit.record("password_reset_requested", target=user, actor_id=user.id, relais_id=user.relais_id)
    mail.send_template(
        user.email,
        _("Réinitialisation de votre mot de passe"),
        "mail/password_reset.txt",
        name=user.name,
        link=mail.external_url("accounts.reset_password", token=token),
    )


def reset_password(token: str, password: str) -> User:
    row = _redeem(token, TokenPurpose.PASSWORD_RESET)
    user = row.user
    _set_password(user, password)
    row.used_at = utcnow()
    throttle.clear(user.email)
    audit.record("password_reset", target=user, actor_id=user.id, relais_id=user.relais_id)
    return user


def change_password(user: User, current: str, new: str, *, keep_session: str | None = None) -> None:
    """Change the password; every other browser session and every API token ends with it
    (`keep_session`: the browser session making the change, which continues)."""
    if not verify_password(user.password_hash, current):
        raise ValidationFailed.field("current_password", _("Mot de passe actuel incorrect."))
    _set_password(user, new, keep_session=keep_session)
    audit.record("password_changed", target=user, relais_id=user.relais_id)


def _set_password(user: User, password: str, *, keep_session: str | None = None) -> None:
    problems = password_problems(password or "", email=user.email, name=user.name)
    if problems:
        raise ValidationFailed({"password": problems})
    user.password_hash = hash_password(password)
    user.session_version += 1
    # Whoever knew the old password may hold a session or a token: both die with it.
    end_browser_sessions(user.id, keep=keep_session)
    revoked = _revoke_api_tokens(user.id)
    if revoked:
        audit.record("api_tokens_revoked", target=user, relais_id=user.relais_id,
                     details={"count": revoked, "reason": "password"})
    # Every other single-use link of this user dies with the change.
    for other in db.session.scalars(
        select(UserToken).where(UserToken.user_id == user.id, UserToken.used_at.is_(None))
    ):
        other.used_at = utcnow()


def can_manage_team(actor: User, relais_id: int) -> bool:
    return actor.role == Role.NATIONAL or (
        actor.role == Role.RELAIS_ADMIN and actor.relais_id == relais_id
    )


def set_active(actor: User, user: User, active: bool) -> None:
    """Deactivate (or reactivate) a user: their sessions and API tokens stop working."""
    if user.relais_id is None or not can_manage_team(actor, user.relais_id):
        raise NotFound(_("Utilisateur introuvable."))
    if user.id == actor.id:
        raise ValidationFailed.field("active", _("Vous ne pouvez pas désactiver votre propre compte."))
    if user.active == active:
        return
    user.active = active
    user.session_version += 1
    if not active:
        end_browser_sessions(user.id)
        _revoke_api_tokens(user.id)
    audit.record("user_activated" if active else "user_deactivated", target=user,
                 relais_id=user.relais_id)


def change_role(actor: User, user: User, role: Role | str) -> None:
    if user.relais_id is None or not can_manage_team(actor, user.relais_id):
        raise NotFound(_("Utilisateur introuvable."))
    try:
        role = Role(role)
    except ValueError as exc:
        raise ValidationFailed.field("role", _("Rôle inconnu.")) from exc
    if not role.is_relais_role:
        raise ValidationFailed.field("role", _("Rôle non autorisé pour un membre de relais."))
    if user.id == actor.id and role != user.role:
        raise ValidationFailed.field("role", _("Vous ne pouvez pas changer votre propre rôle."))
    if role != user.role:
        audit.record("role_changed", target=user, relais_id=user.relais_id,
                     details={"from": str(user.role), "to": str(role)})
        user.role = role
        user.session_version += 1


def team_of(relais_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.relais_id == relais_id).order_by(User.active.desc(), User.name)
        )
    )


def get_team_member(relais_id: int, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.relais_id != relais_id:
        raise NotFound(_("Utilisateur introuvable."))
    return user


# --- API tokens ----------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def issue_api_token(user: User) -> IssuedToken:
    token, token_hash = new_token()
    expires_at = utcnow() + current_app.config["API_TOKEN_TTL"]
    db.session.add(ApiToken(user_id=user.id, token_hash=token_hash, expires_at=expires_at))
    audit.record("api_token_issued", target=user, actor_id=user.id, relais_id=user.relais_id)
    return IssuedToken(token=token, expires_at=expires_at)


def user_for_api_token(token: str) -> tuple[User, ApiToken] | None:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    if not row.user.active or _relais_closed(row.user):
        return None
    # Two-factor became required since the token was issued: enrol first (web).
    if needs_two_factor_enrolment(row.user):
        return None
    row.last_used_at = utcnow()
    return row.user, row


def revoke_api_token(row: ApiToken) -> None:
    row.revoked_at = utcnow()
    audit.record("api_token_revoked", target=row.user, relais_id=row.user.relais_id)


def _revoke_api_tokens(user_id: int) -> int:
    """Revoke every live API token of a user; returns how many."""
    now = utcnow()
    tokens = list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None),
                               ApiToken.expires_at > now)
    ))
    for token in tokens:
        token.revoked_at = now
    return len(tokens)


# --- browser sessions ----------------------------------------------------------------


def open_browser_session(user_id: int) -> str:
    """Register a signed-in browser; the returned id goes in its (signed) cookie."""
    token, token_hash = new_token()
    db.session.add(BrowserSession(
        user_id=user_id, token_hash=token_hash,
        expires_at=utcnow() + current_app.config["PERMANENT_SESSION_LIFETIME"],
    ))
    return token


def browser_session_is_open(user_id: int, token: str | None) -> bool:
    if not token:
        return False
    row = db.session.scalar(select(BrowserSession).where(BrowserSession.token_hash == digest(token)))
    return (row is not None and row.user_id == user_id and row.ended_at is None
            and row.expires_at > utcnow())


def end_browser_session(token: str | None) -> None:
    """Sign-out: the cookie's id is refused from now on, whoever presents it."""
    if token:
        db.session.execute(
            update(BrowserSession)
            .where(BrowserSession.token_hash == digest(token), BrowserSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_browser_sessions(user_id: int, *, keep: str | None = None) -> None:
    """End every open browser session of a user, but `keep` (the caller's own)."""
    stmt = update(BrowserSession).where(BrowserSession.user_id == user_id,
                                        BrowserSession.ended_at.is_(None))
    if keep:
        stmt = stmt.where(BrowserSession.token_hash != digest(keep))
    db.session.execute(stmt.values(ended_at=utcnow()))
