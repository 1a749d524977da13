"""flask-login wiring (session cookie and Bearer tokens) and role guards for views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, abort, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db

# Key of the cookie session holding the browser-session id (see `BrowserSession`).
BROWSER_SESSION = "sid"


def init_login_manager(manager: LoginManager) -> None:
    manager.login_view = "accounts.login"
    manager.login_message = _l("Connectez-vous pour accéder à cette page.")
    manager.login_message_category = "info"
    manager.session_protection = "strong"

    @manager.user_loader
    def load_user(session_id: str) -> User | None:
        # The id carries a version bumped on password change or deactivation, and the cookie
        # a browser-session id that sign-out ends on the server.
        from relais_platform.accounts.services import browser_session_is_open

        try:
            user_id, version = (int(part) for part in session_id.split(":"))
        except ValueError:
            return None
        if not browser_session_is_open(user_id, session.get(BROWSER_SESSION)):
            return None
        user = db.session.get(User, user_id)
        if user is None or user.session_version != version or not user.active:
            return None
        return user

    @manager.request_loader
    def load_user_from_bearer(req) -> User | None:
        token = bearer_token_of(req)
        if token is None:
            return None
        from relais_platform.accounts.services import user_for_api_token

        found = user_for_api_token(token)
        if found is None:
            return None
        g.api_token = found[1]
        return found[0]


def bearer_token_of(req) -> str | None:
    header = req.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None


class BearerStatelessSessionInterface(SecureCookieSessionInterface):
    """A request carrying a Bearer token neither reads nor writes the cookie session.

    Otherwise a client that keeps cookies would mix both credentials: a cookie set by one
    Bearer request (a CSRF token, say) fails flask-login's "strong" check on the next one,
    which then ends up anonymous before the token is even looked at.
    """

    def open_session(self, app: Flask, request):
        if bearer_token_of(request) is not None:
            return self.session_class()  # empty, and never saved below
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if bearer_token_of(request) is not None:
            return
        super().save_session(app, session, response)


def roles_required(*roles: Role) -> Callable:
    """Web views: 401 redirect when signed out, 403 for a wrong role."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                from relais_platform.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def is_api_request() -> bool:
    return request.path.startswith("/api/")
