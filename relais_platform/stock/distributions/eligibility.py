"""The seeds' rules on who receives what, checked for every distribution and hand-over.

- Connection (SIM, recharge, kit) and equipment go to registered people only.
- The solidarity connection lasts 12 months per person from their first connection product
  (`Beneficiary.connection_started_on`, kept here); after that, 409 `connection_period_over`
  naming the end date, unless a relais admin extended it (`beneficiaries.connection`).
- Connect Refugees (the kit, or any line under that programme) is free and given once: a
  person who already received it in an earlier act gets 409.

Errors name the field as the caller spells it: `sku` for a distribution, `lines.1.sku` for
the second line of a hand-over (`prefix`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import exists, func, select

from relais_platform.beneficiaries.models import Beneficiary
from relais_platform.domain import Conflict, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Category, Product
from relais_platform.stock.distributions.models import Distribution, Programme
from relais_platform.tenants.models import Dimension

CONNECTION_PERIOD_OVER = "connection_period_over"
CONNECT_REFUGEES_GIVEN = "connect_refugees_already_given"


@dataclass(frozen=True)
class Line:
    prefix: str  # "" or "lines.<n>."
    product: Product
    price_cents: int
    programme: Programme


def is_connection(product: Product) -> bool:
    return product.dimension == Dimension.CONNEXION


def is_connect_refugees(product: Product, programme: Programme) -> bool:
    return programme == Programme.CONNECT_REFUGEES or product.category == Category.KIT


def needs_registration(product: Product) -> bool:
    return product.category != Category.OTHER


def locked_beneficiary(beneficiary_id: int | None, field: str = "beneficiary_id") -> Beneficiary | None:
    """The person, row-locked so that two hand-overs to them apply the rules one after the other."""
    if beneficiary_id is None:
        return None
    beneficiary = db.session.scalar(
        select(Beneficiary).where(Beneficiary.id == beneficiary_id).with_for_update()
        .execution_options(populate_existing=True))
    if beneficiary is None or beneficiary.is_anonymised:
        # Another relais' person and nobody read alike.
        raise ValidationFailed.field(field, _("Bénéficiaire introuvable."))
    return beneficiary


def check(beneficiary: Beneficiary | None, lines: Sequence[Line], day: date) -> None:
    """Every rule for these lines, handed over together on `day` (nothing written)."""
    errors: dict[str, list[str]] = {}
    for line in lines:
        if beneficiary is None and needs_registration(line.product):
            errors["beneficiary_id"] = [_("Connexion et équipement sont remis à des personnes inscrites : "
                                          "choisissez le ou la bénéficiaire.")]
        if is_connect_refugees(line.product, line.programme) and line.price_cents != 0:
            errors[f"{line.prefix}price_cents"] = [_("Connect Refugees est gratuit : le prix doit être 0.")]
    if errors:
        raise ValidationFailed(errors)
    if beneficiary is None:
        return
    refugees = [line for line in lines if is_connect_refugees(line.product, line.programme)]
    if refugees and _received_connect_refugees(beneficiary.id):
        message = _("Cette personne a déjà reçu son kit Connect Refugees (un seul par personne).")
        raise Conflict(message, {"code": [CONNECT_REFUGEES_GIVEN], f"{refugees[0].prefix}sku": [message]})
    connection = [line for line in lines if is_connection(line.product)]
    until = beneficiary.connection_until
    if connection and until is not None and day > until:
        message = _("La période de connexion solidaire de cette personne a pris fin le %(day)s.",
                    day=until.strftime("%d/%m/%Y"))
        raise Conflict(message, {"code": [CONNECTION_PERIOD_OVER], "connection_until": [until.isoformat()],
                                 f"{connection[0].prefix}sku": [message]})


def _received_connect_refugees(beneficiary_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(
        Distribution.beneficiary_id == beneficiary_id, Distribution.cancelled_at.is_(None),
        (Distribution.programme == Programme.CONNECT_REFUGEES)
        | Distribution.product_id.in_(select(Product.id).where(Product.category == Category.KIT))))))


def start_connection(beneficiary: Beneficiary | None, lines: Sequence[Line], day: date) -> None:
    """A connection product handed over: the period starts now (or earlier, if backdated)."""
    if beneficiary is None or not any(is_connection(line.product) for line in lines):
        return
    if beneficiary.connection_started_on is None or day < beneficiary.connection_started_on:
        beneficiary.connection_started_on = day


def recompute_connection(beneficiary_id: int) -> None:
    """After a cancellation: the period starts at the first connection product still standing."""
    beneficiary = db.session.get(Beneficiary, beneficiary_id)
    if beneficiary is None:
        raise NotFound(_("Bénéficiaire introuvable."))
    beneficiary.connection_started_on = db.session.scalar(
        select(func.min(Distribution.distributed_on))
        .join(Product, Product.id == Distribution.product_id)
        .where(Distribution.beneficiary_id == beneficiary_id, Distribution.cancelled_at.is_(None),
               Product.dimension == Dimension.CONNEXION))
