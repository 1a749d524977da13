"""Imports every model so that the metadata is complete (migrations, tests)."""

from relais_platform.accounts.models import ApiToken, Role, User, UserToken
from relais_platform.audit.models import AuditEntry
from relais_platform.stock.models import (
    NationalStock,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Product,
    RelaisStock,
    RelaisStockMovement,
    SerialUnit,
    SerialUnitEvent,
    StockMovement,
    StripeCustomer,
    StripeEvent,
)
from relais_platform.tenants.models import Relais

__all__ = [
    "ApiToken", "AuditEntry", "NationalStock", "Order", "OrderEvent", "OrderLine", "Payment",
    "Product", "Relais", "RelaisStock", "RelaisStockMovement", "Role", "SerialUnit",
    "SerialUnitEvent", "StockMovement", "StripeCustomer", "StripeEvent", "User", "UserToken",
]
