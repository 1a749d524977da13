"""Web forms of supply: suppliers, collections, supplier returns, a receipt's origin."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from relais_platform.stock.catalogue.models import DEVICE_CATEGORIES
from relais_platform.stock.fields import optional_int
from relais_platform.stock.supply.models import Grade, ReturnOutcome, SupplierKind

KIND_LABELS = {
    SupplierKind.DONOR_COMPANY: _l("Entreprise donatrice"),
    SupplierKind.DONOR_PUBLIC: _l("Collectivité ou organisme public donateur"),
    SupplierKind.COLLECTION: _l("Structure de collecte"),
    SupplierKind.REFURBISHER: _l("Reconditionneur"),
    SupplierKind.OPERATOR: _l("Opérateur"),
    SupplierKind.VENDOR: _l("Vendeur"),
}
OUTCOME_LABELS = {
    ReturnOutcome.REPAIRED: _l("Réparée (retour au stock national)"),
    ReturnOutcome.REPLACED: _l("Remplacée par une autre unité"),
    ReturnOutcome.SCRAPPED: _l("Mise au rebut"),
}
GRADE_CHOICES = [SelectChoice("", "—"), *(SelectChoice(g.value, g.value) for g in Grade)]
DEVICE_ORDER = sorted(DEVICE_CATEGORIES, key=lambda c: c.value)


def supplier_choices(suppliers: list[Any], empty: Any) -> list[SelectChoice]:
    return [
        SelectChoice("", empty),
        *(SelectChoice(str(s.id), f"{s.name} ({KIND_LABELS[s.kind]})") for s in suppliers),
    ]


class SupplierForm(FlaskForm):
    name = StringField(_l("Nom"), render_kw={"maxlength": 200})
    kind = SelectField(
        _l("Type"),
        choices=[
            SelectChoice("", _l("Choisissez un type")),
            *(SelectChoice(k.value, label) for k, label in KIND_LABELS.items()),
        ],
        validate_choice=False,
    )
    siret = StringField(_l("SIRET (facultatif)"), render_kw={"inputmode": "numeric", "maxlength": 20})
    contact = TextAreaField(_l("Contact (facultatif)"), render_kw={"rows": 2, "maxlength": 1000})

    def service_data(self) -> dict[str, Any]:
        return {
            "name": self.name.data,
            "kind": self.kind.data or None,
            "siret": self.siret.data,
            "contact": self.contact.data,
        }


class CollectionForm(FlaskForm):
    """One quantity field per device category (named `qty_<category>`)."""

    donor_id = SelectField(_l("Donateur"), choices=[], validate_choice=False)
    collected_on = DateField(_l("Date de la collecte"), validators=[Optional()])
    refurbisher_id = SelectField(
        _l("Envoyée au reconditionneur (facultatif)"), choices=[], validate_choice=False
    )
    note = TextAreaField(_l("Remarque (facultatif)"), render_kw={"rows": 2, "maxlength": 2000})

    def service_data(self, quantities: dict[str, str]) -> dict[str, Any]:
        items = [
            {"category": category.value, "quantity": optional_int(quantities.get(category.value))}
            for category in DEVICE_ORDER
            if (quantities.get(category.value) or "").strip()
        ]
        return {
            "donor_id": optional_int(self.donor_id.data),
            "collected_on": self.collected_on.data,
            "refurbisher_id": optional_int(self.refurbisher_id.data),
            "items": items,
            "note": self.note.data,
        }


class SendForm(FlaskForm):
    refurbisher_id = SelectField(_l("Reconditionneur"), choices=[], validate_choice=False)
    sent_on = DateField(_l("Date d'envoi"), validators=[Optional()])


class ReturnForm(FlaskForm):
    supplier_id = SelectField(_l("Reconditionneur"), choices=[], validate_choice=False)
    serials = TextAreaField(
        _l("Numéros des unités défectueuses (scannés ou collés)"),
        render_kw={"rows": 5, "spellcheck": "false", "autocomplete": "off"},
    )
