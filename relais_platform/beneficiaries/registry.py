"""The beneficiary registry: registration, reading, changes (services flush, never commit).

Every function runs under the caller's relais (the ORM hook and row-level security add the
relais filter): an id of another relais is simply not found.

Tables that reference `beneficiaries.id` declare it once with `register_reference` (for
example the stock package's distributions: `register_reference(Distribution.beneficiary_id)`
in its models module). A merge moves every registered reference before it deletes the merged
record; a reference left unregistered makes that delete fail on its foreign key instead of
losing data silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, func, literal, select, update
from sqlalchemy.orm import InstrumentedAttribute

from relais_platform.audit import services as audit
from relais_platform.beneficiaries.models import (
    Banked,
    Beneficiary,
    Housing,
    Language,
    Nationality,
    Referrer,
    Situation,
)
from relais_platform.domain import NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow

# The whole registry record: nothing else is ever stored about a person.
FIELDS = ("first_name", "last_name", "birth_year", "phone", "no_phone", "language", "situation",
          "housing", "banked", "nationality", "referrer", "referrer_id", "note")
CHOICES: dict[str, type] = {"language": Language, "situation": Situation, "housing": Housing,
                            "banked": Banked, "nationality": Nationality}
MAX_LENGTHS = {"first_name": 100, "last_name": 100, "phone": 30, "referrer": 200, "note": 2000}
OLDEST_AGE = 110
_PHONE = re.compile(r"^\+?[0-9][0-9 .\-()]{5,28}$")

# (session, keep_id, merge_id) -> None: moves one kind of reference during a merge.
MergeHook = Callable[[Any, int, int], None]
_merge_hooks: list[MergeHook] = []


def register_reference(column: InstrumentedAttribute) -> None:
    """Declare a column referencing `beneficiaries.id`, moved as is by a merge."""

    def move(session: Any, keep_id: int, merge_id: int) -> None:
        session.execute(
            update(column.class_).where(column == merge_id).values({column.key: keep_id}),
            execution_options={"synchronize_session": False},
        )

    _merge_hooks.append(move)


# (session, beneficiary ids) -> None: clears what other domains hold as free text about them.
ErasureHook = Callable[[Any, list[int]], None]
_erasure_hooks: list[ErasureHook] = []


def register_free_text(reference: InstrumentedAttribute, *texts: InstrumentedAttribute) -> None:
    """Declare free-text columns written about the person `reference` points to: anonymisation
    empties them, wherever they are stored."""

    def clear(session: Any, beneficiary_ids: list[int]) -> None:
        # Emptied, not nulled: whether there was a text can be a rule of the row (a cancelled
        # distribution has a reason).
        session.execute(
            update(reference.class_).where(reference.in_(beneficiary_ids))
            .values({text.key: case((text.is_(None), None), else_=literal("")) for text in texts}),
            execution_options={"synchronize_session": False},
        )

    _erasure_hooks.append(clear)


def erasure_hooks() -> tuple[ErasureHook, ...]:
    return tuple(_erasure_hooks)


def register_merge_hook(hook: MergeHook) -> None:
    """For references a plain move would break (a unique key with the beneficiary in it)."""
    _merge_hooks.append(hook)


def merge_hooks() -> tuple[MergeHook, ...]:
    return tuple(_merge_hooks)


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    cleaned, errors = _cleaned(data)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _cleaned(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Trim texts (an empty text is no value) and turn choices into their enums; the values
    that passed, and the problems of the others."""
    unknown = sorted(set(data) - set(FIELDS) - {"consent"})
    errors: dict[str, list[str]] = {
        name: [_("Ce champ n'est pas autorisé : seules les informations prévues sont enregistrées.")]
        for name in unknown
    }
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name in unknown:
            continue
        if isinstance(value, str):
            value = value.strip() or None
        if name in CHOICES and value is not None:
            try:
                value = CHOICES[name](value)
            except ValueError:
                errors[name] = [_("Choisissez une valeur de la liste.")]
                continue
        if name == "referrer_id" and value is not None and (
                isinstance(value, bool) or not isinstance(value, int)
                or db.session.get(Referrer, value) is None):
            # Another relais' structure and none read alike.
            errors[name] = [_("Structure orienteuse introuvable.")]
            continue
        if name in MAX_LENGTHS and value is not None and len(value) > MAX_LENGTHS[name]:
            errors[name] = [_("%(n)s caractères au plus.", n=MAX_LENGTHS[name])]
            continue
        cleaned[name] = value
    return cleaned, errors


def _check(values: dict[str, Any]) -> None:
    errors = _rule_errors(values)
    if errors:
        raise ValidationFailed(errors)


