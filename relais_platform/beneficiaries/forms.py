"""Web forms and French labels of the registry. The rules stay in the services."""

from __future__ import annotations

from enum import Enum
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from relais_platform.beneficiaries import referrers, themes
from relais_platform.beneficiaries.models import (
    REFERRER_KINDS,
    Banked,
    Housing,
    Language,
    Level,
    Nationality,
    Need,
    SessionKind,
    Situation,
)
from relais_platform.bounds import InYears

# Keyed by enum, then value: several enums share values ("other", "employment"...).
LABELS: dict[type[Enum], dict[Any, Any]] = {
    Language: {
        Language.FR: _l("Français"),
        Language.EN: _l("Anglais"),
        Language.AR: _l("Arabe"),
        Language.UK: _l("Ukrainien"),
        Language.RU: _l("Russe"),
        Language.PS: _l("Pachto"),
        Language.PRS: _l("Dari"),
        Language.FA: _l("Persan"),
        Language.TI: _l("Tigrigna"),
        Language.SO: _l("Somali"),
        Language.ES: _l("Espagnol"),
        Language.PT: _l("Portugais"),
        Language.RO: _l("Roumain"),
        Language.TR: _l("Turc"),
        Language.KA: _l("Géorgien"),
        Language.SQ: _l("Albanais"),
        Language.BN: _l("Bengali"),
        Language.OTHER: _l("Autre langue"),
    },
    Situation: {
        Situation.JOB_SEEKER: _l("En recherche d'emploi"),
        Situation.EMPLOYED: _l("En emploi"),
        Situation.STUDENT: _l("En formation ou études"),
        Situation.RETIRED: _l("Retraité·e"),
        Situation.INACTIVE: _l("Sans activité"),
    },
    Housing: {
        Housing.HOUSED: _l("Logé·e"),
        Housing.HOSTED: _l("Hébergé·e par des proches"),
        Housing.EMERGENCY_SHELTER: _l("Hébergement d'urgence"),
        Housing.HOMELESS: _l("Sans abri"),
        Housing.OTHER: _l("Autre"),
    },
    Banked: {
        Banked.YES: _l("Oui"),
        Banked.NO: _l("Non"),
        Banked.UNKNOWN: _l("Ne sait pas"),
    },
    Nationality: {
        Nationality.FRANCE: _l("France"),
        Nationality.EU: _l("Union européenne"),
        Nationality.OUTSIDE_EU: _l("Hors Union européenne"),
    },
    Level: {
        Level.BEGINNER: _l("Débutant"),
        Level.INTERMEDIATE: _l("Intermédiaire"),
        Level.ADVANCED: _l("Avancé"),
    },
    Need: {
        Need.DEVICE_BASICS: _l("Prise en main d'un appareil"),
        Need.SMARTPHONE: _l("Utiliser un smartphone"),
        Need.EMAIL: _l("Messagerie électronique"),
        Need.INTERNET_SEARCH: _l("Recherche sur internet"),
        Need.ONLINE_ADMINISTRATION: _l("Démarches administratives en ligne"),
        Need.HEALTH_SERVICES: _l("Services de santé en ligne (Ameli, prise de rendez-vous)"),
        Need.EMPLOYMENT: _l("Recherche d'emploi en ligne"),
        Need.SECURITY: _l("Sécurité et arnaques"),
        Need.ONLINE_SHOPPING: _l("Achats et paiements en ligne"),
        Need.COMMUNICATION: _l("Garder le contact (appels, messageries)"),
        Need.OTHER: _l("Autre besoin"),
    },
    SessionKind: {
        SessionKind.INITIATION: _l("Initiation (cycle collectif)"),
        SessionKind.PERMANENCE: _l("Permanence connectée"),
        SessionKind.ATELIER_THEMATIQUE: _l("Atelier thématique"),
        SessionKind.PARCOURS_SUR_MESURE: _l("Parcours sur mesure"),
    },
}


FIELD_ENUMS: dict[str, type[Enum]] = {
    "language": Language, "situation": Situation, "housing": Housing, "banked": Banked,
    "nationality": Nationality, "level": Level, "needs": Need, "kind": SessionKind,
}


def label(value: Any, field: str | None = None) -> str:
    """French label of a choice (an enum member, or a plain value with its field name)."""
    if value is None or value == "":
        return "—"
    if field == "theme":
        return themes.labels().get(value, str(value))
    enum_cls = type(value) if isinstance(value, Enum) else FIELD_ENUMS.get(field or "")
    return str(LABELS.get(enum_cls, {}).get(value, value)) if enum_cls else str(value)


