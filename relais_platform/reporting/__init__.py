"""Reporting: annual bilan, events and governance, dashboards and their charts."""

from __future__ import annotations

from relais_platform.domains import Domain


def domain() -> Domain:
    from relais_platform.jobs import PeriodicJob
    from relais_platform.reporting import api, demo, views
    from relais_platform.reporting.dashboards import api as dashboards_api
    from relais_platform.reporting.dashboards import views as dashboards_views

    return Domain(
        name="reporting",
        blueprints=(dashboards_views.bp, views.bp),
        api_blueprints=(dashboards_api.blp, api.blp),
        periodic_jobs=(PeriodicJob("relais_platform.reporting.exports.purge_old_exports", "29 3 * * *"),),
        demo=demo.load_demo_events,
    )
