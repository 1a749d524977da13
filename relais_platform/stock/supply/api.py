"""REST API of supply (national team): suppliers, collections, supplier returns, figures."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint as ApiBlueprint

from relais_platform.accounts.models import Role
from relais_platform.api import PaginationArgs, api_access, paginate, pagination_headers
from relais_platform.stock.supply import figures as supply_figures
from relais_platform.stock.supply import services as supply
from relais_platform.stock.supply import slip
from relais_platform.stock.supply.models import Collection, Supplier, SupplierKind, SupplierReturn
from relais_platform.stock.supply.schemas import (
    CollectionInSchema,
    CollectionListArgs,
    CollectionSchema,
    CollectionSendSchema,
    ReturnAnswersInSchema,
    SupplierInSchema,
    SupplierListArgs,
    SupplierReturnInSchema,
    SupplierReturnSchema,
    SupplierSchema,
    SupplyFiguresSchema,
)
from relais_platform.tenants.schemas import PAGINATION_HEADERS, error_responses

blp = ApiBlueprint(
    "supply_api",
    __name__,
    description="Approvisionnement : fournisseurs, collectes, retours fournisseur, chiffres",
)
NATIONAL = (Role.NATIONAL,)


@blp.route("/suppliers")
class Suppliers(MethodView):
    @api_access(*NATIONAL)
    @blp.arguments(SupplierListArgs, location="query")
    @blp.response(200, SupplierSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403)
    def get(self, args: dict[str, Any]):
        """Les fournisseurs : donateurs, collectes, reconditionneurs, opérateurs, vendeurs (national)."""
        kind = SupplierKind(args["kind"]) if args.get("kind") else None
        items, total = paginate(supply.suppliers_query(kind), args["page"], args["per_page"])
        return items, pagination_headers(total, args["page"], args["per_page"])

    @api_access(*NATIONAL)
    @blp.arguments(SupplierInSchema)
    @blp.response(201, SupplierSchema)
    @error_responses(blp, 401, 403)
    def post(self, data: dict[str, Any]) -> Supplier:
        """Ajouter un fournisseur (nom unique)."""
        return supply.create_supplier(data)


@blp.route("/collections")
class Collections(MethodView):
    @api_access(*NATIONAL)
    @blp.arguments(CollectionListArgs, location="query")
    @blp.response(200, CollectionSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403)
    def get(self, args: dict[str, Any]):
        """Les collectes, les plus récentes d'abord (filtres : donor_id, open)."""
        stmt = supply.collections_query(args.get("donor_id"), bool(args.get("open")))
        items, total = paginate(stmt, args["page"], args["per_page"])
        return items, pagination_headers(total, args["page"], args["per_page"])

    @api_access(*NATIONAL)
    @blp.arguments(CollectionInSchema)
    @blp.response(201, CollectionSchema)
    @error_responses(blp, 401, 403)
    def post(self, data: dict[str, Any]) -> Collection:
        """Enregistrer une collecte d'appareils usagés auprès d'un donateur, par catégorie."""
        return supply.create_collection(data)


@blp.route("/collections/<int:collection_id>")
class CollectionDetail(MethodView):
    @api_access(*NATIONAL)
    @blp.response(200, CollectionSchema)
    @error_responses(blp, 401, 403, 404)
    def get(self, collection_id: int) -> Collection:
        """Une collecte : collectés, reconditionnés (reçus), recyclés, par catégorie."""
        return supply.get_collection(collection_id)


@blp.route("/collections/<int:collection_id>/send")
class CollectionSend(MethodView):
    @api_access(*NATIONAL)
    @blp.arguments(CollectionSendSchema)
    @blp.response(200, CollectionSchema)
    @error_responses(blp, 401, 403, 404, 409)
    def post(self, data: dict[str, Any], collection_id: int) -> Collection:
        """Envoyer la collecte à un reconditionneur."""
        return supply.send_collection(collection_id, data["refurbisher_id"], data.get("sent_on"))


