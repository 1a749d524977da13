"""Web forms for relais. Validation (SIRET, postcode, kinds, dimensions) is the services' job."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SelectMultipleField, StringField, TelField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from relais_platform.tenants.models import Dimension, RelaisKind, RelaisStatus
from relais_platform.tenants.services import EDITABLE_FIELDS, STATUS_LABELS

KIND_LABELS = {
    RelaisKind.CCAS: _l("CCAS (centre communal d'action sociale)"),
    RelaisKind.CIAS: _l("CIAS (centre intercommunal d'action sociale)"),
    RelaisKind.MDS: _l("MDS (maison départementale des solidarités)"),
    RelaisKind.ASSOCIATION: _l("Association"),
    RelaisKind.SECOURS_POPULAIRE: _l("Secours Populaire"),
    RelaisKind.RESTOS_DU_COEUR: _l("Restos du Cœur"),
    RelaisKind.CROIX_ROUGE: _l("Croix-Rouge"),
    RelaisKind.CADA: _l("CADA (centre d'accueil de demandeurs d'asile)"),
    RelaisKind.CHRS: _l("CHRS (centre d'hébergement et de réinsertion sociale)"),
    RelaisKind.ACCUEIL_DE_JOUR: _l("Accueil de jour"),
    RelaisKind.CENTRE_SOCIAL: _l("Centre social"),
    RelaisKind.FRANCE_SERVICES: _l("France Services"),
    RelaisKind.CIDFF: _l("CIDFF (droits des femmes et des familles)"),
    RelaisKind.SIAE: _l("Structure d'insertion par l'activité économique"),
    RelaisKind.OTHER: _l("Autre"),
}

DIMENSION_LABELS = {
    Dimension.CONNEXION: _l("Connexion (cartes SIM, recharges)"),
    Dimension.EQUIPEMENT: _l("Équipement (ordinateurs, smartphones, tablettes)"),
    Dimension.ACCOMPAGNEMENT: _l("Accompagnement (ateliers, permanences)"),
}

KIND_CHOICES = [SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()]
DIMENSION_CHOICES = [SelectChoice(dim.value, label) for dim, label in DIMENSION_LABELS.items()]
STATUS_CHOICES = [SelectChoice(status.value, label) for status, label in STATUS_LABELS.items()]


def kind_label(kind: RelaisKind | str) -> str:
    return str(KIND_LABELS.get(RelaisKind(kind), kind))


def dimension_label(dimension: Dimension | str) -> str:
    return str(DIMENSION_LABELS.get(Dimension(dimension), dimension))


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RelaisForm(FlaskForm):
    name = StringField(_l("Nom de la structure"), render_kw={"autocomplete": "organization"})
    kind = SelectField(
        _l("Type de structure"),
        choices=[SelectChoice("", _l("Choisissez un type")), *KIND_CHOICES],
        validate_choice=False,
    )
    siret = StringField(_l("SIRET"), render_kw={"inputmode": "numeric", "autocomplete": "off"})
    address = StringField(_l("Adresse"), render_kw={"autocomplete": "street-address"})
    postcode = StringField(
        _l("Code postal"), render_kw={"inputmode": "numeric", "autocomplete": "postal-code"}
    )
    city = StringField(_l("Commune"), render_kw={"autocomplete": "address-level2"})
    dimensions = CheckboxesField(_l("Dimensions"), choices=DIMENSION_CHOICES, validate_choice=False)
    contact_name = StringField(_l("Nom du contact"), render_kw={"autocomplete": "name"})
    contact_email = EmailField(_l("E-mail du contact"), render_kw={"autocomplete": "email"})
    contact_phone = TelField(_l("Téléphone du contact"), render_kw={"autocomplete": "tel"})

    def service_data(self) -> dict[str, Any]:
        return {name: self._fields[name].data for name in EDITABLE_FIELDS}


class ApplicationForm(RelaisForm):
    application_message = TextAreaField(_l("Votre message (facultatif)"))

    def service_data(self) -> dict[str, Any]:
        return {**super().service_data(), "application_message": self.application_message.data}


class StatusForm(FlaskForm):
    reason = TextAreaField(_l("Motif (facultatif, conservé dans le journal)"))


class FilterForm(FlaskForm):
    """The relais list's filters (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(_l("Rechercher (nom, commune, SIRET)"))
    status = SelectField(
        _l("Statut"), choices=[SelectChoice("", _l("Tous")), *STATUS_CHOICES], validate_choice=False
    )
    kind = SelectField(
        _l("Type"), choices=[SelectChoice("", _l("Tous")), *KIND_CHOICES], validate_choice=False
    )
    departement = StringField(_l("Département"), render_kw={"maxlength": 3})

    def filter_values(self) -> dict[str, str | None]:
        statuses = {s.value for s in RelaisStatus}
        kinds = {k.value for k in RelaisKind}
        return {
            "q": (self.q.data or "").strip() or None,
            "status": self.status.data if self.status.data in statuses else None,
            "kind": self.kind.data if self.kind.data in kinds else None,
            "departement": (self.departement.data or "").strip().upper() or None,
        }
