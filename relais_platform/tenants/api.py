"""REST API for relais (skeleton: filled in by the API work)."""

from flask_smorest import Blueprint

blp = Blueprint("relais", __name__, description="Relais (structures partenaires)")
