"""Web pages for accounts (skeleton: filled in by the web UI work)."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)


@bp.get("/")
def home():
    return "Relais Numérique"


@bp.route("/login", methods=["GET", "POST"])
def login():
    return "login"


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    return "invitation"


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return "reset"
