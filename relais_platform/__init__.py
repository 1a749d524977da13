"""Relais Platform: the multi-tenant platform of the Relais Numérique network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from relais_platform.config import Config
from relais_platform.domains import register_domains
from relais_platform.extensions import babel, csrf, db, limiter, login_manager, migrate, rest_api
from relais_platform.tabular.http import DownloadsPlugin


def create_app(overrides: dict[str, Any] | None = None, config_class: type = Config) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_class)
    app.config.from_prefixed_env("RELAIS")
    if overrides:
        app.config.update(overrides)
    Config.finalize(app.config)
    if app.config.get("TRUST_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    from relais_platform import errors, security
    from relais_platform.bounds import IdConverter

    # Before any route is added: every `<int:…>` path segment is a bounded id.
    app.url_map.converters["int"] = IdConverter
    _init_extensions(app)
    register_domains(app)
    # Headers first: its after_request runs last, on the response the commit may replace.
    security.init_app(app)
    _register_unit_of_work(app)
    errors.init_app(app)
    return app


def _init_extensions(app: Flask) -> None:
    from relais_platform import i18n, jobs, navigation, replica
    from relais_platform.accounts import auth

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    login_manager.init_app(app)
    auth.init_login_manager(login_manager)
    app.session_interface = auth.BearerStatelessSessionInterface()
    # The lists' CSV/XLSX answers are documented beside their JSON one.
    rest_api.init_app(app, spec_kwargs={"extra_plugins": [DownloadsPlugin()]})
    jobs.init_app(app)
    replica.init_app(app)
    i18n.init_app(app)
    navigation.init_app(app)


def _migrations_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "migrations"


def _register_unit_of_work(app: Flask) -> None:
    """One commit point per request (as in Indico): commit on success, roll back otherwise."""
    from relais_platform.domain import DomainError
    from relais_platform.errors import domain_error_response
    from relais_platform.tenancy import bind_relais

    @app.before_request
    def bind_tenant() -> None:
        # Relais staff act for their relais; national and coaches start unbound.
        if current_user.is_authenticated and current_user.relais_id is not None:
            bind_relais(db.session, current_user.relais_id)

    @app.after_request
    def commit_or_roll_back(response):
        if response.status_code < 400 and request.method != "OPTIONS":
            try:
                db.session.commit()
            except DomainError as exc:  # a value no column can hold, found at the final flush
                db.session.rollback()
                return app.make_response(domain_error_response(exc))
        else:
            db.session.rollback()
        return response

    @app.teardown_request
    def end_unit_of_work(exc: BaseException | None) -> None:
        db.session.remove()
        # flask-login caches the user in `g`, which outlives the request when an app context
        # was already pushed (commands, tests): drop the object of the session just closed.
        g.pop("_login_user", None)
        g.pop("api_token", None)
