"""The blueprints the stock subpackages share, so that URLs, endpoint names (`stock.*`,
`distributions.*`) and the API's tags stay one whichever subpackage serves a route."""

from __future__ import annotations

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

stock_bp = Blueprint("stock", __name__, url_prefix="/stock", template_folder="templates")
distributions_bp = Blueprint("distributions", __name__, url_prefix="/distributions",
                             template_folder="templates")
stock_blp = ApiBlueprint("stock_api", __name__, description="Catalogue et stock")
distributions_blp = ApiBlueprint("distributions_api", __name__,
                                 description="Distributions et rapports de stock mensuels")
