"""Relais rules: creation, public applications, lifecycle, profile changes, listing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from relais_platform import mail
from relais_platform.accounts.models import Role, User
from relais_platform.audit import services as audit
from relais_platform.domain import NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants.geography import departement_of, is_valid_postcode
from relais_platform.tenants.models import Dimension, Relais, RelaisKind, RelaisStatus

# Allowed lifecycle moves; anything else is refused with a message.
TRANSITIONS: dict[RelaisStatus, frozenset[RelaisStatus]] = {
    RelaisStatus.APPLIED: frozenset({RelaisStatus.ACTIVE, RelaisStatus.REJECTED}),
    RelaisStatus.ACTIVE: frozenset({RelaisStatus.SUSPENDED, RelaisStatus.CLOSED}),
    RelaisStatus.SUSPENDED: frozenset({RelaisStatus.ACTIVE, RelaisStatus.CLOSED}),
    RelaisStatus.REJECTED: frozenset(),
    RelaisStatus.CLOSED: frozenset(),
}

EDITABLE_FIELDS = (
    "name", "kind", "siret", "address", "postcode", "city", "dimensions",
    "contact_name", "contact_email", "contact_phone",
)


def is_valid_siret(siret: str) -> bool:
    """14 digits with a Luhn key (La Poste's establishments use a digit sum instead)."""
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith("356000000"):
        return sum(int(d) for d in siret) % 5 == 0
    return luhn_valid(siret)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the profile fields present in `data`; every problem is reported at once."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in EDITABLE_FIELDS:
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, str):
            value = value.strip()
        out[key] = value if value != "" else None
    required = ("name", "kind", "siret", "postcode", "city", "dimensions")
    for key in required:
        if key in out and not out[key]:
            errors.setdefault(key, []).append(_("Ce champ est obligatoire."))
    if out.get("kind"):
        try:
            out["kind"] = RelaisKind(out["kind"])
        except ValueError:
            errors.setdefault("kind", []).append(_("Type de structure inconnu."))
    if out.get("siret"):
        out["siret"] = out["siret"].replace(" ", "")
        if not is_valid_siret(out["siret"]):
            errors.setdefault("siret", []).append(
                _("Le SIRET doit comporter 14 chiffres avec une clé de contrôle valide.")
            )
    if out.get("postcode") and not is_valid_postcode(out["postcode"]):
        errors.setdefault("postcode", []).append(_("Code postal français invalide."))
    if out.get("dimensions"):
        values = list(dict.fromkeys(out["dimensions"]))
        unknown = [v for v in values if v not in {d.value for d in Dimension}]
        if unknown:
            errors.setdefault("dimensions", []).append(
                _("Dimension inconnue : %(values)s.", values=", ".join(map(str, unknown)))
            )
        out["dimensions"] = [d.value for d in Dimension if d.value in values]
    if out.get("contact_email"):
        from relais_platform.accounts.services import normalize_email

        try:
            out["contact_email"] = normalize_email(out["contact_email"])
        except ValidationFailed:
            errors.setdefault("contact_email", []).append(_("Adresse e-mail invalide."))
    if errors:
        raise ValidationFailed(errors)
    if out.get("postcode"):
        out["departement"] = departement_of(out["postcode"])
    return out


@contextmanager
def _unique_siret() -> Iterator[None]:
    """Run the block in a savepoint; a duplicate SIRET becomes a field error.

    `begin_nested()` flushes what is pending before the SAVEPOINT, so the changes that may
    clash must be made inside the block: a failure outside it would poison the transaction.
    """
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError as exc:
        raise ValidationFailed.field("siret", _("Un relais avec ce SIRET existe déjà.")) from exc


