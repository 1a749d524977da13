"""Web pages for stock and orders (skeleton)."""

from flask import Blueprint

bp = Blueprint("stock", __name__, url_prefix="/stock")