def _choices(enum_cls: type[Enum], *, blank: bool = True) -> list[tuple[str, Any]]:
    options = [(m.value, LABELS[enum_cls][m]) for m in enum_cls]
    return [("", _l("— Non renseigné —")), *options] if blank else options


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BeneficiaryForm(FlaskForm):
    first_name = StringField(_l("Prénom"), [InputRequired(_l("Indiquez le prénom."))],
                             render_kw={"autocomplete": "off", "maxlength": 100})
    last_name = StringField(_l("Nom"), [InputRequired(_l("Indiquez le nom."))],
                            render_kw={"autocomplete": "off", "maxlength": 100})
    birth_year = IntegerField(_l("Année de naissance"), [Optional()],
                              render_kw={"inputmode": "numeric", "maxlength": 4})
    phone = StringField(_l("Téléphone"), render_kw={"type": "tel", "autocomplete": "off", "maxlength": 30})
    no_phone = BooleanField(_l("La personne n'a pas de téléphone"))
    language = SelectField(_l("Langue parlée"), choices=_choices(Language))
    situation = SelectField(_l("Situation"), choices=_choices(Situation))
    housing = SelectField(_l("Hébergement"), choices=_choices(Housing))
    banked = SelectField(_l("Compte bancaire"), choices=_choices(Banked))
    nationality = SelectField(_l("Nationalité"), choices=_choices(Nationality))
    referrer_id = SelectField(_l("Structure orienteuse"), choices=[], coerce=str, validate_choice=False)
    referrer = StringField(_l("Structure orientatrice (texte libre)"), render_kw={"maxlength": 200})
    note = TextAreaField(_l("Note"), render_kw={"rows": 3, "maxlength": 2000})

    def values(self) -> dict[str, Any]:
        return {name: self[name].data for name in (
            "first_name", "last_name", "birth_year", "phone", "no_phone", "language", "situation",
            "housing", "banked", "nationality", "referrer", "note")} | {
            "referrer_id": int(self.referrer_id.data) if (self.referrer_id.data or "").isdigit() else None}


class CreateBeneficiaryForm(BeneficiaryForm):
    # The digital-autonomy diagnostic taken at registration (optional: it can follow later).
    diagnostic_level = SelectField(
        _l("Niveau d'autonomie numérique"),
        choices=[("", _l("— Diagnostic plus tard —")), *_choices(Level, blank=False)], default="",
    )
    diagnostic_needs = CheckboxesField(_l("Besoins"), choices=_choices(Need, blank=False))
    consent = BooleanField(_l("La personne a donné son consentement à l'enregistrement de ces informations"))
    confirm_duplicate = BooleanField(_l("Il s'agit bien d'une autre personne : créer la fiche"))


class DiagnosticForm(FlaskForm):
    level = SelectField(_l("Niveau d'autonomie numérique"), choices=_choices(Level, blank=False))
    needs = CheckboxesField(_l("Besoins"), choices=_choices(Need, blank=False))
    assessed_on = DateField(_l("Date du diagnostic"), [InputRequired(_l("Indiquez la date.")), InYears()])


class SessionForm(FlaskForm):
    kind = SelectField(_l("Type de séance"), choices=_choices(SessionKind, blank=False))
    # Choices: the active themes (and a corrected session's own), set by the view.
    theme = SelectField(_l("Thème"), choices=[], validate_choice=False)
    date = DateField(_l("Date"), [InputRequired(_l("Indiquez la date.")), InYears()])
    duration_minutes = IntegerField(_l("Durée (minutes)"), [InputRequired(_l("Indiquez la durée.")),
                                                            NumberRange(1, 1440)],
                                    render_kw={"inputmode": "numeric"})
    parcours_id = SelectField(_l("Parcours"), choices=[], coerce=str)
    beneficiary_ids = CheckboxesField(_l("Participants nommés"), choices=[], coerce=int,
                                      validate_choice=False)
    anonymous_count = IntegerField(_l("Participants anonymes (nombre)"), [Optional(), NumberRange(0, 10000)],
                                   default=0, render_kw={"inputmode": "numeric"})


class ParcoursForm(FlaskForm):
    name = StringField(_l("Nom du parcours"), [InputRequired(_l("Indiquez un nom."))],
                       render_kw={"maxlength": 120})
    kind = SelectField(_l("Type de séances"), choices=_choices(SessionKind, blank=False))
    sessions_required = IntegerField(_l("Nombre de séances"), [InputRequired(), NumberRange(1, 100)],
                                     default=9)


class MergeForm(FlaskForm):
    merge_id = IntegerField(_l("Numéro de la fiche en double"), [InputRequired(), NumberRange(1)])


class ExtensionForm(FlaskForm):
    months = IntegerField(_l("Prolongation (mois)"), [InputRequired(_l("Indiquez le nombre de mois.")),
                                                       NumberRange(1, 12)],
                          default=6, render_kw={"inputmode": "numeric"})
    reason = TextAreaField(_l("Raison"), [InputRequired(_l("Indiquez la raison."))],
                           render_kw={"rows": 2, "maxlength": 2000})


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Raison de la suppression"), [InputRequired(_l("Indiquez la raison."))],
                           render_kw={"rows": 2, "maxlength": 2000})


class ReferrerForm(FlaskForm):
    name = StringField(_l("Nom de la structure"), [InputRequired(_l("Indiquez un nom."))],
                       render_kw={"maxlength": 200})
    kind = SelectField(_l("Type de structure"),
                       choices=[(k, referrers.KIND_LABELS[k]) for k in REFERRER_KINDS])


class ThemeForm(FlaskForm):
    code = StringField(_l("Code (lettres minuscules, chiffres, « _ »)"),
                       [InputRequired(_l("Indiquez un code."))],
                       render_kw={"maxlength": 32, "autocomplete": "off"})
    label = StringField(_l("Libellé"), [InputRequired(_l("Indiquez un libellé."))],
                        render_kw={"maxlength": 120})
