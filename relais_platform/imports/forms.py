from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional


class UploadForm(FlaskForm):
    kind = SelectField(_l("Que voulez-vous importer ?"), validators=[InputRequired()])
    file = FileField(_l("Fichier (CSV ou XLSX)"))
    # A serial list pasted or scanned instead of a file (kind `serials`).
    sku = StringField(_l("Référence du produit"), validators=[Optional()])
    serials = TextAreaField(_l("Numéros de série (un par ligne, ou séparés par des espaces)"),
                            validators=[Optional()])
