"""Marshmallow schemas of the authentication and team API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from relais_platform.accounts.models import Role
from relais_platform.tenants.schemas import RelaisRefSchema


class TokenRequestSchema(Schema):
    # Not fields.Email: a malformed address gets the same 401 as an unknown one.
    email = fields.String(required=True, validate=validate.Length(max=254))
    # Bounded: hashing an arbitrarily long password would be a cheap denial of service.
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=1024))
    totp = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=10),
        metadata={"description": "Code TOTP à 6 chiffres, obligatoire si la double authentification "
                                 "est activée (toujours pour national et coach)"},
    )


class TokenSchema(Schema):
    token = fields.String(metadata={"description": "À envoyer dans l'en-tête Authorization: Bearer"})
    expires_at = fields.DateTime()


class MeSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.Enum(Role, by_value=True)
    relais = fields.Nested(RelaisRefSchema, allow_none=True,
                           metadata={"description": "null pour les rôles national et coach"})


class UserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.Enum(Role, by_value=True)
    relais_id = fields.Integer()
    active = fields.Boolean()
    two_factor = fields.Boolean(attribute="has_two_factor")
    invitation_pending = fields.Function(
        lambda user: user.password_hash is None,
        metadata={"type": "boolean", "description": "Invité, n'a pas encore choisi de mot de passe"},
    )
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)


class UserCreateSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.Enum(Role, by_value=True, required=True,
                       metadata={"description": "relais_admin ou relais_worker"})


class UserUpdateSchema(Schema):
    active = fields.Boolean(metadata={"description": "false désactive le compte et révoque ses jetons"})
    role = fields.Enum(Role, by_value=True, metadata={"description": "relais_admin ou relais_worker"})


class TeamSecuritySchema(Schema):
    require_two_factor = fields.Boolean(
        required=True,
        metadata={"description": "Chaque membre de l'équipe doit activer la double "
                                 "authentification (à sa prochaine connexion)"},
    )


class NetworkSecuritySchema(Schema):
    staff_two_factor_required = fields.Boolean(
        required=True,
        metadata={"description": "Double authentification exigée de tous les comptes qui "
                                 "accèdent à des données personnelles (équipes des relais)"},
    )
