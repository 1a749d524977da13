"""Relais (the tenants): registry, applications, lifecycle."""

from __future__ import annotations

from relais_platform.domains import Domain


def domain() -> Domain:
    from relais_platform.tenants import api, demo, views

    return Domain(name="tenants", blueprints=(views.bp,), api_blueprints=(api.blp,),
                  demo=demo.load_demo_network)
