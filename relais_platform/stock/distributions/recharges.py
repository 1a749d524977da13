"""Recharges coming due: the relais' people whose last recharge runs out soon, so that the
worker can call them (phone and language shown). Personal data: the bound relais only,
the reading audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Date, cast, select

from relais_platform.audit import services as audit
from relais_platform.beneficiaries.models import Beneficiary
from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Category, Product
from relais_platform.stock.distributions.models import Distribution
from relais_platform.stock.scope import bound_relais_id, local_today

MAX_WITHIN_DAYS = 90


@dataclass(frozen=True)
class Due:
    beneficiary: Beneficiary
    sku: str
    product_name: str
    recharged_on: date
    runs_out_on: date


def due(within_days: int) -> list[Due]:
    """People whose last recharge (from its product's validity) runs out in [today, today + N]."""
    relais_id = bound_relais_id()
    today = local_today()
    runs_out = cast(Distribution.distributed_on + Product.validity_days, Date)
    last = (
        select(Distribution.beneficiary_id, Distribution.distributed_on.label("recharged_on"),
               runs_out.label("runs_out_on"), Product.sku, Product.name)
        .join(Product, Product.id == Distribution.product_id)
        .where(Distribution.beneficiary_id.is_not(None), Distribution.cancelled_at.is_(None),
               Product.category == Category.RECHARGE, Product.validity_days.is_not(None))
        # The last recharge of each person: the one that runs out last.
        .order_by(Distribution.beneficiary_id, runs_out.desc(), Distribution.id.desc())
        .distinct(Distribution.beneficiary_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Beneficiary, last.c.sku, last.c.name, last.c.recharged_on, last.c.runs_out_on)
        .join(last, last.c.beneficiary_id == Beneficiary.id)
        .where(Beneficiary.anonymised_at.is_(None), last.c.runs_out_on >= today,
               last.c.runs_out_on <= today + timedelta(days=within_days))
        .order_by(last.c.runs_out_on, Beneficiary.last_name, Beneficiary.id)
    ).tuples().all()
    found = [Due(b, sku, name, recharged_on, runs_out_on) for b, sku, name, recharged_on, runs_out_on in rows]
    audit.record("recharges_due_viewed", relais_id=relais_id, details={"within_days": within_days,
                                                  "beneficiary_ids": [d.beneficiary.id for d in found]})
    return found