def _require(data: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    missing = {k: [_("Ce champ est obligatoire.")] for k in keys if not data.get(k)}
    if missing:
        raise ValidationFailed(missing)


def create_relais(data: Mapping[str, Any]) -> Relais:
    """The national team creates an active relais directly."""
    _require(data, ("name", "kind", "siret", "postcode", "city", "dimensions"))
    relais = Relais(status=RelaisStatus.ACTIVE, status_changed_at=utcnow(), **_clean(data))
    with _unique_siret():
        db.session.add(relais)
    audit.record("relais_created", target=relais, relais_id=relais.id)
    return relais


def submit_application(data: Mapping[str, Any]) -> Relais:
    """A structure applies publicly ("Devenir Relais Numérique"); the national team decides."""
    _require(
        data,
        ("name", "kind", "siret", "postcode", "city", "dimensions", "contact_name",
         "contact_email"),
    )
    fields = _clean(data)
    relais = Relais(
        status=RelaisStatus.APPLIED,
        status_changed_at=utcnow(),
        application_message=(data.get("application_message") or "").strip() or None,
        **fields,
    )
    with _unique_siret():
        db.session.add(relais)
    audit.record("relais_applied", target=relais, relais_id=relais.id, actor_id=None)
    for national in db.session.scalars(
        select(User).where(User.role == Role.NATIONAL, User.active.is_(True))
    ):
        mail.send_template(
            national.email,
            _("Nouvelle candidature Relais Numérique : %(name)s", name=relais.name),
            "mail/application_received.txt",
            relais=relais,
            link=mail.external_url("tenants.detail", relais_id=relais.id),
        )
    return relais


def update_relais(relais: Relais, data: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Apply profile changes; the audit entry lists each changed field."""
    fields = _clean(data)
    changes = {
        key: (getattr(relais, key), value)
        for key, value in fields.items()
        if getattr(relais, key) != value
    }
    if changes:
        with _unique_siret():
            for key, (_old, value) in changes.items():
                setattr(relais, key, value)
        audit.record(
            "relais_updated",
            target=relais,
            relais_id=relais.id,
            details={k: [_jsonable(o), _jsonable(n)] for k, (o, n) in changes.items()},
        )
    return changes


def _jsonable(value: Any) -> Any:
    return value.value if isinstance(value, RelaisKind | RelaisStatus) else value


def change_status(relais: Relais, status: RelaisStatus | str, reason: str | None = None) -> None:
    try:
        status = RelaisStatus(status)
    except ValueError as exc:
        raise ValidationFailed.field("status", _("Statut inconnu.")) from exc
    if status == relais.status:
        return
    if status not in TRANSITIONS[relais.status]:
        raise ValidationFailed.field(
            "status",
            _("Passage impossible de « %(old)s » à « %(new)s ».",
              old=status_label(relais.status), new=status_label(status)),
        )
    audit.record(
        "relais_status_changed",
        target=relais,
        relais_id=relais.id,
        details={"from": relais.status.value, "to": status.value, "reason": reason},
    )
    relais.status = status
    relais.status_changed_at = utcnow()
    if status == RelaisStatus.CLOSED:
        # Its staff can no longer sign in (accounts.services); end the sessions they hold.
        db.session.execute(
            update(User).where(User.relais_id == relais.id)
            .values(session_version=User.session_version + 1)
            .execution_options(synchronize_session="fetch")
        )


def approve_application(relais: Relais, actor: User) -> User | None:
    """Activate an applicant and invite its contact as the relais' first admin."""
    change_status(relais, RelaisStatus.ACTIVE)
    if relais.contact_email:
        return invite_first_admin(relais, relais.contact_email, relais.contact_name or "", actor)
    return None


def invite_first_admin(relais: Relais, email: str, name: str, actor: User) -> User:
    from relais_platform.accounts.services import invite_user

    return invite_user(
        email=email, name=name, role=Role.RELAIS_ADMIN, relais=relais, invited_by=actor
    )


def accept_terms(relais: Relais, user: User) -> None:
    if relais.terms_accepted_at is None:
        relais.terms_accepted_at = utcnow()
        relais.terms_accepted_by_id = user.id
        audit.record("terms_accepted", target=relais, relais_id=relais.id)


@dataclass(frozen=True)
class RelaisFilters:
    status: str | None = None
    kind: str | None = None
    departement: str | None = None
    q: str | None = None


def visible_relais_query(user: User, filters: RelaisFilters | None = None) -> Select:
    """The relais a user may list: all (national), a portfolio (coach), their own (staff)."""
    stmt = select(Relais)
    if user.role == Role.COACH:
        stmt = stmt.where(Relais.coach_id == user.id)
    elif user.role != Role.NATIONAL:
        stmt = stmt.where(Relais.id == user.relais_id)
    f = filters or RelaisFilters()
    if f.status:
        stmt = stmt.where(Relais.status == f.status)
    if f.kind:
        stmt = stmt.where(Relais.kind == f.kind)
    if f.departement:
        stmt = stmt.where(Relais.departement == f.departement)
    if f.q:
        pattern = f"%{f.q.strip()}%"
        stmt = stmt.where(or_(Relais.name.ilike(pattern), Relais.city.ilike(pattern),
                              Relais.siret.like(pattern)))
    return stmt.order_by(Relais.name, Relais.id)


def get_visible_relais(user: User, relais_id: int) -> Relais:
    """One relais, or NotFound when missing or outside the user's reach."""
    relais = db.session.scalar(visible_relais_query(user).where(Relais.id == relais_id))
    if relais is None:
        raise NotFound(_("Relais introuvable."))
    return relais


def count_by_status() -> dict[str, int]:
    rows = db.session.execute(select(Relais.status, func.count()).group_by(Relais.status))
    return {status.value: count for status, count in rows}


STATUS_LABELS = {
    RelaisStatus.APPLIED: _l("Candidature"),
    RelaisStatus.ACTIVE: _l("Actif"),
    RelaisStatus.REJECTED: _l("Refusé"),
    RelaisStatus.SUSPENDED: _l("Suspendu"),
    RelaisStatus.CLOSED: _l("Fermé"),
}


def status_label(status: RelaisStatus) -> str:
    return str(STATUS_LABELS[status])