def _rule_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Rules on the resulting record (creation, or a record with its changes applied)."""
    errors: dict[str, list[str]] = {}
    for name in ("first_name", "last_name"):
        if not values.get(name):
            errors[name] = [_("Ce champ est obligatoire.")]
    year = values.get("birth_year")
    this_year = utcnow().year
    if year is not None and (
        isinstance(year, bool) or not isinstance(year, int)
        or not this_year - OLDEST_AGE <= year <= this_year
    ):
        errors["birth_year"] = [_("Indiquez une année de naissance entre %(a)d et %(b)d (jamais la date).",
                                  a=this_year - OLDEST_AGE, b=this_year)]
    phone, no_phone = values.get("phone"), bool(values.get("no_phone"))
    if phone and no_phone:
        errors["phone"] = [_("Indiquez un numéro ou « pas de téléphone », pas les deux.")]
    elif not phone and not no_phone:
        errors["phone"] = [_("Indiquez un numéro de téléphone ou cochez « pas de téléphone ».")]
    elif phone and not _PHONE.match(phone):
        errors["phone"] = [_("Numéro de téléphone invalide.")]
    return errors


def creation_errors(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every reason why `data` cannot be registered, all at once (empty when it can), so that
    a form reports them in one round."""
    values, errors = _cleaned(data)
    if data.get("consent") is not True:
        errors["consent"] = [_("Le consentement de la personne est nécessaire pour l'enregistrer.")]
    values.pop("consent", None)
    values["no_phone"] = bool(values.get("no_phone"))
    for name, messages in _rule_errors(values).items():
        if name not in data or name in values:  # a field refused above keeps its first message
            errors.setdefault(name, messages)
    return errors


def create(data: Mapping[str, Any]) -> tuple[Beneficiary, list[int]]:
    """Register a person; returns the record and the ids of likely duplicates.

    Duplicates are only flagged: the person in front of the worker may be a namesake.
    """
    from relais_platform.beneficiaries.search import likely_duplicates

    errors = creation_errors(data)
    if errors:
        raise ValidationFailed(errors)
    values = _clean(data)
    values.pop("consent", None)
    values["no_phone"] = bool(values.get("no_phone"))
    duplicates = likely_duplicates(values["first_name"], values["last_name"], values.get("birth_year"))
    now = utcnow()
    beneficiary = Beneficiary(**values, consent_at=now, last_seen_at=now)
    db.session.add(beneficiary)
    db.session.flush()
    audit.record("beneficiary_created", target=beneficiary,
                 details={"possible_duplicates": duplicates} if duplicates else None)
    return beneficiary, duplicates


def get(beneficiary_id: int) -> Beneficiary:
    """A registered (not anonymised) person of the bound relais, or 404."""
    beneficiary = db.session.get(Beneficiary, beneficiary_id)
    if beneficiary is None or beneficiary.is_anonymised:
        raise NotFound(_("Bénéficiaire introuvable."))
    return beneficiary


def view(beneficiary_id: int) -> Beneficiary:
    """Read one record for display: audited."""
    beneficiary = get(beneficiary_id)
    audit.record("beneficiary_viewed", target=beneficiary)
    return beneficiary


def update_record(beneficiary: Beneficiary, data: Mapping[str, Any]) -> list[str]:
    """Apply changes; returns the names of the fields that changed (audited, never values)."""
    if "consent" in data:
        raise ValidationFailed.field(
            "consent", _("Le consentement ne se modifie pas : pour retirer une personne, effacez-la."))
    changes = _clean(data)
    # Giving a number lifts "no phone", and "no phone" drops the number.
    if changes.get("phone") and "no_phone" not in changes:
        changes["no_phone"] = False
    if changes.get("no_phone") and "phone" not in changes:
        changes["phone"] = None
    if "no_phone" in changes:
        changes["no_phone"] = bool(changes["no_phone"])
    merged = {name: getattr(beneficiary, name) for name in FIELDS} | changes
    _check(merged)
    changed = sorted(name for name, value in changes.items() if getattr(beneficiary, name) != value)
    for name in changed:
        setattr(beneficiary, name, changes[name])
    if changed:
        db.session.flush()
        audit.record("beneficiary_updated", target=beneficiary, details={"fields": changed})
    return changed


def touch(beneficiary_ids: Iterable[int], seen_at: datetime) -> None:
    """People attended something: they stay in the registry (retention counts from here)."""
    ids = sorted(set(beneficiary_ids))
    if not ids:
        return
    db.session.execute(
        update(Beneficiary)
        .where(Beneficiary.id.in_(ids))
        .values(last_seen_at=func.greatest(Beneficiary.last_seen_at, seen_at)),
        execution_options={"synchronize_session": "fetch"},
    )


def existing_ids(beneficiary_ids: Iterable[int]) -> set[int]:
    """Those of these ids that are registered people of the bound relais."""
    ids = set(beneficiary_ids)
    if not ids:
        return set()
    return set(db.session.scalars(
        select(Beneficiary.id).where(Beneficiary.id.in_(ids), Beneficiary.anonymised_at.is_(None))
    ))
