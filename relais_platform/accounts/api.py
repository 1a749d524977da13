"""REST API for authentication and users (skeleton: filled in by the API work)."""

from flask_smorest import Blueprint

blp = Blueprint("auth", __name__, description="Authentification et utilisateurs")
