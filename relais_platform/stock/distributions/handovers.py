"""Hand-overs (« remises »): several items to one registered person in one act.

All or nothing: every line is checked first (fields, serials, the seeds' rules), and a bad
line is named in the errors (`lines.1.serial`); nothing is written until all pass, and a
refusal while writing (stock short) aborts the request's transaction, stock included. Each
line is a `Distribution` pointing at the hand-over, so everything built on distributions
(stock, reports, the bilan, cancellation of one line) stays as it is.

Statements: one lookup for all the products, one lock per serial and on the person, then
per line the distribution, its ledger movement and its audit entry — linear in the lines,
with no per-line read beyond the locks (see benchmarks/bench_handovers.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from relais_platform.audit import services as audit
from relais_platform.audit.services import current_actor_id
from relais_platform.beneficiaries import registry
from relais_platform.beneficiaries.models import Beneficiary
from relais_platform.domain import Conflict, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.distributions import eligibility
from relais_platform.stock.distributions import services as distributions
from relais_platform.stock.distributions.models import Handover
from relais_platform.stock.scope import bound_relais_id, local_today

MAX_LINES = 50


def _prefixed(index: int, exc: ValidationFailed | Conflict) -> dict[str, list[str]]:
    return {f"lines.{index}.{field}": messages for field, messages in exc.errors.items()}


def record(data: Mapping[str, Any]) -> Handover:
    """Record a hand-over of `data["lines"]` to `data["beneficiary_id"]`."""
    relais_id = bound_relais_id()
    today = local_today()
    raw_lines = list(data.get("lines") or [])
    errors: dict[str, list[str]] = {}
    if data.get("beneficiary_id") is None:
        errors["beneficiary_id"] = [_("Une remise se fait à une personne inscrite : choisissez-la.")]
    if not raw_lines:
        errors["lines"] = [_("Ajoutez au moins un article.")]
    elif len(raw_lines) > MAX_LINES:
        errors["lines"] = [_("%(n)d lignes au plus.", n=MAX_LINES)]
    common = {"date": data.get("date"), "programme": data.get("programme")}
    checked: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_lines[:MAX_LINES]):
        try:
            checked.append(distributions.clean({**raw, **common}, today))
        except ValidationFailed as exc:
            errors.update(_prefixed(index, exc))
    seen: dict[tuple[int, str], int] = {}
    for index, values in enumerate(checked):
        key = (values["product"].id, values["serial"])
        if values["serial"] and key in seen:
            errors[f"lines.{index}.serial"] = [_("Le numéro %(serial)s figure déjà ligne %(n)d.",
                                                 serial=values["serial"], n=seen[key] + 1)]
        seen.setdefault(key, index)
    if errors:
        raise ValidationFailed(errors)

    beneficiary = eligibility.locked_beneficiary(data["beneficiary_id"])
    assert beneficiary is not None
    day = checked[0]["day"]
    lines = [eligibility.Line(f"lines.{i}.", v["product"], v["price_cents"], v["programme"])
             for i, v in enumerate(checked)]
    eligibility.check(beneficiary, lines, day)
    units = []
    for index, values in enumerate(checked):
        try:
            units.append(distributions.lock_unit(values["product"], values["serial"], relais_id)
                         if values["serial"] else None)
        except ValidationFailed as exc:
            errors.update(_prefixed(index, exc))
    if errors:
        raise ValidationFailed(errors)

    eligibility.start_connection(beneficiary, lines, day)
    handover = Handover(beneficiary_id=beneficiary.id, handed_on=day, recorded_by_id=current_actor_id())
    db.session.add(handover)
    db.session.flush()
    for index, (values, unit) in enumerate(zip(checked, units, strict=True)):
        try:
            distributions.write(relais_id, values, unit, beneficiary.id, handover.id)
        except Conflict as exc:  # stock short: the request's transaction is rolled back
            raise Conflict(exc.message, {f"lines.{index}.quantity": [exc.message]}) from None
    registry.touch([beneficiary.id], distributions.seen_at(day, today))
    audit.record("handover_recorded", target=handover,
                 details={"beneficiary_id": beneficiary.id, "lines": len(checked)})
    db.session.expire(handover, ["lines"])
    return handover


def get(handover_id: int) -> Handover:
    """A hand-over of the bound relais (another relais' does not exist: 404)."""
    bound_relais_id()
    handover = db.session.scalar(select(Handover).where(Handover.id == handover_id))
    if handover is None:
        raise NotFound(_("Remise introuvable."))
    return handover


def of_beneficiary(beneficiary_id: int, limit: int = 50) -> list[Handover]:
    """The person's hand-overs, newest first (lines loaded in one more query)."""
    return list(db.session.scalars(
        select(Handover).where(Handover.beneficiary_id == beneficiary_id)
        .order_by(Handover.handed_on.desc(), Handover.id.desc()).limit(limit)))


def language_of(handover: Handover) -> object:
    """The registered language of the person (for their receipt)."""
    beneficiary = db.session.get(Beneficiary, handover.beneficiary_id)
    return beneficiary.language if beneficiary is not None else None
