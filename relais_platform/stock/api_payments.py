"""REST API: payments (skeleton)."""

from flask_smorest import Blueprint

blp = Blueprint("payments_api", __name__, description="Paiements")