@blp.route("/collections/<int:collection_id>/close")
class CollectionClose(MethodView):
    @api_access(*NATIONAL)
    @blp.response(200, CollectionSchema)
    @error_responses(blp, 401, 403, 404, 409)
    def post(self, collection_id: int) -> Collection:
        """Clore la collecte : ce qui n'est pas revenu reconditionné est compté recyclé."""
        return supply.close_collection(collection_id)


def _return_out(batch: SupplierReturn) -> dict[str, Any]:
    units = supply.return_units(batch)
    return {
        "id": batch.id,
        "supplier": batch.supplier,
        "created_at": batch.created_at,
        "lines": [
            {
                "serial": units[line.unit_id].serial,
                "sku": units[line.unit_id].product.sku,
                "outcome": line.outcome.value if line.outcome else None,
                "answered_at": line.answered_at,
                "note": line.note,
                "replacement_serial": units[line.replacement_unit_id].serial
                if line.replacement_unit_id
                else None,
            }
            for line in batch.lines
        ],
    }


@blp.route("/supplier-returns")
class SupplierReturns(MethodView):
    @api_access(*NATIONAL)
    @blp.arguments(PaginationArgs, location="query")
    @blp.response(200, SupplierReturnSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403)
    def get(self, args: dict[str, Any]):
        """Les retours fournisseur (RMA), les plus récents d'abord."""
        items, total = paginate(supply.returns_query(), args["page"], args["per_page"])
        return [_return_out(batch) for batch in items], pagination_headers(
            total, args["page"], args["per_page"]
        )

    @api_access(*NATIONAL)
    @blp.arguments(SupplierReturnInSchema)
    @blp.response(201, SupplierReturnSchema)
    @error_responses(blp, 401, 403)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Renvoyer au reconditionneur des unités défectueuses revenues au stock national ; le bon de
        retour PDF : /supplier-returns/<id>/slip."""
        return _return_out(supply.create_return(data["supplier_id"], data["serials"]))


@blp.route("/supplier-returns/<int:return_id>")
class SupplierReturnItem(MethodView):
    @api_access(*NATIONAL)
    @blp.response(200, SupplierReturnSchema)
    @error_responses(blp, 401, 403, 404)
    def get(self, return_id: int) -> dict[str, Any]:
        """Un retour fournisseur et la réponse pour chaque unité."""
        return _return_out(supply.get_return(return_id))


@blp.route("/supplier-returns/<int:return_id>/answers")
class SupplierReturnAnswers(MethodView):
    @api_access(*NATIONAL)
    @blp.arguments(ReturnAnswersInSchema)
    @blp.response(200, SupplierReturnSchema)
    @error_responses(blp, 401, 403, 404)
    def post(self, data: dict[str, Any], return_id: int) -> dict[str, Any]:
        """La réponse du reconditionneur par unité : repaired (retour au stock national), replaced
        (l'unité de remplacement est réceptionnée, grade et certificat d'effacement), scrapped."""
        return _return_out(supply.answer_return(return_id, data["answers"]))


@blp.route("/supplier-returns/<int:return_id>/slip")
class SupplierReturnSlip(MethodView):
    @api_access(*NATIONAL)
    @blp.response(200, content_type="application/pdf")
    @error_responses(blp, 401, 403, 404)
    def get(self, return_id: int) -> Response:
        """Le bon de retour (PDF) à joindre au colis."""
        batch = supply.get_return(return_id)
        return Response(
            slip.render_pdf(batch),
            mimetype="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{slip.filename(batch)}"'},
        )


@blp.route("/supply/figures")
class SupplyFigures(MethodView):
    @api_access(*NATIONAL)
    @blp.response(200, SupplyFiguresSchema)
    @error_responses(blp, 401, 403)
    def get(self) -> supply_figures.SupplyFigures:
        """Réceptions par fournisseur et par type, dons et valeur en nature par an, taux de réemploi
        (par donateur, reconditionneur, année), taux de panne sous garantie (par produit, reconditionneur)."""
        return supply_figures.figures()
