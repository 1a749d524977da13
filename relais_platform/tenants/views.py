"""Web pages for relais (skeleton: filled in by the web UI work)."""

from flask import Blueprint

bp = Blueprint("tenants", __name__, url_prefix="/relais")


@bp.get("/<int:relais_id>")
def detail(relais_id: int):
    return "relais"
