"""Errors raised by the services; the web and API layers translate them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class ValidationFailed(DomainError):
    """Bad input: one or more messages per field."""

    status = 422

    def __init__(self, errors: dict[str, list[str]], message: str | None = None):
        from flask_babel import gettext as _

        super().__init__(message or _("Certaines informations sont invalides."), errors)

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        return cls({name: [message]})


class NotFound(DomainError):
    """Missing, or belonging to another relais: existence must not leak."""

    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class AuthenticationFailed(DomainError):
    status = 401


class Throttled(DomainError):
    status = 429
