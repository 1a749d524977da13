"""Response schemas of the dashboards API (GET /api/v1/dashboards/national, /relais, /coach).

Months are written `YYYY-MM`; figures are counts or units, never a name of a beneficiary.
"""

from __future__ import annotations

from marshmallow import Schema, fields


def month_text(month) -> str:
    return f"{month.year:04d}-{month.month:02d}"


class DashboardCoverSchema(Schema):
    on_hand = fields.Integer()
    on_order = fields.Integer(metadata={"description": "Commandé, alloué ou en transit, pas encore reçu"})
    distributed_last_3_months = fields.Integer(attribute="distributed_in_window")
    forecast = fields.Float(metadata={"description": "Moyenne mobile sur 3 mois complets (unités/mois)"})
    daily_rate = fields.Float()
    days_of_cover = fields.Integer(allow_none=True, metadata={"description": "Vide si aucune consommation"})
    reorder = fields.Integer(metadata={"description": "Réassort suggéré pour couvrir la cible"})
    low = fields.Boolean()


class DashboardCoverRowSchema(Schema):
    relais_id = fields.Integer()
    relais_name = fields.String()
    departement = fields.String()
    product_id = fields.Integer()
    sku = fields.String()
    product_name = fields.String()
    cover = fields.Nested(DashboardCoverSchema)


class DashboardProductStockSchema(Schema):
    product_id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    available = fields.Integer()
    reserved = fields.Integer()
    in_transit = fields.Integer(metadata={"description": "Expédié, pas encore réceptionné"})
    at_relais = fields.Integer()
    cover = fields.Nested(DashboardCoverSchema, metadata={"description": "Dans les relais, tout le réseau"})


class DashboardDistributionMonthSchema(Schema):
    month = fields.String()
    sim = fields.Integer()
    recharge = fields.Integer()
    device = fields.Integer()
    other = fields.Integer()
    total = fields.Integer()
    moving_average = fields.Float(allow_none=True)


class DashboardLeadTimeSchema(Schema):
    leg = fields.String()
    orders = fields.Integer()
    median_days = fields.Float(allow_none=True)
    average_days = fields.Float(allow_none=True)


class DashboardRelaisRowSchema(Schema):
    """The relais a row of figures is about; the rows' schemas extend it."""

    relais_id = fields.Integer()
    name = fields.String()
    city = fields.String()


class DashboardLateReportSchema(DashboardRelaisRowSchema):
    submitted_at = fields.DateTime(allow_none=True)


class DashboardLateHistorySchema(DashboardRelaisRowSchema):
    late = fields.Integer(metadata={"description": "Mois envoyés en retard ou pas envoyés"})
    missing = fields.Integer(metadata={"description": "Dont mois jamais envoyés"})


class DashboardStockReportsSchema(Schema):
    period = fields.String()
    due_on = fields.Date()
    expected = fields.Integer()
    reported = fields.Integer()
    late = fields.List(fields.Nested(DashboardLateReportSchema))
    history_months = fields.Integer()
    history = fields.List(fields.Nested(DashboardLateHistorySchema),
                          metadata={"description": "Relais les plus souvent en retard sur la période"})


class DashboardTerritorySchema(Schema):
    code = fields.String(metadata={"description": "Code du département, ou nom de la région"})
    region = fields.String(attribute="name")
    relais_active = fields.Integer()
    stock_at_relais = fields.Integer()
    distributed = fields.Integer(metadata={"description": "Unités distribuées sur 12 mois"})
    sessions = fields.Integer()
    accompaniment_hours = fields.Float()


class DashboardNationalSchema(Schema):
    month = fields.String()
    cover_target_days = fields.Integer()
    stock = fields.List(fields.Nested(DashboardProductStockSchema))
    distributions = fields.List(fields.Nested(DashboardDistributionMonthSchema))
    orders_by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    lead_times = fields.List(fields.Nested(DashboardLeadTimeSchema))
    stock_reports = fields.Nested(DashboardStockReportsSchema)
    cover = fields.List(fields.Nested(DashboardCoverRowSchema))
    departements = fields.List(fields.Nested(DashboardTerritorySchema))
    regions = fields.List(fields.Nested(DashboardTerritorySchema))


class DashboardActivityMonthSchema(Schema):
    month = fields.String()
    distributed = fields.Integer()
    distributions = fields.Integer()
    sessions = fields.Integer()
    accompaniment_hours = fields.Float()
    beneficiaries = fields.Integer(metadata={"description": "Bénéficiaires inscrits distincts servis"})
    anonymous = fields.Integer()
    people = fields.Integer()


class DashboardOpenOrderSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    submitted_at = fields.DateTime(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    lines = fields.Integer()
    units = fields.Integer()
    total_cents = fields.Integer()


class DashboardReferredSchema(Schema):
    kind = fields.String(metadata={"description": "Type de structure orienteuse (none : non renseignée)"})
    people = fields.Integer()


class DashboardRelaisSchema(Schema):
    relais_id = fields.Integer()
    month = fields.String()
    cover_target_days = fields.Integer()
    activity = fields.List(fields.Nested(DashboardActivityMonthSchema))
    stock = fields.List(fields.Nested(DashboardCoverRowSchema))
    open_orders = fields.List(fields.Nested(DashboardOpenOrderSchema))
    referred = fields.List(fields.Nested(DashboardReferredSchema), metadata={
        "description": "Nouvelles personnes inscrites sur 12 mois, par type de structure orienteuse"})


class DashboardPortfolioMonthSchema(Schema):
    month = fields.String()
    distributed = fields.Integer()
    sessions = fields.Integer()


class DashboardPortfolioRelaisSchema(DashboardRelaisRowSchema):
    departement = fields.String()
    distributed = fields.Integer(metadata={"description": "Unités, 3 derniers mois complets"})
    sessions = fields.Integer()
    accompaniment_hours = fields.Float()
    stock_on_hand = fields.Integer()
    milestones_done = fields.Integer()
    milestones_total = fields.Integer()
    training_percent = fields.Integer()
    alerts = fields.List(fields.String())


class DashboardCoachSchema(Schema):
    month = fields.String()
    cover_target_days = fields.Integer()
    activity = fields.List(fields.Nested(DashboardPortfolioMonthSchema))
    relais = fields.List(fields.Nested(DashboardPortfolioRelaisSchema))
    cover = fields.List(fields.Nested(DashboardCoverRowSchema))
