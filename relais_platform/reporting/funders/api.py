"""REST API of funders and their agreements: national users create and list them; coaches
and relais admins read the agreements covering them (anyone else: 404)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint

from relais_platform.accounts.models import Role
from relais_platform.api import PaginationArgs, api_access, pagination_headers
from relais_platform.domain import ValidationFailed
from relais_platform.reporting import exports
from relais_platform.reporting.funders import services
from relais_platform.reporting.funders.schemas import (
    ConventionInputSchema,
    ConventionReportSchema,
    ConventionSchema,
    ExportFormatArgs,
    FunderInputSchema,
    FunderSchema,
)
from relais_platform.reporting.schemas import PAGINATION_HEADERS, ExportStatusSchema

blp = Blueprint("funders_api", __name__, description="Financeurs et conventions")

READERS = (Role.NATIONAL, Role.COACH, Role.RELAIS_ADMIN)
LOCATION = {"Location": {"schema": {"type": "string"}, "description": "Statut de l'export"}}


@blp.route("/funders")
class Funders(MethodView):
    @api_access(Role.NATIONAL)
    @blp.arguments(PaginationArgs, location="query")
    @blp.response(200, FunderSchema(many=True), headers=PAGINATION_HEADERS)
    def get(self, args: dict[str, Any]):
        """Les financeurs (national)."""
        items, total = services.list_funders(args["page"], args["per_page"])
        return items, pagination_headers(total, args["page"], args["per_page"])

    @api_access(Role.NATIONAL)
    @blp.arguments(FunderInputSchema)
    @blp.response(201, FunderSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Enregistrer un financeur : public, company, foundation ou other (national)."""
        return services.create_funder(data)


@blp.route("/conventions")
class Conventions(MethodView):
    @api_access(*READERS)
    @blp.arguments(PaginationArgs, location="query")
    @blp.response(200, ConventionSchema(many=True), headers=PAGINATION_HEADERS)
    def get(self, args: dict[str, Any]):
        """Les conventions : toutes (national), celles qui couvrent son portefeuille (coach) ou son
        relais (administrateur du relais)."""
        items, total = services.list_conventions(current_user, args["page"], args["per_page"])
        headers = pagination_headers(total, args["page"], args["per_page"])
        return [services.describe(c) for c in items], headers

    @api_access(Role.NATIONAL)
    @blp.arguments(ConventionInputSchema)
    @blp.response(201, ConventionSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Enregistrer une convention : financeur, période, périmètre (relais_ids ou departements ;
        aucun : tout le réseau) et objectifs (national)."""
        return services.describe(services.create_convention(current_user, data))


@blp.route("/conventions/<int:convention_id>")
class ConventionItem(MethodView):
    @api_access(*READERS)
    @blp.response(200, ConventionSchema)
    def get(self, convention_id: int) -> dict[str, Any]:
        """Une convention (lecture seule hors national)."""
        return services.describe(services.get_convention(current_user, convention_id))


@blp.route("/conventions/<int:convention_id>/report")
class ConventionReport(MethodView):
    @api_access(*READERS)
    @blp.response(200, ConventionReportSchema)
    def get(self, convention_id: int) -> dict[str, Any]:
        """Objectifs et réalisé sur la période et le périmètre de la convention, stock fléché remis,
        et le rapport d'activité correspondant."""
        return services.convention_report(current_user, convention_id)


@blp.route("/conventions/<int:convention_id>/report/export")
class ConventionExport(MethodView):
    @api_access(*READERS)
    @blp.arguments(ExportFormatArgs, location="query")
    @blp.response(202, ExportStatusSchema, headers=LOCATION)
    def get(self, args: dict[str, Any], convention_id: int):
        """Lancer l'export du rapport de la convention (format=pdf ou xlsx) : 202, puis suivre Location."""
        convention = services.get_convention(current_user, convention_id)
        if args["format"] not in ("pdf", "xlsx"):
            raise ValidationFailed.field("format", _("Choisissez le format pdf ou xlsx."))
        export = exports.request_report_export(current_user, "convention", args["format"],
                                               {"convention_id": convention.id}, year=convention.ends_on.year)
        location = url_for("reporting_api.ExportItem", export_id=export.id)
        return exports.status_payload(export), {"Location": location}
