"""Stock: the catalogue, the national warehouse, orders, distributions to beneficiaries and
the relais' monthly stock reports, one subpackage each (see docs/architecture.md)."""

from __future__ import annotations

import importlib

from relais_platform.domains import Domain


def domain() -> Domain:
    from relais_platform.stock import blueprints, demo
    from relais_platform.stock.orders import api as orders_api
    from relais_platform.stock.orders import webhooks
    from relais_platform.stock.supply import api as supply_api
    from relais_platform.stock.supply import views as supply_views
    from relais_platform.stock.warehouse import cli

    # Each subpackage attaches its routes to the shared blueprints when imported.
    for subpackage in ("catalogue", "warehouse", "locations", "orders", "distributions", "reports",
                       "campaigns"):
        importlib.import_module(f"relais_platform.stock.{subpackage}.views")
        importlib.import_module(f"relais_platform.stock.{subpackage}.api")

    return Domain(
        name="stock",
        blueprints=(blueprints.stock_bp, blueprints.distributions_bp, supply_views.bp),
        # Signed by Stripe, not by a browser: no CSRF token.
        unsigned=(webhooks.bp,),
        api_blueprints=(blueprints.stock_blp, orders_api.orders_blp, orders_api.payments_blp,
                        blueprints.distributions_blp, supply_api.blp),
        commands=(cli.stock_cli,),
        demo=demo.load_demo,
    )
