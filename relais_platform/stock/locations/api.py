"""REST API of national stock locations, transfers between them, and stock counts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from relais_platform.accounts.models import Role
from relais_platform.api import PaginationArgs, api_access, pagination_headers
from relais_platform.stock.blueprints import stock_blp as blp
from relais_platform.stock.locations import stocktakes, transfers
from relais_platform.stock.locations.models import Stocktake, Transfer
from relais_platform.stock.locations.schemas import (
    LocationCreateSchema,
    LocationMovementSchema,
    LocationSchema,
    ProductLevelSchema,
    StocktakeCreateSchema,
    StocktakeLinesSchema,
    StocktakeQueryArgs,
    StocktakeSchema,
    TransferCreateSchema,
    TransferQueryArgs,
    TransferSchema,
)
from relais_platform.stock.scope import open_national_scope
from relais_platform.stock.warehouse import locations
from relais_platform.stock.warehouse.models import StockLocation
from relais_platform.tenants.schemas import PAGINATION_HEADERS, error_responses


@blp.route("/locations")
class Locations(MethodView):
    @api_access(Role.NATIONAL)
    @blp.response(200, LocationSchema(many=True))
    @error_responses(blp, 401, 403)
    def get(self) -> list[StockLocation]:
        """Emplacements du stock national, celui par défaut en premier (national)."""
        open_national_scope("liste des emplacements de stock")
        return locations.all_locations()

    @api_access(Role.NATIONAL)
    @blp.arguments(LocationCreateSchema)
    @blp.response(201, LocationSchema)
    @error_responses(blp, 401, 403)
    def post(self, data: dict[str, Any]) -> StockLocation:
        """Créer un emplacement (entrepôt, plateforme régionale) ; `is_default` le désigne par défaut."""
        open_national_scope("création d'un emplacement de stock")
        return locations.create(data["name"], is_default=data["is_default"])


@blp.route("/locations/<int:location_id>/stock")
class LocationStockLevels(MethodView):
    @api_access(Role.NATIONAL)
    @blp.response(200, ProductLevelSchema(many=True))
    @error_responses(blp, 401, 403, 404)
    def get(self, location_id: int) -> list[dict[str, Any]]:
        """Niveaux d'un emplacement, par produit (national)."""
        open_national_scope("stock d'un emplacement")
        locations.find(location_id)
        keys = ("product_id", "sku", "name", "serialized", "on_hand")
        return [dict(zip(keys, row, strict=True)) for row in locations.stock_at(location_id)]


@blp.route("/locations/<int:location_id>/movements")
class LocationMovements(MethodView):
    @api_access(Role.NATIONAL)
    @blp.arguments(PaginationArgs, location="query")
    @blp.response(200, LocationMovementSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403, 404)
    def get(self, args: dict[str, Any], location_id: int):
        """Registre des mouvements d'un emplacement, du plus récent au plus ancien (national)."""
        open_national_scope("registre d'un emplacement")
        locations.find(location_id)
        page, per_page = args["page"], args["per_page"]
        rows, total = locations.movements_at(location_id, page, per_page)
        return rows, pagination_headers(total, page, per_page)


@blp.route("/transfers")
class Transfers(MethodView):
    @api_access(Role.NATIONAL)
    @blp.arguments(TransferQueryArgs, location="query")
    @blp.response(200, TransferSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403)
    def get(self, args: dict[str, Any]):
        """Transferts, les plus récents d'abord ; `status=shipped` : ce qui est en transit (national)."""
        open_national_scope("liste des transferts")
        page, per_page = args["page"], args["per_page"]
        rows, total = transfers.query(page, per_page, status=args.get("status"))
        return rows, pagination_headers(total, page, per_page)

    @api_access(Role.NATIONAL)
    @blp.arguments(TransferCreateSchema)
    @blp.response(201, TransferSchema)
    @error_responses(blp, 401, 403, 409)
    def post(self, data: dict[str, Any]) -> Transfer:
        """Expédier des marchandises d'un emplacement à un autre : elles sont en transit jusqu'à
        leur réception (national)."""
        return transfers.ship(data["from_location_id"], data["to_location_id"], data["lines"])


@blp.route("/transfers/<int:transfer_id>")
class TransferById(MethodView):
    @api_access(Role.NATIONAL)
    @blp.response(200, TransferSchema)
    @error_responses(blp, 401, 403, 404)
    def get(self, transfer_id: int) -> Transfer:
        """Un transfert et ses lignes (national)."""
        open_national_scope("consultation d'un transfert")
        return transfers.get(transfer_id)


@blp.route("/transfers/<int:transfer_id>/receipt", methods=["POST"])
@api_access(Role.NATIONAL)
@blp.response(200, TransferSchema)
@error_responses(blp, 401, 403, 404, 409)
def receive_transfer(transfer_id: int) -> Transfer:
    """Réceptionner un transfert à l'emplacement d'arrivée (national)."""
    return transfers.receive(transfer_id)


COUNTING = (Role.NATIONAL, Role.RELAIS_ADMIN)


@blp.route("/stocktakes")
class Stocktakes(MethodView):
    @api_access(*COUNTING)
    @blp.arguments(StocktakeQueryArgs, location="query")
    @blp.response(200, StocktakeSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403)
    def get(self, args: dict[str, Any]):
        """Inventaires physiques : tous (national), ceux du relais (administrateur du relais)."""
        page, per_page = args["page"], args["per_page"]
        rows, total = stocktakes.query(page, per_page, status=args.get("status"))
        return rows, pagination_headers(total, page, per_page)

    @api_access(*COUNTING)
    @blp.arguments(StocktakeCreateSchema)
    @blp.response(201, StocktakeSchema)
    @error_responses(blp, 401, 403, 409)
    def post(self, data: dict[str, Any]) -> Stocktake:
        """Ouvrir un inventaire : d'un emplacement (`location_id`, national) ou du stock du relais
        (administrateur du relais). Renvoie la feuille de comptage : quantités et numéros attendus."""
        return stocktakes.start(data.get("location_id"))


@blp.route("/stocktakes/<int:stocktake_id>")
class StocktakeById(MethodView):
    @api_access(*COUNTING)
    @blp.response(200, StocktakeSchema)
    @error_responses(blp, 401, 403, 404)
    def get(self, stocktake_id: int) -> Stocktake:
        """La feuille de comptage et ce qui a été compté."""
        return stocktakes.get(stocktake_id)


@blp.route("/stocktakes/<int:stocktake_id>/lines", methods=["POST"])
@api_access(*COUNTING)
@blp.arguments(StocktakeLinesSchema)
@blp.response(200, StocktakeSchema)
@error_responses(blp, 401, 403, 404, 409)
def count_stocktake(data: dict[str, Any], stocktake_id: int) -> Stocktake:
    """Saisir des lignes comptées : quantité (produits non suivis) ou numéros scannés, et le motif
    codé de l'écart (`reason_code`, `comment`)."""
    return stocktakes.enter(stocktake_id, data["lines"])


@blp.route("/stocktakes/<int:stocktake_id>/finalise", methods=["POST"])
@api_access(*COUNTING)
@blp.response(200, StocktakeSchema)
@error_responses(blp, 401, 403, 404, 409)
def finalise_stocktake(stocktake_id: int) -> Stocktake:
    """Finaliser : chaque écart devient un ajustement du registre avec son motif codé ; les unités
    non trouvées deviennent perdues, celles trouvées ailleurs sont déplacées."""
    return stocktakes.finalise(stocktake_id)
