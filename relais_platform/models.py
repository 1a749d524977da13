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
from relais_platform.imports.models import ImportRun
from relais_platform.reporting.funders.models import Convention, EarmarkMovement, Funder
from relais_platform.reporting.models import ReportExport, ReportingEvent
from relais_platform.stock.campaigns.models import Campaign, CampaignNeed, CampaignNeedLine, CampaignProduct
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.distributions.models import Distribution
from relais_platform.stock.locations.models import Stocktake, StocktakeLine, Transfer, TransferLine
from relais_platform.stock.orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Shipment,
    ShipmentLine,
    StripeCustomer,
    StripeEvent,
)
from relais_platform.stock.reports.models import StockReport, StockReportLine
from relais_platform.stock.supply.models import (
    Collection,
    CollectionItem,
    Supplier,
    SupplierReturn,
    SupplierReturnLine,
    SupplyReceipt,
    UnitOrigin,
)
from relais_platform.stock.warehouse.models import (
    LocationStock,
    NationalStock,
    RelaisMonthlyDistribution,
    RelaisStock,
    RelaisStockMovement,
    SerialUnit,
    SerialUnitEvent,
    StockLocation,
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
    "AccompanimentSession", "ApiToken", "AuditEntry", "Beneficiary", "Campaign", "CampaignNeed",
    "CampaignNeedLine", "CampaignProduct", "CoachingNote", "CoachingSession", "Collection",
    "CollectionItem", "Convention", "CustomMilestone", "Diagnostic", "Distribution",
    "EarmarkMovement", "Enrolment", "Funder", "ImportRun", "LocationStock", "NationalStock",
    "NextStep", "Order", "OrderEvent", "OrderLine", "Parcours", "ParcoursEnrolment",
    "Participation", "Payment", "Product", "Relais", "RelaisEventSummary",
    "RelaisMonthlyDistribution", "RelaisStock", "RelaisStockMovement", "ReportExport",
    "ReportingEvent", "Role", "SatisfactionSurvey", "SerialUnit", "SerialUnitEvent", "Shipment",
    "ShipmentLine", "StockLocation", "StockMovement", "StockReport", "StockReportLine", "Stocktake",
    "StocktakeLine", "StripeCustomer", "StripeEvent", "Supplier", "SupplierReturn",
    "SupplierReturnLine", "SupplyReceipt", "TrainingModule", "TrainingPathModule", "TrainingRecord",
    "TrainingSession", "Transfer", "TransferLine", "UnitOrigin", "User",
    "UserToken",
]
