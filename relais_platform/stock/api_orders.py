"""REST API: orders, allocation, shipment, receipt (skeleton)."""

from flask_smorest import Blueprint

blp = Blueprint("orders_api", __name__, description="Commandes")
