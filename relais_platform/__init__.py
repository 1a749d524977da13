"""Relais Platform: the multi-tenant platform of the Relais Numérique network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from relais_platform.config import Config
from relais_platform.extensions import babel, csrf, db, limiter, login_manager, migrate, rest_api


def create_app(overrides: dict[str, Any] | None = None, config_class: type = Config) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_class)
    app.config.from_prefixed_env("RELAIS")
    if overrides:
        app.config.update(overrides)
    Config.finalize(app.config)
    if app.config.get("TRUST_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    _init_extensions(app)
    _register_blueprints(app)
    _register_unit_of_work(app)

    from relais_platform import cli, errors, security

    security.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    return app


def _init_extensions(app: Flask) -> None:
    from relais_platform import i18n, jobs
    from relais_platform.accounts import auth

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    login_manager.init_app(app)
    auth.init_login_manager(login_manager)
    app.session_interface = auth.BearerStatelessSessionInterface()
    rest_api.init_app(app)
    jobs.init_app(app)
    i18n.init_app(app)


def _migrations_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "migrations"


def _register_blueprints(app: Flask) -> None:
    from relais_platform import health, mail
    from relais_platform.accounts import api as accounts_api
    from relais_platform.accounts import views as accounts_views
    from relais_platform.api import docs_assets
    from relais_platform.beneficiaries import api as beneficiaries_api
    from relais_platform.beneficiaries import views as beneficiaries_views
    from relais_platform.stock import (
        api_catalogue,
        api_distributions,
        api_orders,
        api_payments,
        views_distributions,
        webhooks,
    )
    from relais_platform.stock import views as stock_views
    from relais_platform.tenants import api as tenants_api
    from relais_platform.tenants import views as tenants_views
    from relais_platform.training import api as training_api
    from relais_platform.training import views as training_views

    for bp in (health.bp, accounts_views.bp, tenants_views.bp, stock_views.bp, mail.bp,
               docs_assets.bp, webhooks.bp):
        app.register_blueprint(bp)
    # Signed by Stripe, not by a browser: no CSRF token.
    csrf.exempt(webhooks.bp)
    for blp in (accounts_api.blp, tenants_api.blp, api_catalogue.blp, api_orders.blp,
                api_payments.blp):
        rest_api.register_blueprint(blp, url_prefix="/api/v1")
        # API clients authenticate with Bearer tokens; cookie sessions are checked in api_access.
        csrf.exempt(blp)
    app.register_blueprint(training_views.bp)
    rest_api.register_blueprint(training_api.blp, url_prefix="/api/v1")
    csrf.exempt(training_api.blp)
    from relais_platform.audit import api as audit_api
    from relais_platform.audit import views as audit_views

    app.register_blueprint(audit_views.bp)
    rest_api.register_blueprint(audit_api.blp, url_prefix="/api/v1")
    csrf.exempt(audit_api.blp)
    app.register_blueprint(beneficiaries_views.bp)
    rest_api.register_blueprint(beneficiaries_api.blp, url_prefix="/api/v1")
    csrf.exempt(beneficiaries_api.blp)
    app.register_blueprint(views_distributions.bp)
    rest_api.register_blueprint(api_distributions.blp, url_prefix="/api/v1")
    csrf.exempt(api_distributions.blp)
    from relais_platform.reporting import api_dashboards, views_dashboards

    app.register_blueprint(views_dashboards.bp)
    rest_api.register_blueprint(api_dashboards.blp, url_prefix="/api/v1")
    csrf.exempt(api_dashboards.blp)
    from relais_platform.reporting import api as reporting_api
    from relais_platform.reporting import views as reporting_views

    app.register_blueprint(reporting_views.bp)
    rest_api.register_blueprint(reporting_api.blp, url_prefix="/api/v1")
    csrf.exempt(reporting_api.blp)


def _register_unit_of_work(app: Flask) -> None:
    """One commit point per request (as in Indico): commit on success, roll back otherwise."""
    from relais_platform.tenancy import bind_relais

    @app.before_request
    def bind_tenant() -> None:
        # Relais staff act for their relais; national and coaches start unbound.
        if current_user.is_authenticated and current_user.relais_id is not None:
            bind_relais(db.session, current_user.relais_id)

    @app.after_request
    def commit_or_roll_back(response):
        if response.status_code < 400 and request.method != "OPTIONS":
            db.session.commit()
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
