"""Web forms of the training and coaching pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from relais_platform.bounds import INT32_MAX, InYears
from relais_platform.tenants.forms import CheckboxesField
from relais_platform.training.models import CoachingKind, ModuleFormat

FORMAT_LABELS = {
    ModuleFormat.IN_PERSON.value: _l("En présentiel"),
    ModuleFormat.REMOTE.value: _l("À distance"),
    ModuleFormat.ELEARNING.value: _l("E-learning"),
}


class ModuleForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)],
                       render_kw={"autocomplete": "off"})
    title = StringField(_l("Intitulé"), validators=[DataRequired(), Length(max=200)])
    duration_hours = DecimalField(_l("Durée (heures)"), places=1,
                                  validators=[DataRequired(), NumberRange(min=0.5, max=9999)])
    format = SelectField(_l("Format"), choices=[SelectChoice(k, v) for k, v in FORMAT_LABELS.items()])
    objectives = TextAreaField(_l("Objectifs"), validators=[Optional()])
    prerequisites = TextAreaField(_l("Prérequis"), validators=[Optional()])
    core = BooleanField(_l("Module du parcours réseau (exigé par défaut de chaque relais)"))
    active = BooleanField(_l("Proposé au catalogue"), default=True)


class PathForm(FlaskForm):
    module_codes = CheckboxesField(_l("Modules exigés"))


class SessionForm(FlaskForm):
    module_code = SelectField(_l("Module"), validators=[DataRequired()])
    starts_at = DateTimeLocalField(_l("Début (heure de Paris)"), validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Fin (heure de Paris)"), validators=[DataRequired()])
    capacity = IntegerField(_l("Nombre de places"),
                            validators=[DataRequired(), NumberRange(min=1, max=INT32_MAX)])
    location = StringField(_l("Lieu"), validators=[Optional()])
    online_url = StringField(_l("Lien de connexion"), validators=[Optional()])
    trainer = StringField(_l("Formateur·rice"), validators=[Optional()])
    trainer_id = SelectField(_l("Compte du formateur·rice (tient et signe la feuille d'émargement)"),
                             coerce=int, default=0)


class SessionEditForm(FlaskForm):
    starts_at = DateTimeLocalField(_l("Début (heure de Paris)"), validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Fin (heure de Paris)"), validators=[DataRequired()])
    capacity = IntegerField(_l("Nombre de places"),
                            validators=[DataRequired(), NumberRange(min=1, max=INT32_MAX)])
    location = StringField(_l("Lieu"), validators=[Optional()])
    online_url = StringField(_l("Lien de connexion"), validators=[Optional()])
    trainer = StringField(_l("Formateur·rice"), validators=[Optional()])
    trainer_id = SelectField(_l("Compte du formateur·rice (tient et signe la feuille d'émargement)"),
                             coerce=int, default=0)


class SessionCancelForm(FlaskForm):
    reason = TextAreaField(_l("Motif (repris dans l'e-mail aux inscrits)"),
                           validators=[Optional(), Length(max=2000)])


class EnrolForm(FlaskForm):
    user_id = SelectField(_l("Membre de l'équipe"), coerce=int, validators=[DataRequired()])


class SurveyForm(FlaskForm):
    rating = RadioField(_l("Votre note"), coerce=int, validators=[DataRequired()],
                        choices=[SelectChoice(n, str(n)) for n in range(1, 6)])
    comment = TextAreaField(_l("Commentaire"), validators=[Optional()])


class CoachForm(FlaskForm):
    coach_id = SelectField(_l("Coach"), coerce=int)


class CoachingSessionForm(FlaskForm):
    date = DateField(_l("Date"), validators=[DataRequired(), InYears()])
    kind = SelectField(_l("Type de rendez-vous"), choices=[
        SelectChoice(CoachingKind.VISIT.value, _l("Visite")),
        SelectChoice(CoachingKind.PHONE.value, _l("Téléphone")),
        SelectChoice(CoachingKind.VIDEO.value, _l("Visio")),
    ])
    topics = TextAreaField(_l("Sujets abordés"), validators=[Optional()])
    notes = TextAreaField(_l("Notes (coachs et équipe nationale uniquement)"), validators=[Optional()])
    step_text = StringField(_l("Prochaine étape"), validators=[Optional()])
    step_owner = StringField(_l("Responsable de l'étape"), validators=[Optional()])
    step_due_date = DateField(_l("Échéance de l'étape"), validators=[Optional(), InYears()])


class MilestoneForm(FlaskForm):
    title = StringField(_l("Jalon"), validators=[DataRequired()])
    due_date = DateField(_l("Échéance"), validators=[Optional(), InYears()])
