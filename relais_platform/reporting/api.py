"""REST API of reporting: events and governance (relais staff), the annual bilan and its exports.

The bilan answers every role with its own reach: a relais user its relais, a coach its
portfolio, national the network; a relais outside that reach is 404. An export is a job:
202 with the address of its status, which gives the file's address once finished; only
the requester may read either (404 otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import Response, g, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort

from relais_platform.accounts.models import Role
from relais_platform.api import api_access, pagination_headers
from relais_platform.reporting import events, exports
from relais_platform.reporting.bilan import annual_bilan, parse_year, resolve_scope
from relais_platform.reporting.models import EventKind, ReportingEvent
from relais_platform.reporting.schemas import (
    PAGINATION_HEADERS,
    AnnualArgs,
    AnnualBilanSchema,
    EventCreateSchema,
    EventInputSchema,
    EventListArgs,
    EventSchema,
    ExportArgs,
    ExportStatusSchema,
)
from relais_platform.tabular.http import exportable
from relais_platform.tenants.schemas import error_responses

blp = Blueprint("reporting_api", __name__, description="Bilan annuel, événements et gouvernance")

STAFF = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)


@blp.route("/events")
class Events(MethodView):
    @api_access(*STAFF)
    @blp.arguments(EventListArgs, location="query")
    @blp.response(200, EventSchema(many=True), headers=PAGINATION_HEADERS)
    @exportable(EventSchema, "evenements")
    def get(self, args: dict[str, Any]):
        """Événements et participations aux instances du relais, les plus récents d'abord."""
        kind = EventKind(args["kind"]) if args.get("kind") else None
        page, per_page = args["page"], args["per_page"]
        items, total = events.page(kind, args.get("year"), page, per_page)
        return items, pagination_headers(total, page, per_page)

    @api_access(*STAFF)
    @blp.arguments(EventCreateSchema)
    @blp.response(201, EventSchema)
    def post(self, data: dict[str, Any]) -> ReportingEvent:
        """Enregistrer un événement organisé (kind=event) ou une participation à une instance
        de gouvernance ou un groupe de travail (kind=governance)."""
        return events.create(data)


@blp.route("/events/<int:event_id>")
class EventItem(MethodView):
    @api_access(*STAFF)
    @blp.response(200, EventSchema)
    def get(self, event_id: int) -> ReportingEvent:
        """Un événement du relais."""
        return events.get(event_id)

    @api_access(*STAFF)
    @blp.arguments(EventInputSchema)
    @blp.response(200, EventSchema)
    def patch(self, data: dict[str, Any], event_id: int) -> ReportingEvent:
        """Modifier un événement."""
        return events.update(events.get(event_id), data)

    @api_access(*STAFF)
    @blp.response(204)
    def delete(self, event_id: int) -> None:
        """Supprimer un événement."""
        events.delete(events.get(event_id))


def _filters(args: dict[str, Any]) -> dict[str, Any]:
    return {k: args.get(k) for k in ("relais_id", "departement", "region")}


@blp.route("/reports/annual")
class AnnualReport(MethodView):
    @api_access()
    @blp.arguments(AnnualArgs, location="query")
    @blp.response(200, AnnualBilanSchema)
    def get(self, args: dict[str, Any]):
        """Bilan annuel (année civile) et l'année précédente : le réseau ou un relais (national),
        le portefeuille (coach), son relais (relais). Filtres national : departement, region."""
        year = parse_year(args["year"])
        return annual_bilan(resolve_scope(current_user, **_filters(args)), year)


@blp.route("/reports/annual/export")
class AnnualExport(MethodView):
    @api_access()
    @blp.arguments(ExportArgs, location="query")
    @blp.response(202, ExportStatusSchema, headers={"Location": {"schema": {"type": "string"},
                                                               "description": "Statut de l'export"}})
    def post(self, args: dict[str, Any]):
        """Lancer un export du bilan (format=pdf, xlsx ou csv) : 202, puis suivre Location."""
        return _start_export(args)

    @api_access()
    @blp.arguments(ExportArgs, location="query")
    @blp.response(202, ExportStatusSchema, headers={"Location": {"schema": {"type": "string"},
                                                               "description": "Statut de l'export"}})
    @error_responses(blp, 405)
    def get(self, args: dict[str, Any]):
        """Ancienne forme (jeton Bearer uniquement) : préférez POST, qu'un lien ne peut pas déclencher."""
        if g.get("api_token") is None:
            # A browser following or prefetching a link carries the cookie, never a Bearer token.
            abort(405, message=_("Un export se lance avec POST."))
        return _start_export(args)


def _start_export(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    export = exports.request_export(current_user, args["year"], args["format"], _filters(args))
    location = url_for("reporting_api.ExportItem", export_id=export.id)
    return exports.status_payload(export), {"Location": location}


@blp.route("/reports/exports/<int:export_id>")
class ExportItem(MethodView):
    @api_access()
    @blp.response(200, ExportStatusSchema)
    def get(self, export_id: int):
        """Statut et progression d'un export (le sien uniquement) ; download_url une fois prêt."""
        return exports.status_payload(exports.settle_lost(exports.get_export(current_user, export_id)))


@blp.route("/reports/exports/<int:export_id>/retry")
class ExportRetry(MethodView):
    @api_access()
    @blp.response(202, ExportStatusSchema, headers={"Location": {"schema": {"type": "string"},
                                                               "description": "Statut de l'export"}})
    def post(self, export_id: int):
        """Relancer un export en échec (`failed`) : 202, puis suivre Location ; 409 sinon."""
        export = exports.restart_export(current_user, export_id)
        location = url_for("reporting_api.ExportItem", export_id=export.id)
        return exports.status_payload(export), {"Location": location}


@blp.route("/reports/exports/<int:export_id>/file")
class ExportFile(MethodView):
    @api_access()
    @blp.response(200, content_type="application/octet-stream")
    def get(self, export_id: int) -> Response:
        """Le fichier d'un export terminé (409 tant qu'il ne l'est pas)."""
        name, mimetype, content = exports.file_of(exports.get_export(current_user, export_id))
        return Response(content, content_type=mimetype,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
