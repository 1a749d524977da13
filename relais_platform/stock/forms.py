"""Web forms for stock and orders.

Fixed forms (catalogue, receipts, adjustments, payments) are WTForms; the services keep the
rules and report them on the same field names. Forms with one input per order line or per
order are read with `line_value`, since their fields depend on the order.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from relais_platform.stock.models import Category, OrderStatus, SerialKind, UnitStatus
from relais_platform.stock.orders import STATUS_LABELS
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

UNIT_STATUS_LABELS = {
    UnitStatus.IN_STOCK: _l("en stock national"),
    UnitStatus.RESERVED: _l("réservée"),
    UnitStatus.SHIPPED: _l("expédiée"),
    UnitStatus.AT_RELAIS: _l("au relais"),
    UnitStatus.DISTRIBUTED: _l("distribuée"),
    UnitStatus.RETURNED: _l("retournée"),
    UnitStatus.DEFECTIVE: _l("défectueuse"),
    UnitStatus.LOST: _l("perdue"),
}

ORDERABLE_DIMENSION_CHOICES = [
    SelectChoice(Dimension.CONNEXION.value, _l("Connexion")),
    SelectChoice(Dimension.EQUIPEMENT.value, _l("Équipement")),
]

_EUROS = re.compile(r"(\d{1,7})(?:[.,](\d{1,2}))?")
_INTEGER = re.compile(r"[+-]?\d{1,9}")


def cents_text(cents: int | None) -> str:
    """Cents as a decimal amount for an input (5,00 in French, 5.00 in English)."""
    return "" if cents is None else format_decimal(cents / 100, format="0.00")


def line_value(raw: str | None) -> Any:
    """A quantity typed on an order line: None when left empty, an int when it is one,
    otherwise the text itself, which the service refuses with a message naming the product."""
    text = (raw or "").strip().replace("\u202f", "").replace(" ", "")
    if not text:
        return None
    return int(text) if _INTEGER.fullmatch(text) else text


class EuroField(StringField):
    """An amount typed in euros ("5", "5,00", "5.5"); `data` holds cents."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip().replace("\u202f", "").replace(" ", "").removesuffix("€")
        self.data = None
        if not text:
            return
        match = _EUROS.fullmatch(text)
        if match is None:
            raise ValueError(_l("Montant en euros attendu, par exemple 12,50."))
        self.data = int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0"))

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return cents_text(self.data)


def _optional_int(value: Any) -> Any:
    text = (value or "").strip() if isinstance(value, str) else value
    if text in (None, ""):
        return None
    return int(text) if isinstance(text, str) and _INTEGER.fullmatch(text) else text


class OrderFilterForm(FlaskForm):
    """The orders list's filters (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Statut"),
        choices=[SelectChoice("", _l("Tous")),
                 *(SelectChoice(status.value, label) for status, label in STATUS_LABELS.items())],
        validate_choice=False,
    )
    relais_id = SelectField(_l("Relais"), choices=[], validate_choice=False)

    def status_value(self) -> OrderStatus | None:
        values = {status.value for status in OrderStatus}
        return OrderStatus(self.status.data) if self.status.data in values else None

    def relais_value(self) -> int | None:
        data = self.relais_id.data or ""
        return int(data) if data.isdigit() else None


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Motif de l'annulation (facultatif)"), render_kw={"rows": 2})


class SubmitForm(FlaskForm):
    confirm_unusual = BooleanField(_l("Je confirme ces quantités inhabituelles"))


class ManualPaymentForm(FlaskForm):
    amount_cents = EuroField(_l("Montant reçu (€)"), render_kw={"inputmode": "decimal"})
    reference = StringField(_l("Référence du paiement (virement, chèque, mandat…)"),
                            render_kw={"maxlength": 200, "autocomplete": "off"})


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
            "validity_days": _optional_int(self.validity_days.data),
            "data_gb": data_gb or None,
            "warranty_months": _optional_int(self.warranty_months.data),
            "description": self.description.data,
        }
        if with_active:
            data["active"] = bool(self.active.data)
        return data


class ReceiptForm(FlaskForm):
    """A national receipt: a quantity, a pasted list of serials, or a range of ICCIDs."""

    sku = SelectField(_l("Produit"), choices=[], validate_choice=False)
    quantity = StringField(_l("Quantité (produits non suivis à l'unité)"),
                           render_kw={"inputmode": "numeric"})
    serials = TextAreaField(_l("Numéros de série (scannés ou collés)"),
                            render_kw={"rows": 6, "spellcheck": "false", "autocomplete": "off",
                                       "data-serial-count": ""})
    range_first = StringField(_l("Premier ICCID de la plage"),
                              render_kw={"inputmode": "numeric", "autocomplete": "off"})
    range_last = StringField(_l("Dernier ICCID de la plage"),
                             render_kw={"inputmode": "numeric", "autocomplete": "off"})
    reason = StringField(_l("Origine ou remarque (facultatif)"), render_kw={"maxlength": 500})

    def service_kwargs(self) -> dict[str, Any]:
        """Only what was filled in: the service refuses zero or several ways at once."""
        kwargs: dict[str, Any] = {"reason": self.reason.data}
        if (self.quantity.data or "").strip():
            kwargs["quantity"] = _optional_int(self.quantity.data)
        if (self.serials.data or "").strip():
            kwargs["serials"] = [self.serials.data]
        first, last = (self.range_first.data or "").strip(), (self.range_last.data or "").strip()
        if first or last:
            kwargs["serial_range"] = (first, last)
        return kwargs


class AdjustmentForm(FlaskForm):
    sku = SelectField(_l("Produit"), choices=[], validate_choice=False)
    quantity = StringField(_l("Correction (négative pour une sortie)"),
                           render_kw={"inputmode": "numeric"})
    serials = TextAreaField(_l("Numéros des unités perdues ou défectueuses (produits suivis à l'unité)"),
                            render_kw={"rows": 4, "spellcheck": "false", "autocomplete": "off",
                                       "data-serial-count": ""})
    status = SelectField(
        _l("Ces unités sont"),
        choices=[SelectChoice(UnitStatus.LOST.value, _l("perdues")),
                 SelectChoice(UnitStatus.DEFECTIVE.value, _l("défectueuses"))],
        validate_choice=False,
    )
    reason = StringField(_l("Motif"), render_kw={"maxlength": 500})

    def service_kwargs(self) -> dict[str, Any]:
        serials = (self.serials.data or "").strip()
        status = self.status.data if self.status.data in {s.value for s in UnitStatus} else None
        return {
            "reason": self.reason.data,
            "quantity": _optional_int(self.quantity.data),
            "serials": [serials] if serials else None,
            "status": UnitStatus(status or UnitStatus.LOST),
        }


class UnitLookupForm(FlaskForm):
    class Meta:
        csrf = False

    serial = StringField(_l("Numéro de série, ICCID ou IMEI"),
                         render_kw={"autocomplete": "off", "spellcheck": "false"})
    sku = StringField(_l("Référence du produit (si plusieurs produits portent ce numéro)"),
                      render_kw={"autocomplete": "off"})
