"""Funders and their agreements (conventions): creation (national), who sees which, and the
agreement's report (targets against actuals, the activity report of its period and scope,
what was handed out from its earmarked stock).

Reach: national users see every agreement; a coach those covering a relais of its
portfolio; a relais admin those covering its relais — read-only; anyone else gets 404.
A coach's report covers the agreement's relais of its portfolio, a relais admin's its own
relais (exact figures), the national report the whole agreement (protected figures).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError

from relais_platform.accounts.models import Role, User
from relais_platform.audit import services as audit
from relais_platform.domain import NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.replica import on_replica
from relais_platform.reporting.activity.privacy import SMALL, WITHHELD
from relais_platform.reporting.activity.services import (
    ActivityScope,
    Period,
    activity_report,
    resolve_activity_scope,
)
from relais_platform.reporting.bilan import ALL_DEPARTEMENTS
from relais_platform.reporting.funders import earmarks
from relais_platform.reporting.funders.models import Convention, Funder, FunderKind
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.scope import national_scope
from relais_platform.tenants.models import Relais

INDICATORS = ("beneficiaries", "new_beneficiaries", "accompaniment_hours", "parcours_completed", "events",
              "relais_active", "professionals_trained")
MAX_TARGET = 10_000_000


# --- funders ----------------------------------------------------------------------------


def create_funder(data: dict[str, Any]) -> Funder:
    national_scope(_("création d'un financeur"))
    name = (data.get("name") or "").strip()
    if not name:
        raise ValidationFailed.field("name", _("Indiquez le nom du financeur."))
    if db.session.scalar(select(Funder.id).where(func.lower(Funder.name) == name.lower())) is not None:
        raise ValidationFailed.field("name", _("Ce financeur existe déjà."))
    funder = Funder(name=name, kind=FunderKind(data["kind"]))
    db.session.add(funder)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed.field("name", _("Ce financeur existe déjà.")) from exc
    audit.record("funder_created", target=funder)
    return funder


def _page(stmt: Select, page: int | None, per_page: int | None) -> tuple[list[Any], int]:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if page is not None and per_page is not None:
        stmt = stmt.limit(per_page).offset((page - 1) * per_page)
    return list(db.session.scalars(stmt)), total


def list_funders(page: int | None = None, per_page: int | None = None) -> tuple[list[Funder], int]:
    return _page(select(Funder).order_by(Funder.name, Funder.id), page, per_page)


# --- agreements -----------------------------------------------------------------------------


def _check_targets(targets: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, int]:
    skus = [key for key in targets if key not in INDICATORS]
    known = set(db.session.scalars(select(Product.sku).where(Product.sku.in_(skus)))) if skus else set()
    clean: dict[str, int] = {}
    for key, value in targets.items():
        if key not in INDICATORS and key not in known:
            errors.setdefault("targets", []).append(
                _("%(key)s : ni un indicateur ni une référence du catalogue.", key=key))
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_TARGET:
            errors.setdefault("targets", []).append(
                _("%(key)s : objectif entier entre 1 et %(max)d attendu.", key=key, max=MAX_TARGET))
        else:
            clean[key] = value
    return clean


def create_convention(actor: User, data: dict[str, Any]) -> Convention:
    """Check everything, then store the agreement (422 naming each bad field)."""
    national_scope(_("création d'une convention"))
    errors: dict[str, list[str]] = {}
    if db.session.get(Funder, data["funder_id"]) is None:
        errors["funder_id"] = [_("Financeur inconnu.")]
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = [_("Indiquez le nom de la convention.")]
    starts_on, ends_on = data["starts_on"], data["ends_on"]
    if ends_on < starts_on:
        errors["ends_on"] = [_("La fin de la convention précède son début.")]
    relais_ids, departements = data.get("relais_ids"), data.get("departements")
    if relais_ids is not None and departements is not None:
        errors["departements"] = [_("Indiquez soit des relais, soit des départements, pas les deux.")]
    if relais_ids:
        found = set(db.session.scalars(select(Relais.id).where(Relais.id.in_(relais_ids))))
        if missing := sorted(set(relais_ids) - found):
            errors["relais_ids"] = [_("Relais inconnu(s) : %(ids)s.", ids=", ".join(map(str, missing)))]
    elif relais_ids is not None:
        errors["relais_ids"] = [_("Indiquez au moins un relais.")]
    if departements is not None:
        departements = [code.strip().upper() for code in departements]
        if not departements or any(code not in ALL_DEPARTEMENTS for code in departements):
            errors["departements"] = [_("Départements inconnus ou absents.")]
    targets = _check_targets(data.get("targets") or {}, errors)
    if errors:
        raise ValidationFailed(errors)
    convention = Convention(
        funder_id=data["funder_id"], name=name, starts_on=starts_on, ends_on=ends_on,
        relais_ids=sorted(set(relais_ids)) if relais_ids else None,
        departements=sorted(set(departements)) if departements else None,
        targets=targets, created_by_id=actor.id)
    db.session.add(convention)
    db.session.flush()
    audit.record("convention_created", target=convention)
    return convention


def _covers(relais_id: Any, departement: Any) -> ColumnElement[bool]:
    """SQL: the agreement covers this relais (listed, in a listed département, or network-wide)."""
    return or_(
        Convention.relais_ids.any(relais_id),
        Convention.departements.any(departement),
        (Convention.relais_ids.is_(None) & Convention.departements.is_(None)),
    )


def _reachable(actor: User) -> ColumnElement[bool]:
    if actor.role == Role.NATIONAL:
        return true()
    if actor.role == Role.COACH:
        portfolio = select(Relais.id).where(Relais.coach_id == actor.id,
                                            _covers(Relais.id, Relais.departement))
        return portfolio.exists()
    if actor.role == Role.RELAIS_ADMIN and actor.relais_id is not None:
        own = select(Relais.id).where(Relais.id == actor.relais_id, _covers(Relais.id, Relais.departement))
        return own.exists()
    return false()


def list_conventions(actor: User, page: int | None = None, per_page: int | None = None
                     ) -> tuple[list[Convention], int]:
    stmt = select(Convention).where(_reachable(actor)).order_by(Convention.starts_on.desc(), Convention.id)
    return _page(stmt, page, per_page)


def get_convention(actor: User, convention_id: int) -> Convention:
    convention = db.session.scalar(
        select(Convention).where(Convention.id == convention_id, _reachable(actor)))
    if convention is None:
        raise NotFound(_("Convention introuvable."))
    return convention


def relais_ids_of(convention: Convention) -> tuple[int, ...] | None:
    """The relais the agreement covers (None: the whole network)."""
    if convention.relais_ids is not None:
        return tuple(sorted(convention.relais_ids))
    if convention.departements is not None:
        return tuple(db.session.scalars(
            select(Relais.id).where(Relais.departement.in_(convention.departements)).order_by(Relais.id)))
    return None


# --- the agreement's report -----------------------------------------------------------------


def _ratio(actual: Any, target: int) -> float | None:
    if actual in (SMALL, WITHHELD) or not isinstance(actual, int | float):
        return None
    return round(actual / target, 3)


def target_rows(convention: Convention, totals: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, target in convention.targets.items():
        actual = totals[key] if key in INDICATORS else totals["distributions"].get(key, 0)
        rows.append({"indicator": key, "target": target, "actual": actual, "ratio": _ratio(actual, target)})
    return rows


@on_replica
def convention_report(actor: User, convention_id: int) -> dict[str, Any]:
    """Targets against actuals over the agreement's period, in the actor's part of its scope."""
    convention = get_convention(actor, convention_id)
    scope = activity_scope(actor, convention_id=convention.id)
    period = Period(convention.starts_on, convention.ends_on)
    activity = activity_report(scope, period)
    return {
        "convention": describe(convention),
        "targets": target_rows(convention, activity["totals"]),
        "earmarked": earmarks.handed_out(convention, scope.bilan.relais_ids, exact=scope.exact),
        "activity": activity,
    }


def describe(convention: Convention) -> dict[str, Any]:
    return {
        "id": convention.id, "funder_id": convention.funder_id, "funder": convention.funder.name,
        "name": convention.name, "starts_on": convention.starts_on, "ends_on": convention.ends_on,
        "relais_ids": convention.relais_ids, "departements": convention.departements,
        "targets": convention.targets,
    }


def activity_scope(actor: User, *, convention_id: int | None = None, **filters: Any) -> ActivityScope:
    """The activity report's reach for `actor`, narrowed to an agreement's relais when one is
    named (another relais' or an unknown agreement: 404)."""
    if convention_id is None:
        return resolve_activity_scope(actor, **filters)
    convention = get_convention(actor, convention_id)
    return resolve_activity_scope(actor, **filters, agreement=(convention.id, relais_ids_of(convention)))
