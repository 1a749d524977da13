"""Web forms for accounts.

The rules (password policy, roles, who may do what) live in the services; these forms only
shape the input and carry the services' messages back next to the fields.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired

from relais_platform.accounts.models import Role

ROLE_LABELS = {
    Role.NATIONAL: _l("Équipe nationale"),
    Role.COACH: _l("Coach"),
    Role.RELAIS_ADMIN: _l("Administrateur du relais"),
    Role.RELAIS_WORKER: _l("Intervenant du relais"),
}

RELAIS_ROLE_CHOICES = [
    SelectChoice(role.value, ROLE_LABELS[role]) for role in (Role.RELAIS_WORKER, Role.RELAIS_ADMIN)
]


def role_label(role: Role | str) -> str:
    return str(ROLE_LABELS.get(Role(role), role))


def add_errors(form: FlaskForm, errors: Mapping[str, list[str]], message: str | None = None) -> None:
    """Put a service's per-field messages on the form; others go to the form's own list."""
    for name, messages in errors.items():
        field = form._fields.get(name)
        if field is not None and name != "csrf_token":
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)
    if message and not errors:
        form.form_errors.append(message)


class ActionForm(FlaskForm):
    """A button-only form: the CSRF token is all it carries."""


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Adresse e-mail"),
        [InputRequired(_l("Saisissez votre adresse e-mail."))],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Mot de passe"),
        [InputRequired(_l("Saisissez votre mot de passe."))],
        render_kw={"autocomplete": "current-password"},
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code à 6 chiffres"),
        [InputRequired(_l("Saisissez le code affiché par votre application."))],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 8},
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("Adresse e-mail"),
        [InputRequired(_l("Saisissez votre adresse e-mail."))],
        render_kw={"autocomplete": "email"},
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Nouveau mot de passe"),
        [InputRequired(_l("Choisissez un mot de passe."))],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Confirmez le mot de passe"),
        [EqualTo("password", _l("Les deux mots de passe ne sont pas identiques."))],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Mot de passe actuel"),
        [InputRequired(_l("Saisissez votre mot de passe actuel."))],
        render_kw={"autocomplete": "current-password"},
    )


class TermsForm(FlaskForm):
    accept = BooleanField(
        _l("J'ai lu et j'accepte, au nom de ma structure, les conditions d'utilisation et "
           "l'engagement de protection des données."),
        [InputRequired(_l("Cochez la case pour accepter les conditions."))],
    )


class InviteForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), render_kw={"autocomplete": "off"})
    name = StringField(_l("Nom et prénom"), render_kw={"autocomplete": "off"})
    # Checked by the service, which knows the roles a relais member may have.
    role = SelectField(_l("Rôle"), choices=RELAIS_ROLE_CHOICES, validate_choice=False)


class RoleForm(FlaskForm):
    role = SelectField(_l("Rôle"), choices=RELAIS_ROLE_CHOICES, validate_choice=False)
