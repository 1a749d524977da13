"""Web form of the activity report's export (the report itself is a GET form)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField


class ActivityExportForm(FlaskForm):
    from_ = HiddenField(name="from")
    to = HiddenField()
    relais_id = HiddenField()
    departement = HiddenField()
    region = HiddenField()
    convention_id = HiddenField()
    # Checked by the export service, which names the formats allowed.
    format = SelectField(_l("Format"), choices=[("pdf", "PDF"), ("xlsx", "XLSX (tableur)"), ("csv", "CSV")],
                         validate_choice=False)
