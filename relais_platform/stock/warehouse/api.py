"""REST API of the national stock (receipts, adjustments, returns), the relais' inventory and
the serialized units."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask.views import MethodView
from flask_login import current_user

from relais_platform.accounts.models import Role
from relais_platform.api import api_access, pagination_headers
from relais_platform.stock.blueprints import stock_blp as blp
from relais_platform.stock.catalogue import services as catalogue
from relais_platform.stock.scope import open_national_scope
from relais_platform.stock.supply import passport
from relais_platform.stock.supply.origins import Origin, UnitDetail
from relais_platform.stock.warehouse import inventory, national
from relais_platform.stock.warehouse.schemas import (
    AdjustmentSchema,
    HeldUnitSchema,
    InventoryItemSchema,
    InventoryQueryArgs,
    MovementSchema,
    NationalMovementArgs,
    NationalMovementSchema,
    ReceiptResultSchema,
    ReceiptSchema,
    ReturnResultSchema,
    ReturnSchema,
    StockQueryArgs,
    StockRowSchema,
    UnitQueryArgs,
    UnitSchema,
)
from relais_platform.tabular.http import exportable
from relais_platform.tenants.schemas import PAGINATION_HEADERS, error_responses

RELAIS_ROLES = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)


@blp.route("/stock")
class Stock(MethodView):
    @api_access(Role.NATIONAL)
    @blp.arguments(StockQueryArgs, location="query")
    @blp.response(200, StockRowSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403)
    @exportable(StockRowSchema, "stock-national")
    def get(self, args: dict[str, Any]):
        """Stock national par produit : en stock, réservé, disponible, et le détail par emplacement
        et en transit (national)."""
        open_national_scope("vue du stock national")
        page, per_page = args["page"], args["per_page"]
        rows, total = national.stock_overview(page, per_page, active=args.get("active"))
        return rows, pagination_headers(total, page, per_page)


@blp.route("/stock/movements")
class NationalMovements(MethodView):
    @api_access(Role.NATIONAL)
    @blp.arguments(NationalMovementArgs, location="query")
    @blp.response(200, NationalMovementSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403, 422)
    @exportable(NationalMovementSchema, "mouvements-stock-national")
    def get(self, args: dict[str, Any]):
        """Le registre du stock national (réceptions, réservations, expéditions, ajustements,
        retours, transferts), du plus récent au plus ancien ; filtres : produit (product_id ou
        sku), type, jours (from, to inclus) (national)."""
        open_national_scope("registre du stock national")
        page, per_page = args["page"], args["per_page"]
        rows, total = national.movements(args["filters"], page, per_page)
        return rows, pagination_headers(total, page, per_page)


@blp.route("/stock/receipts")
class Receipts(MethodView):
    @api_access(Role.NATIONAL)
    @blp.arguments(ReceiptSchema)
    @blp.response(201, ReceiptResultSchema)
    @error_responses(blp, 401, 403)
    def post(self, data: dict[str, Any]) -> dict[str, int]:
        """Réceptionner des marchandises : quantité, liste de numéros ou plage d'ICCID (national).

        Un numéro invalide, en double ou déjà connu rejette toute la réception (422 qui les nomme).
        """
        open_national_scope("réception au stock national")
        product = catalogue.product_by_sku(data["sku"])
        serial_range = data.get("serial_range")
        units = data.get("units") or []
        serials = data.get("serials")
        if serials is None and units and serial_range is None and data.get("quantity") is None:
            serials = [unit["serial"] for unit in units]
        received = national.receive(
            product,
            quantity=data.get("quantity"),
            serials=serials,
            serial_range=(serial_range["first"], serial_range["last"]) if serial_range else None,
            reason=data.get("reason"),
            convention_id=data.get("convention_id"),
            origin=Origin(
                supplier_id=data.get("supplier_id"), donation=data["donation"],
                unit_value_cents=data.get("unit_value_cents"), collection_id=data.get("collection_id"),
                grade=data.get("grade"), wipe_certificate=data.get("wipe_certificate"),
                units={unit["serial"]: UnitDetail(unit.get("grade"), unit.get("wipe_certificate"))
                       for unit in units},
            ),
            location_id=data.get("location_id"),
        )
        return {"received": received}


@blp.route("/stock/adjustments")
class Adjustments(MethodView):
    @api_access(Role.NATIONAL)
    @blp.arguments(AdjustmentSchema)
    @blp.response(201, StockRowSchema)
    @error_responses(blp, 401, 403, 409)
    def post(self, data: dict[str, Any]) -> national.StockRow:
        """Corriger le stock national avec un motif ; jamais sous le réservé (national)."""
        open_national_scope("ajustement du stock national")
        product = catalogue.product_by_sku(data["sku"])
        national.adjust(product, reason=data["reason"], quantity=data.get("quantity"),
                        serials=data.get("serials"), status=data["status"],
                        location_id=data.get("location_id"), reason_code=data.get("reason_code"))
        return national.stock_row(product)


@blp.route("/stock/returns")
class Returns(MethodView):
    @api_access(Role.NATIONAL)
    @blp.arguments(ReturnSchema)
    @blp.response(201, ReturnResultSchema)
    @error_responses(blp, 401, 403, 409)
    def post(self, data: dict[str, Any]) -> dict[str, int]:
        """Reprendre des unités au stock national (garantie, refus, fermeture d'un relais)."""
        open_national_scope("retour d'unités au stock national")
        product = catalogue.product_by_sku(data["sku"])
        returned = national.return_units(product, data["serials"], reason=data["reason"],
                                         defective=data["defective"], location_id=data.get("location_id"))
        return {"returned": returned}


@blp.route("/inventory")
class Inventory(MethodView):
    @api_access(*RELAIS_ROLES)
    @blp.response(200, InventoryItemSchema(many=True))
    @error_responses(blp, 401, 403)
    @exportable(InventoryItemSchema, "inventaire")
    def get(self):
        """Inventaire du relais : quantité par produit et, pour les produits suivis à l'unité,
        les unités présentes au relais (liste complète ; paginée : /inventory/units)."""
        relais_id = current_user.relais_id
        held = inventory.units_by_sku(relais_id)
        return [{**asdict(item), "units": held.get(item.sku, [])} for item in inventory.items(relais_id)]


@blp.route("/inventory/units")
class InventoryUnits(MethodView):
    @api_access(*RELAIS_ROLES)
    @blp.arguments(InventoryQueryArgs, location="query")
    @blp.response(200, HeldUnitSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403)
    @exportable(HeldUnitSchema, "unites-au-relais")
    def get(self, args: dict[str, Any]):
        """Unités suivies présentes au relais, page par page (filtre `sku`)."""
        page, per_page = args["page"], args["per_page"]
        units, total = inventory.units(current_user.relais_id, page, per_page, sku=args.get("sku"))
        return units, pagination_headers(total, page, per_page)


@blp.route("/inventory/movements")
class InventoryMovements(MethodView):
    @api_access(*RELAIS_ROLES)
    @blp.arguments(InventoryQueryArgs, location="query")
    @blp.response(200, MovementSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401, 403)
    @exportable(MovementSchema, "mouvements-inventaire")
    def get(self, args: dict[str, Any]):
        """Mouvements de l'inventaire du relais, du plus récent au plus ancien."""
        page, per_page = args["page"], args["per_page"]
        rows, total = inventory.movements(current_user.relais_id, page, per_page, sku=args.get("sku"))
        return rows, pagination_headers(total, page, per_page)


@blp.route("/units/<string:serial>")
class Unit(MethodView):
    @api_access(Role.NATIONAL, *RELAIS_ROLES)
    @blp.arguments(UnitQueryArgs, location="query")
    @blp.response(200, UnitSchema)
    @error_responses(blp, 401, 403, 404)
    def get(self, args: dict[str, Any], serial: str) -> dict[str, Any]:
        """Une unité et son historique : toutes (national), les siennes seulement (relais)."""
        is_national = current_user.role == Role.NATIONAL
        if is_national:
            open_national_scope("consultation d'une unité suivie")
        unit = national.find_unit(serial, args.get("sku"), relais_id=current_user.relais_id)
        history = national.unit_history(unit)
        return {
            "id": unit.id,
            "sku": unit.product.sku,
            "product_name": unit.product.name,
            "serial": unit.serial,
            "status": unit.status,
            "relais_id": unit.relais_id,
            "received_at": unit.received_at,
            "warranty_ends_on": unit.warranty_ends_on,
            "history": history,
            "passport": passport.build(unit, history, national=is_national),
        }
