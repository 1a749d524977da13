"""Language selection: French by default, English available (user setting or cookie)."""

from __future__ import annotations

from flask import Flask, current_app, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from relais_platform.security import safe_redirect_target

LOCALE_COOKIE = "lang"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(LOCALE_COOKIE) if request else None
    if not chosen and current_user and current_user.is_authenticated:
        chosen = current_user.locale
    return str(chosen) if chosen in languages else str(current_app.config["BABEL_DEFAULT_LOCALE"])


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def init_app(app: Flask) -> None:
    @app.context_processor
    def inject_locale() -> dict:
        return {"current_locale": str(get_locale()), "languages": app.config["LANGUAGES"]}

    @app.post("/lang/<code>")
    def set_language(code: str):
        target = safe_redirect_target(request.form.get("next")) or url_for("accounts.home")
        response = redirect(target)
        if code in app.config["LANGUAGES"]:
            response.set_cookie(
                LOCALE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                secure=app.config["SESSION_COOKIE_SECURE"], httponly=True,
            )
        return response
