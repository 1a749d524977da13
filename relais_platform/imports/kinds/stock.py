"""Stock at go-live: the opening stock of each relais, and serial lists into national stock.

- `relais_stock`: quantities per relais and product, one serial per row for serialized
  products, recorded through the relais ledger (reason « reprise de l'existant »); the units
  are registered as held by the relais.
- `serials`: a receipt into national stock from a serial list of any length, through
  `national.receive` (its ICCID/IMEI checks and registry check), at most
  MAX_SERIALS_PER_RECEIPT serials per receipt.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, String, Table, any_, bindparam, func, insert, literal, null, select
from sqlalchemy.dialects.postgresql import ARRAY

from relais_platform.audit.services import current_actor_id
from relais_platform.extensions import db
from relais_platform.imports.kinds.base import (
    MEANING_SIRET,
    NATIONAL_ONLY,
    Column,
    Importer,
    parse_int,
    required_problem,
)
from relais_platform.stock.catalogue.models import Product, SerialKind
from relais_platform.stock.scope import open_national_scope
from relais_platform.stock.warehouse import ledger, national
from relais_platform.stock.warehouse.models import RelaisMovementKind, SerialUnit, SerialUnitEvent, UnitStatus
from relais_platform.stock.warehouse.serials import MAX_SERIALS_PER_RECEIPT, normalize, serial_problem
from relais_platform.tabular.reader import Row
from relais_platform.tenants.models import Relais

OPENING_REASON = "reprise de l'existant"
MAX_OPENING_QUANTITY = 1_000_000


class _SerialRows(Importer):
    """Shared: products by SKU, serial checks, repeats in the file, serials already known."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.products: dict[str, Product | None] = {}
        self.seen: dict[int, set[str]] = defaultdict(set)

    def begin(self) -> None:
        open_national_scope(_("import : %(kind)s", kind=self.kind))

    def product(self, sku: str) -> Product | None:
        key = sku.strip().upper()
        if key not in self.products:
            self.products[key] = db.session.scalar(select(Product).where(Product.sku == key))
        return self.products[key]

    def check_serial(self, row: Row, product: Product) -> str | None:
        kind = SerialKind(str(product.serial_kind))
        serial = normalize(kind, row.get("serial"))
        problem = serial_problem(kind, serial)
        if problem:
            self.problems.error(row.number, "serial", problem)
            return None
        if serial in self.seen[product.id]:
            self.problems.error(row.number, "serial", _("saisi plusieurs fois"))
            return None
        self.seen[product.id].add(serial)
        return serial

    def known(self, wanted: list[tuple[Row, Product, str]]) -> set[tuple[int, str]]:
        by_product: dict[int, list[str]] = defaultdict(list)
        for _row, product, serial in wanted:
            by_product[product.id].append(serial)
        found: set[tuple[int, str]] = set()
        for product_id, serials in by_product.items():
            found.update(db.session.execute(
                select(SerialUnit.product_id, SerialUnit.serial).where(
                    SerialUnit.product_id == product_id,
                    SerialUnit.serial == any_(bindparam("serials", serials, type_=ARRAY(String))))).tuples())
        return found


