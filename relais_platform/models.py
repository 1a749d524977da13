"""Imports every model so that the metadata is complete (migrations, tests)."""

from relais_platform.accounts.models import ApiToken, Role, User, UserToken
from relais_platform.audit.models import AuditEntry
from relais_platform.beneficiaries.models import (
    AccompanimentSession,
    Beneficiary,
    Diagnostic,
    Parcours,
    ParcoursEnrolment,
    Participation,
)
from relais_platform.reporting.models import ReportExport, ReportingEvent
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.distributions.models import Distribution
from relais_platform.stock.orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    StripeCustomer,
    StripeEvent,
)
from relais_platform.stock.reports.models import StockReport, StockReportLine
from relais_platform.stock.warehouse.models import (
    NationalStock,
    RelaisMonthlyDistribution,
    RelaisStock,
    RelaisStockMovement,
    SerialUnit,
    SerialUnitEvent,
    StockMovement,
)
from relais_platform.tenants.models import Relais
from relais_platform.training.models import (
    CoachingNote,
    CoachingSession,
    CustomMilestone,
    Enrolment,
    NextStep,
    RelaisEventSummary,
    SatisfactionSurvey,
    TrainingModule,
    TrainingPathModule,
    TrainingRecord,
    TrainingSession,
)

__all__ = [
    "AccompanimentSession",
    "ApiToken",
    "AuditEntry",
    "Beneficiary",
    "CoachingNote",
    "CoachingSession",
    "CustomMilestone",
    "Diagnostic",
    "Distribution",
    "Enrolment",
    "NationalStock",
    "NextStep",
    "Order",
    "OrderEvent",
    "OrderLine",
    "Parcours",
    "ParcoursEnrolment",
    "Participation",
    "Payment",
    "Product",
    "Relais",
    "RelaisEventSummary", "RelaisMonthlyDistribution",
    "RelaisStock",
    "RelaisStockMovement",
    "ReportExport",
    "ReportingEvent",
    "Role",
    "SatisfactionSurvey",
    "SerialUnit",
    "SerialUnitEvent",
    "StockMovement",
    "StockReport",
    "StockReportLine",
    "StripeCustomer",
    "StripeEvent",
    "TrainingModule",
    "TrainingPathModule",
    "TrainingRecord",
    "TrainingSession",
    "User",
    "UserToken",
]
