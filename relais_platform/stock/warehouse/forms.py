"""Web forms of the national stock: receipts, adjustments, unit lookup."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from relais_platform.stock.fields import EuroField, optional_int
from relais_platform.stock.supply.origins import Origin
from relais_platform.stock.warehouse.models import MovementKind, ReasonCode, UnitStatus

UNIT_STATUS_LABELS = {
    UnitStatus.IN_STOCK: _l("en stock national"),
    UnitStatus.RESERVED: _l("réservée"),
    UnitStatus.SHIPPED: _l("expédiée"),
    UnitStatus.AT_RELAIS: _l("au relais"),
    UnitStatus.DISTRIBUTED: _l("distribuée"),
    UnitStatus.RETURNED: _l("retournée"),
    UnitStatus.DEFECTIVE: _l("défectueuse"),
    UnitStatus.LOST: _l("perdue"),
    UnitStatus.IN_TRANSIT: _l("en transit entre deux emplacements"),
}

MOVEMENT_KIND_LABELS = {
    MovementKind.RECEIPT: _l("réception"),
    MovementKind.RESERVATION: _l("réservation"),
    MovementKind.RELEASE: _l("libération du réservé"),
    MovementKind.SHIPMENT: _l("expédition"),
    MovementKind.ADJUSTMENT: _l("ajustement"),
    MovementKind.RETURN: _l("retour"),
    MovementKind.TRANSFER_OUT: _l("départ vers un autre emplacement"),
    MovementKind.TRANSFER_IN: _l("arrivée d'un autre emplacement"),
}

REASON_LABELS = {
    ReasonCode.LOST: _l("perdu"),
    ReasonCode.DAMAGED: _l("abîmé"),
    ReasonCode.STOLEN: _l("volé"),
    ReasonCode.FOUND: _l("retrouvé"),
    ReasonCode.COUNT_ERROR: _l("erreur de comptage"),
    ReasonCode.OTHER: _l("autre (précisez en commentaire)"),
}


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
    # Origin (see supply.origins): the supplier is required for refurbished devices.
    supplier_id = SelectField(_l("Fournisseur (obligatoire pour les appareils reconditionnés)"),
                              choices=[], validate_choice=False)
    collection_id = SelectField(_l("Collecte d'origine (facultatif)"), choices=[], validate_choice=False)
    donation = BooleanField(_l("Don"))
    unit_value_cents = EuroField(_l("Valeur unitaire, en nature ou d'achat (€, facultatif)"),
                                 render_kw={"inputmode": "decimal"})
    grade = SelectField(_l("Grade (appareils)"), choices=[SelectChoice("", "—"), SelectChoice("A", "A"),
                                                          SelectChoice("B", "B"), SelectChoice("C", "C")],
                        validate_choice=False)
    wipe_certificate = StringField(_l("Certificat d'effacement des données (appareils)"),
                                   render_kw={"maxlength": 200, "autocomplete": "off"})

    convention_id = StringField(_l("Stock fléché pour la convention n°"), render_kw={"inputmode": "numeric"})
    location_id = SelectField(_l("Emplacement"), choices=[], validate_choice=False)

    def service_kwargs(self) -> dict[str, Any]:
        """Only what was filled in: the service refuses zero or several ways at once."""
        kwargs: dict[str, Any] = {"reason": self.reason.data,
                                  "location_id": optional_int(self.location_id.data), "origin": Origin(
            supplier_id=optional_int(self.supplier_id.data), donation=bool(self.donation.data),
            unit_value_cents=self.unit_value_cents.data, collection_id=optional_int(self.collection_id.data),
            grade=self.grade.data or None, wipe_certificate=self.wipe_certificate.data)}
        if (self.convention_id.data or "").strip():
            kwargs["convention_id"] = optional_int(self.convention_id.data)
        if (self.quantity.data or "").strip():
            kwargs["quantity"] = optional_int(self.quantity.data)
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
            "quantity": optional_int(self.quantity.data),
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