class SerialsImporter(_SerialRows):
    kind = "serials"
    label = _l("Numéros de série reçus au stock national")
    roles = NATIONAL_ONLY
    columns = (
        Column("sku", _l("Référence du produit suivi à l'unité."), "SIM-SOLIDAIRE"),
        Column("serial",
               _l("ICCID (19-20 chiffres, commence par 89), IMEI (15 chiffres) ou numéro de série."),
               "89330123456789012344"),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pending: dict[int, list[str]] = defaultdict(list)

    def check_batch(self, rows: list[Row]) -> list[Any]:
        wanted: list[tuple[Row, Product, str]] = []
        for row in rows:
            if required_problem(row, ("sku", "serial"), self.problems):
                continue
            product = self.product(row.get("sku"))
            if product is None:
                self.problems.error(row.number, "sku", _("Référence inconnue : %(sku)s.", sku=row.get("sku")))
                continue
            if not product.serialized:
                self.problems.error(row.number, "sku",
                                    _("%(sku)s n'est pas suivi à l'unité.", sku=product.sku))
                continue
            serial = self.check_serial(row, product)
            if serial is not None:
                wanted.append((row, product, serial))
        # national.receive refuses known serials again while it writes: not twice here.
        known = set() if self.applying else self.known(wanted)
        records = []
        for row, product, serial in wanted:
            if (product.id, serial) in known:
                self.problems.error(row.number, "serial", _("déjà enregistré pour %(sku)s", sku=product.sku))
            else:
                records.append((product.id, serial))
        return records

    def write_batch(self, records: list[Any]) -> None:
        for product_id, serial in records:
            self.pending[product_id].append(serial)
        for product_id in [pid for pid, serials in self.pending.items()
                           if len(serials) >= MAX_SERIALS_PER_RECEIPT]:
            self._receive(product_id)

    def _receive(self, product_id: int) -> None:
        serials = self.pending.pop(product_id, [])
        if serials:
            product = db.session.get(Product, product_id)
            assert product is not None
            self.created += national.receive(
                product, serials=serials,
                reason=_("Import de numéros de série n° %(id)d", id=self.context.import_id))

    def finish(self) -> None:
        for product_id in sorted(self.pending):
            self._receive(product_id)


class RelaisStockImporter(_SerialRows):
    kind = "relais_stock"
    label = _l("Stock d'ouverture des relais (reprise de l'existant)")
    roles = NATIONAL_ONLY
    columns = (
        Column("relais_siret", MEANING_SIRET, "73282932000074"),
        Column("sku", _l("Référence du produit."), "RECH-INTER-30J"),
        Column("quantity", _l("Quantité en stock (produits non suivis à l'unité)."), "25", required=False),
        Column("serial", _l("Numéro de série : une ligne par unité pour les produits suivis à l'unité."), "",
               required=False),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.relais: dict[str, int | None] = {}
        self.quantities: dict[tuple[int, int], int] = defaultdict(int)
        self.units: dict[tuple[int, int], list[str]] = defaultdict(list)

    def relais_id(self, siret: str) -> int | None:
        key = siret.replace(" ", "")
        if key not in self.relais:
            self.relais[key] = db.session.scalar(select(Relais.id).where(Relais.siret == key))
        return self.relais[key]

    def check_batch(self, rows: list[Row]) -> list[Any]:
        wanted: list[tuple[Row, Product, str]] = []
        relais_of: dict[int, int] = {}
        records: list[Any] = []
        for row in rows:
            if required_problem(row, ("relais_siret", "sku"), self.problems):
                continue
            relais_id = self.relais_id(row.get("relais_siret"))
            product = self.product(row.get("sku"))
            if relais_id is None:
                self.problems.error(row.number, "relais_siret", _("Aucun relais avec ce SIRET."))
            if product is None:
                self.problems.error(row.number, "sku", _("Référence inconnue : %(sku)s.", sku=row.get("sku")))
            if relais_id is None or product is None:
                continue
            if product.serialized:
                if row.get("quantity") not in ("", "1"):
                    self.problems.error(row.number, "quantity", _(
                        "%(sku)s est suivi à l'unité : une ligne par numéro de série, sans quantité.",
                        sku=product.sku))
                    continue
                if required_problem(row, ("serial",), self.problems):
                    continue
                serial = self.check_serial(row, product)
                if serial is not None:
                    wanted.append((row, product, serial))
                    relais_of[row.number] = relais_id
                continue
            if row.get("serial"):
                self.problems.error(row.number, "serial",
                                    _("%(sku)s n'est pas suivi à l'unité.", sku=product.sku))
                continue
            quantity = parse_int(row.get("quantity"))
            if quantity is None or not 0 < quantity <= MAX_OPENING_QUANTITY:
                self.problems.error(row.number, "quantity", _(
                    "Quantité entre 1 et %(max)d attendue.", max=MAX_OPENING_QUANTITY))
                continue
            records.append((relais_id, product.id, quantity, None))
        known = self.known(wanted)
        for row, product, serial in wanted:
            if (product.id, serial) in known:
                self.problems.error(row.number, "serial", _("déjà enregistré pour %(sku)s", sku=product.sku))
            else:
                records.append((relais_of[row.number], product.id, 1, serial))
        return records

    def write_batch(self, records: list[Any]) -> None:
        # Accumulated, then written per relais and product: one ledger row each.
        for relais_id, product_id, quantity, serial in records:
            self.quantities[(relais_id, product_id)] += quantity
            if serial is not None:
                self.units[(relais_id, product_id)].append(serial)

    def finish(self) -> None:
        by_relais: dict[int, list[int]] = defaultdict(list)
        for relais_id, product_id in self.quantities:
            by_relais[relais_id].append(product_id)
        for relais_id in sorted(by_relais):
            levels = ledger.lock_relais_levels(relais_id, by_relais[relais_id])
            for product_id in sorted(by_relais[relais_id]):
                product = db.session.get(Product, product_id)
                assert product is not None
                ledger.move_relais(relais_id, product, RelaisMovementKind.ADJUSTMENT,
                                   self.quantities[(relais_id, product_id)], reason=OPENING_REASON,
                                   level=levels[product_id])
                if self.units.get((relais_id, product_id)):
                    _insert_held_units(relais_id, product_id, self.units[(relais_id, product_id)])
            self.created += len(by_relais[relais_id])


def _insert_held_units(relais_id: int, product_id: int, serials: list[str]) -> None:
    """Units already at the relais: one INSERT … SELECT FROM unnest, chained to their first event."""
    units, events = cast(Table, SerialUnit.__table__), cast(Table, SerialUnitEvent.__table__)
    serial = func.unnest(bindparam("serials", serials, type_=ARRAY(String))).column_valued()
    at_relais = literal(UnitStatus.AT_RELAIS, units.c.status.type)
    new_units = (
        insert(units)
        .from_select(["product_id", "serial", "status", "relais_id", "received_at"],
                     select(literal(product_id), serial, at_relais, literal(relais_id, BigInteger),
                            func.now()))
        .returning(units.c.id)
        .cte("new_units")
    )
    db.session.execute(
        insert(events).from_select(
            ["unit_id", "occurred_at", "from_status", "to_status", "relais_id", "actor_id", "note"],
            select(new_units.c.id, func.now(), null(), literal(UnitStatus.AT_RELAIS, events.c.to_status.type),
                   literal(relais_id, BigInteger), literal(current_actor_id(), BigInteger),
                   literal(OPENING_REASON)),
        )
    )
