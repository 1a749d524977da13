"""REST API: payments (skeleton)."""

from flask_smorest import Blueprint

blp = Blueprint("payments", __name__, description="Paiements")
