"""Bulk imports with a check step: relais, users, beneficiaries, opening stock, serials,
products (issue 13)."""

from __future__ import annotations

from relais_platform.domains import Domain


def domain() -> Domain:
    from relais_platform.imports import api, views
    from relais_platform.jobs import PeriodicJob

    return Domain(
        name="imports",
        blueprints=(views.bp,),
        api_blueprints=(api.blp,),
        periodic_jobs=(PeriodicJob("relais_platform.imports.jobs.purge_import_files", "47 3 * * *"),),
    )
