"""Web forms of funders and agreements. The rules stay in `funders.services`."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional

from relais_platform.reporting.funders.models import FunderKind

KIND_LABELS = {
    FunderKind.PUBLIC: _l("Public (État, collectivité)"),
    FunderKind.COMPANY: _l("Entreprise"),
    FunderKind.FOUNDATION: _l("Fondation"),
    FunderKind.OTHER: _l("Autre"),
}


class FunderForm(FlaskForm):
    name = StringField(_l("Nom du financeur"),
                       validators=[InputRequired(_l("Indiquez le nom du financeur."))])
    kind = SelectField(_l("Type"), choices=[(k.value, label) for k, label in KIND_LABELS.items()])

    def values(self) -> dict[str, Any]:
        return {"name": self.name.data, "kind": self.kind.data}


class ConventionForm(FlaskForm):
    funder_id = SelectField(_l("Financeur"), coerce=int, validate_choice=False)
    name = StringField(_l("Nom de la convention"), validators=[InputRequired(_l("Indiquez le nom."))])
    starts_on = DateField(_l("Début"), validators=[InputRequired(_l("Indiquez une date."))])
    ends_on = DateField(_l("Fin"), validators=[InputRequired(_l("Indiquez une date."))])
    departements = StringField(_l("Départements couverts (codes séparés par des virgules ; vide : tout le "
                                  "réseau)"), validators=[Optional()])
    targets = TextAreaField(_l("Objectifs, un par ligne : indicateur ou référence = nombre "
                               "(ex. beneficiaries = 1000, SMARTPHONE = 215)"), validators=[Optional()])

    def values(self) -> dict[str, Any]:
        codes = [c.strip() for c in (self.departements.data or "").split(",") if c.strip()]
        targets: dict[str, Any] = {}
        for line in (self.targets.data or "").splitlines():
            key, _sep, value = line.partition("=")
            if key.strip():
                text = value.strip()
                targets[key.strip()] = int(text) if text.isdigit() else text
        return {"funder_id": self.funder_id.data, "name": self.name.data, "starts_on": self.starts_on.data,
                "ends_on": self.ends_on.data, "departements": codes or None, "targets": targets}
