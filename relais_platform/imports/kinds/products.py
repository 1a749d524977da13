"""The catalogue: a product per row, created or (same SKU) updated, by the catalogue's rules.

Prices are written in euros in the file ("5" or "5,50"), stored in cents as everywhere.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from relais_platform.domain import ValidationFailed
from relais_platform.extensions import db
from relais_platform.imports.kinds.base import NATIONAL_ONLY, Column, Importer, parse_bool, parse_int
from relais_platform.stock.catalogue import services as catalogue
from relais_platform.stock.catalogue.models import Category, Product, SerialKind
from relais_platform.tabular.reader import Row

FIELD_COLUMNS = {"unit_price_cents": "unit_price", "max_resale_price_cents": "max_resale_price"}


def _cents(value: str) -> int | str | None:
    """Euros to cents; the original text when it is not an amount (reported by the caller)."""
    if not value:
        return None
    try:
        amount = Decimal(value.replace("€", "").replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return value
    cents = amount * 100
    return int(cents) if cents == cents.to_integral_value() else value


class ProductsImporter(Importer):
    kind = "products"
    label = _l("Catalogue des produits")
    roles = NATIONAL_ONLY
    columns = (
        Column("sku", _l("Référence unique (A-Z, 0-9, tiret, souligné) ; "
                          "une référence existante est mise à jour."),
               "RECH-INTER-30J"),
        Column("name", _l("Nom du produit."), "Recharge Internationale 30 jours"),
        Column("category", _l("Catégorie : %(values)s.", values=", ".join(c.value for c in Category)),
               "recharge"),
        Column("dimension", _l("Dimension : connexion ou equipement."), "connexion"),
        Column("serialized", _l("oui si le produit est suivi à l'unité."), "non", required=False),
        Column("serial_kind",
               _l("Type de numéro : %(values)s.", values=", ".join(k.value for k in SerialKind)),
               "", required=False),
        Column("unit_price", _l("Prix payé par le relais, en euros."), "5"),
        Column("max_resale_price", _l("Prix maximum de revente au bénéficiaire, en euros."), "5"),
        Column("validity_days", _l("Durée de validité en jours (recharges)."), "30", required=False),
        Column("data_gb", _l("Données en Go (connexion)."), "", required=False),
        Column("warranty_months", _l("Garantie en mois (appareils)."), "", required=False),
        Column("description", _l("Description."), "Appels vers 203 pays", required=False),
        Column("active", _l("non pour retirer le produit des commandes."), "oui", required=False),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.skus: set[str] = set()

    def check_batch(self, rows: list[Row]) -> list[Any]:
        records = []
        for row in rows:
            data: dict[str, Any] = {name: row.get(name) for name in
                                    ("sku", "name", "category", "dimension", "serial_kind", "description")}
            ok = True
            for name in ("serialized", "active"):
                value = parse_bool(row.get(name)) if row.get(name) else None
                if row.get(name) and value is None:
                    self.problems.error(row.number, name, _("oui ou non attendu."))
                    ok = False
                data[name] = value
            for field, column in FIELD_COLUMNS.items():
                data[field] = _cents(row.get(column))
            for name in ("validity_days", "warranty_months"):
                data[name] = parse_int(row.get(name)) if row.get(name) else None
                if row.get(name) and data[name] is None:
                    self.problems.error(row.number, name, _("Nombre entier attendu."))
                    ok = False
            data["data_gb"] = row.get("data_gb").replace(",", ".") or None
            try:
                cleaned = catalogue._clean(data)
            except ValidationFailed as exc:
                self.problems.field_errors(row.number, exc, FIELD_COLUMNS)
                continue
            if cleaned["sku"] in self.skus:
                self.problems.error(row.number, "sku",
                                    _("Cette référence figure plusieurs fois dans le fichier."))
                continue
            self.skus.add(cleaned["sku"])
            if ok:
                if row.get("active") == "":
                    cleaned.pop("active")
                records.append(cleaned)
        return records

    def write_batch(self, records: list[Any]) -> None:
        existing = {p.sku: p for p in db.session.scalars(
            select(Product).where(Product.sku.in_([r["sku"] for r in records])))}
        for data in records:
            product = existing.get(data["sku"])
            if product is None:
                catalogue.create_product(data)
                self.created += 1
            else:
                catalogue.update_product(product, data)
                self.updated += 1
