"""Web forms of the catalogue."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from relais_platform.stock.catalogue.models import Category, SerialKind
from relais_platform.stock.fields import EuroField, optional_int
from relais_platform.tenants.models import Dimension

CATEGORY_LABELS = {
    Category.SIM: _l("Carte SIM"),
    Category.RECHARGE: _l("Recharge"),
    Category.LAPTOP: _l("Ordinateur portable"),
    Category.SMARTPHONE: _l("Smartphone"),
    Category.TABLET: _l("Tablette"),
    Category.BASIC_PHONE: _l("Téléphone simple"),
    Category.KIT: _l("Kit"),
    Category.OTHER: _l("Autre"),
}


SERIAL_KIND_LABELS = {
    SerialKind.ICCID: _l("ICCID (carte SIM)"),
    SerialKind.IMEI: _l("IMEI (téléphone)"),
    SerialKind.SERIAL: _l("Numéro de série (ordinateur, tablette)"),
}


ORDERABLE_DIMENSION_CHOICES = [
    SelectChoice(Dimension.CONNEXION.value, _l("Connexion")),
    SelectChoice(Dimension.EQUIPEMENT.value, _l("Équipement")),
]


class ProductForm(FlaskForm):
    """Field names are the service's keys, so its messages land next to the right input."""

    sku = StringField(_l("Référence (SKU)"), render_kw={"autocomplete": "off", "maxlength": 40})
    name = StringField(_l("Nom"), render_kw={"maxlength": 200})
    category = SelectField(
        _l("Catégorie"),
        choices=[SelectChoice("", _l("Choisissez une catégorie")),
                 *(SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items())],
        validate_choice=False,
    )
    dimension = SelectField(
        _l("Dimension"),
        choices=[SelectChoice("", _l("Choisissez une dimension")), *ORDERABLE_DIMENSION_CHOICES],
        validate_choice=False,
    )
    serialized = BooleanField(_l("Suivi à l'unité (un numéro par unité)"))
    serial_kind = SelectField(
        _l("Type de numéro"),
        choices=[SelectChoice("", _l("Aucun (produit non suivi à l'unité)")),
                 *(SelectChoice(k.value, label) for k, label in SERIAL_KIND_LABELS.items())],
        validate_choice=False,
    )
    unit_price_cents = EuroField(_l("Prix payé par le relais (€)"), render_kw={"inputmode": "decimal"})
    max_resale_price_cents = EuroField(_l("Prix maximal de revente au bénéficiaire (€)"),
                                       render_kw={"inputmode": "decimal"})
    validity_days = StringField(_l("Validité (jours)"), render_kw={"inputmode": "numeric"})
    data_gb = StringField(_l("Données (Go)"), render_kw={"inputmode": "decimal"})
    warranty_months = StringField(_l("Garantie (mois)"), render_kw={"inputmode": "numeric"})
    description = TextAreaField(_l("Description (facultatif)"))
    active = BooleanField(_l("Proposé à la commande"), default=True)
    usual_supplier_id = SelectField(_l("Fournisseur habituel (facultatif)"), choices=[],
                                    validate_choice=False,
                                    coerce=lambda value: "" if value is None else str(value))

    def service_data(self, *, with_active: bool = True) -> dict[str, Any]:
        """`with_active=False` on creation, where the box is not shown (a new product is active)."""
        data_gb = (self.data_gb.data or "").strip().replace(",", ".")
        data = {
            "sku": self.sku.data,
            "name": self.name.data,
            "category": self.category.data or None,
            "dimension": self.dimension.data or None,
            "serialized": bool(self.serialized.data),
            "serial_kind": self.serial_kind.data or None,
            "unit_price_cents": self.unit_price_cents.data,
            "max_resale_price_cents": self.max_resale_price_cents.data,
            "validity_days": optional_int(self.validity_days.data),
            "data_gb": data_gb or None,
            "warranty_months": optional_int(self.warranty_months.data),
            "description": self.description.data,
            "usual_supplier_id": optional_int(self.usual_supplier_id.data),
        }
        if with_active:
            data["active"] = bool(self.active.data)
        return data
