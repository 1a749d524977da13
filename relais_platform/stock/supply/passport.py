"""The device passport: a serialized unit's whole life, from its donor to the person who
received it and back under warranty.

National reads it under its audited scope and never sees a person (the hand-over is a date
and a relais, from the unit's history). A relais reads only its own units, and sees the
hand-over as it recorded it, with its own person's name when it holds one (audited read).
Commercial data (values, gifts) and supplier returns are the national team's only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from relais_platform.beneficiaries import registry
from relais_platform.domain import NotFound
from relais_platform.extensions import db
from relais_platform.stock.distributions.models import Distribution
from relais_platform.stock.supply.models import (
    Collection,
    Supplier,
    SupplierReturn,
    SupplierReturnLine,
    SupplyReceipt,
    UnitOrigin,
)
from relais_platform.stock.warehouse.models import SerialUnit, SerialUnitEvent, UnitStatus
from relais_platform.tenants.models import Relais

WARRANTY_STATUSES = (UnitStatus.RETURNED, UnitStatus.DEFECTIVE)


def _supplier(supplier: Supplier | None) -> dict[str, Any] | None:
    return (
        None if supplier is None else {"id": supplier.id, "name": supplier.name, "kind": supplier.kind.value}
    )


def _relais_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Relais.id, Relais.name).where(Relais.id.in_(ids))).tuples().all())


def build(unit: SerialUnit, history: list[SerialUnitEvent], *, national: bool) -> dict[str, Any]:
    """The passport of a unit the caller may see (`national`: the national team's view)."""
    origin = db.session.get(UnitOrigin, unit.id)
    suppliers = {
        s.id: s
        for s in db.session.scalars(
            select(Supplier).where(
                Supplier.id.in_([i for i in (origin.supplier_id, origin.donor_id) if i] if origin else [])
            )
        )
    }
    passport: dict[str, Any] = {
        "supplier": _supplier(suppliers.get(origin.supplier_id)) if origin and origin.supplier_id else None,
        "donor": _supplier(suppliers.get(origin.donor_id)) if origin and origin.donor_id else None,
        "grade": origin.grade.value if origin and origin.grade else None,
        "wipe_certificate": origin.wipe_certificate if origin else None,
        "collection": None,
        "receipt": {"received_at": unit.received_at},
        "shipments": [],
        "handover": None,
        "warranty_events": [],
        "supplier_returns": [],
    }
    relais_ids = {event.relais_id for event in history if event.relais_id}
    names = _relais_names(relais_ids)
    handed: SerialUnitEvent | None = None
    for event in history:
        if event.to_status == UnitStatus.SHIPPED:
            passport["shipments"].append(
                {
                    "order_id": event.order_id,
                    "relais_id": event.relais_id,
                    "relais_name": names.get(event.relais_id or 0),
                    "shipped_at": event.occurred_at,
                }
            )
        elif event.to_status == UnitStatus.DISTRIBUTED:
            handed = event
        elif event.from_status == UnitStatus.DISTRIBUTED and event.to_status in WARRANTY_STATUSES:
            passport["warranty_events"].append(
                {
                    "occurred_at": event.occurred_at,
                    "outcome": event.to_status.value,
                    "note": event.note,
                    "relais_id": event.relais_id,
                }
            )
    if handed is not None:
        passport["handover"] = {
            "date": handed.occurred_at.date(),
            "relais_id": handed.relais_id,
            "relais_name": names.get(handed.relais_id or 0),
            "beneficiary_name": None,
        }
    if national:
        _national_part(unit, origin, passport)
    else:
        _relais_part(unit, passport)
    return passport


def _national_part(unit: SerialUnit, origin: UnitOrigin | None, passport: dict[str, Any]) -> None:
    if origin is not None:
        receipt = db.session.get(SupplyReceipt, origin.receipt_id)
        if receipt is not None:
            passport["receipt"] = {
                "id": receipt.id,
                "received_at": receipt.received_at,
                "donation": receipt.donation,
                "unit_value_cents": receipt.unit_value_cents,
            }
        if origin.collection_id:
            collection = db.session.get(Collection, origin.collection_id)
            if collection is not None:
                passport["collection"] = {
                    "id": collection.id,
                    "collected_on": collection.collected_on,
                    "donor": _supplier(collection.donor),
                    "refurbisher": _supplier(collection.refurbisher),
                }
    rows = (
        db.session.execute(
            select(SupplierReturnLine, SupplierReturn)
            .join(SupplierReturn, SupplierReturn.id == SupplierReturnLine.supplier_return_id)
            .where(
                or_(SupplierReturnLine.unit_id == unit.id, SupplierReturnLine.replacement_unit_id == unit.id)
            )
            .order_by(SupplierReturnLine.id)
        )
        .tuples()
        .all()
    )
    replacements = dict(
        db.session.execute(
            select(SerialUnit.id, SerialUnit.serial).where(
                SerialUnit.id.in_(
                    [line.replacement_unit_id for line, _batch in rows if line.replacement_unit_id]
                )
            )
        )
        .tuples()
        .all()
    )
    passport["supplier_returns"] = [
        {
            "return_id": batch.id,
            "supplier": _supplier(batch.supplier),
            "sent_at": batch.created_at,
            "outcome": line.outcome.value if line.outcome else None,
            "answered_at": line.answered_at,
            "replacement_serial": replacements.get(line.replacement_unit_id or 0),
            "replaces": line.unit_id != unit.id,
        }
        for line, batch in rows
    ]


def _relais_part(unit: SerialUnit, passport: dict[str, Any]) -> None:
    """The relais' own records: the hand-over as recorded, the person, exchanges."""
    distributions = list(
        db.session.scalars(
            select(Distribution)
            .where(Distribution.unit_id == unit.id, Distribution.cancelled_at.is_(None))
            .order_by(Distribution.id)
        )
    )
    if not distributions:
        return
    distribution = distributions[-1]
    name = None
    if distribution.beneficiary_id is not None:
        try:
            person = registry.view(distribution.beneficiary_id)
        except NotFound:  # anonymised since: the hand-over stays, the name is gone
            person = None
        name = f"{person.first_name} {person.last_name}" if person else None
    handover = passport["handover"] or {"relais_id": distribution.relais_id, "relais_name": None}
    passport["handover"] = {
        **handover,
        "date": distribution.distributed_on,
        "distribution_id": distribution.id,
        "beneficiary_name": name,
    }
