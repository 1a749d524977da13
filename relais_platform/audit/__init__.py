"""The append-only audit log, its pages and API, and the audited door to cross-relais data."""

from __future__ import annotations

from relais_platform.domains import Domain


def domain() -> Domain:
    from relais_platform.audit import api, views

    return Domain(name="audit", blueprints=(views.bp,), api_blueprints=(api.blp,))
