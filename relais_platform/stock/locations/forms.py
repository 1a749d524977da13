"""Web forms of locations, transfers and stock counts."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from relais_platform.stock.fields import optional_int

SERIALS_INPUT = {"rows": 4, "spellcheck": "false", "autocomplete": "off", "data-serial-count": ""}


class LocationForm(FlaskForm):
    name = StringField(_l("Nom de l'emplacement"), render_kw={"maxlength": 120})
    is_default = BooleanField(_l("Emplacement par défaut (réceptions et expéditions sans emplacement)"))


class TransferForm(FlaskForm):
    """One product per transfer on the web (the API takes several lines)."""

    from_location_id = SelectField(_l("Départ"), choices=[], validate_choice=False)
    to_location_id = SelectField(_l("Arrivée"), choices=[], validate_choice=False)
    sku = SelectField(_l("Produit"), choices=[], validate_choice=False)
    quantity = StringField(_l("Quantité"), render_kw={"inputmode": "numeric"})
    serials = TextAreaField(_l("Numéros de série (sinon les plus anciennes unités partent)"),
                            render_kw=SERIALS_INPUT)

    def service_args(self) -> tuple[Any, Any, list[dict[str, Any]]]:
        serials = (self.serials.data or "").strip()
        line: dict[str, Any] = {"sku": self.sku.data, "quantity": optional_int(self.quantity.data)}
        if serials:
            line["serials"] = [serials]
        return optional_int(self.from_location_id.data), optional_int(self.to_location_id.data), [line]


class StocktakeStartForm(FlaskForm):
    location_id = SelectField(_l("Emplacement à compter"), choices=[], validate_choice=False)
