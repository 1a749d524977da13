"""Imports every model so that the metadata is complete (migrations, tests)."""

from relais_platform.accounts.models import ApiToken, Role, User, UserToken
from relais_platform.audit.models import AuditEntry
from relais_platform.tenants.models import Relais

__all__ = ["ApiToken", "AuditEntry", "Relais", "Role", "User", "UserToken"]
