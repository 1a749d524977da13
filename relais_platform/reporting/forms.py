"""Web forms of reporting. The rules stay in the services (`events`, `exports`)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Optional

from relais_platform.reporting.models import EventKind

KIND_LABELS = {
    EventKind.EVENT: _l("Événement organisé par le relais"),
    EventKind.GOVERNANCE: _l("Participation à une instance de gouvernance ou un groupe de travail"),
}


class EventForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=[(k.value, label) for k, label in KIND_LABELS.items()],
                      validators=[InputRequired(_l("Choisissez un type."))])
    title = StringField(_l("Intitulé"), validators=[InputRequired(_l("Indiquez un intitulé."))])
    date = DateField(_l("Date"), validators=[InputRequired(_l("Indiquez une date."))])
    participants = IntegerField(_l("Nombre de participants"), validators=[Optional()])
    body = StringField(_l("Instance ou groupe de travail"), validators=[Optional()])

    def values(self) -> dict[str, Any]:
        return {"kind": self.kind.data, "title": self.title.data, "date": self.date.data,
                "participants": self.participants.data, "body": self.body.data}


class ExportForm(FlaskForm):
    year = HiddenField()
    relais_id = HiddenField()
    departement = HiddenField()
    region = HiddenField()
    # Checked by the service, which names the formats allowed.
    format = SelectField(_l("Format"), choices=[("pdf", "PDF"), ("xlsx", "XLSX (tableur)"),
                                                ("csv", "CSV")], validate_choice=False)
