"""REST API of the catalogue. Relais users see the active products of their dimensions."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user

from relais_platform.accounts.models import Role
from relais_platform.api import api_access, paginate, pagination_headers
from relais_platform.stock.blueprints import stock_blp as blp
from relais_platform.stock.catalogue import services as catalogue
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.catalogue.schemas import (
    ProductCreateSchema,
    ProductQueryArgs,
    ProductSchema,
    ProductWriteSchema,
)
from relais_platform.tabular.http import exportable
from relais_platform.tenants.schemas import PAGINATION_HEADERS, error_responses


@blp.route("/products")
class Products(MethodView):
    @api_access()
    @blp.arguments(ProductQueryArgs, location="query")
    @blp.response(200, ProductSchema(many=True), headers=PAGINATION_HEADERS)
    @error_responses(blp, 401)
    @exportable(ProductSchema, "catalogue")
    def get(self, args: dict[str, Any]):
        """Catalogue : produits actifs de ses dimensions (relais), actifs (coach), tous (national)."""
        filters: dict[str, Any] = {"category": args.get("category"), "dimension": args.get("dimension")}
        if current_user.role == Role.NATIONAL:
            filters["active"] = args.get("active")
        else:
            filters["active"] = True
        if current_user.relais_id is not None:
            filters["dimensions"] = list(current_user.relais.dimensions)
        page, per_page = args["page"], args["per_page"]
        items, total = paginate(catalogue.products_query(**filters), page, per_page)
        return items, pagination_headers(total, page, per_page)

    @api_access(Role.NATIONAL)
    @blp.arguments(ProductCreateSchema)
    @blp.response(201, ProductSchema)
    @error_responses(blp, 401, 403)
    def post(self, data: dict[str, Any]) -> Product:
        """Ajouter un produit au catalogue (national)."""
        return catalogue.create_product(data)


@blp.route("/products/<int:product_id>")
class ProductItem(MethodView):
    @api_access(Role.NATIONAL)
    @blp.arguments(ProductWriteSchema)
    @blp.response(200, ProductSchema)
    @error_responses(blp, 401, 403, 404)
    def patch(self, data: dict[str, Any], product_id: int) -> Product:
        """Modifier un produit ; `active: false` le retire de la commande (national)."""
        return catalogue.update_product(catalogue.get_product(product_id), data)
