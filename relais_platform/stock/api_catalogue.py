"""REST API: catalogue, national stock, receipts, relais inventory (skeleton)."""

from flask_smorest import Blueprint

blp = Blueprint("stock_api", __name__, description="Catalogue et stock")
