"""REST API of the activity report: any period, any scope the caller may see, and its
exports (202 + status address, the same export machinery as the annual bilan)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from relais_platform.api import api_access
from relais_platform.reporting import exports
from relais_platform.reporting.activity.schemas import ActivityArgs, ActivityExportArgs, ActivityReportSchema
from relais_platform.reporting.activity.services import activity_report, parse_period
from relais_platform.reporting.funders import services as funders
from relais_platform.reporting.schemas import ExportStatusSchema

blp = Blueprint("activity_api", __name__, description="Rapport d'activité (toute période, répartitions)")

FILTERS = ("relais_id", "departement", "region", "convention_id")
LOCATION = {"Location": {"schema": {"type": "string"}, "description": "Statut de l'export"}}


def _filters(args: dict[str, Any]) -> dict[str, Any]:
    return {k: args.get(k) for k in FILTERS}


@blp.route("/reports/activity")
class ActivityReport(MethodView):
    @api_access()
    @blp.arguments(ActivityArgs, location="query")
    @blp.response(200, ActivityReportSchema)
    def get(self, args: dict[str, Any]):
        """Rapport d'activité du `from` au `to` inclus, avec la période précédente de même durée et
        les répartitions. Relais : le sien (chiffres exacts) ; coach : son portefeuille ;
        national : le réseau. Hors de la vue du relais, les effectifs de 1 à 4 valent "<5"."""
        period = parse_period(args["from_"], args["to"])
        return activity_report(funders.activity_scope(current_user, **_filters(args)), period)


@blp.route("/reports/activity/export")
class ActivityExport(MethodView):
    @api_access()
    @blp.arguments(ActivityExportArgs, location="query")
    @blp.response(202, ExportStatusSchema, headers=LOCATION)
    def get(self, args: dict[str, Any]):
        """Lancer un export du rapport d'activité (format=pdf, xlsx ou csv) : 202, puis suivre Location."""
        period = parse_period(args["from_"], args["to"])
        filters = {k: v for k, v in _filters(args).items() if v is not None}
        funders.activity_scope(current_user, **filters)  # 404 outside the caller's reach
        export = exports.request_report_export(
            current_user, "activity", args["format"],
            {"from": period.start.isoformat(), "to": period.end.isoformat(), **filters}, year=period.end.year)
        location = url_for("reporting_api.ExportItem", export_id=export.id)
        return exports.status_payload(export), {"Location": location}
