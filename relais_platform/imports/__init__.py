"""Bulk imports with a check step: relais, users, beneficiaries, opening stock, serials,
products (issue 13)."""

from __future__ import annotations

from relais_platform.domains import Domain


def domain() -> Domain:
    from relais_platform.imports import api, views

    return Domain(name="imports", blueprints=(views.bp,), api_blueprints=(api.blp,))
