from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField
from wtforms.validators import InputRequired


class UploadForm(FlaskForm):
    kind = SelectField(_l("Que voulez-vous importer ?"), validators=[InputRequired()])
    file = FileField(_l("Fichier (CSV ou XLSX)"),
                     validators=[FileRequired(_l("Choisissez un fichier CSV ou XLSX."))])
