"""Reporting: annual bilan, activity report, funders and agreements, events and governance,
dashboards and their charts."""

from __future__ import annotations

from relais_platform.domains import Domain


def domain() -> Domain:
    from relais_platform.jobs import PeriodicJob
    from relais_platform.reporting import api, cli, demo, views
    from relais_platform.reporting.activity import api as activity_api
    from relais_platform.reporting.activity import views as activity_views
    from relais_platform.reporting.dashboards import api as dashboards_api
    from relais_platform.reporting.dashboards import views as dashboards_views
    from relais_platform.reporting.funders import api as funders_api
    from relais_platform.reporting.funders import views as funders_views

    return Domain(
        name="reporting",
        blueprints=(dashboards_views.bp, views.bp, activity_views.bp, funders_views.bp),
        api_blueprints=(dashboards_api.blp, api.blp, activity_api.blp, funders_api.blp),
        periodic_jobs=(PeriodicJob("relais_platform.reporting.exports.purge_old_exports", "29 3 * * *"),),
        demo=demo.load_demo,
        commands=(cli.reporting_cli,),
    )
