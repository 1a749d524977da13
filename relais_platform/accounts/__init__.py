"""Users, authentication (passwords, two-factor, API tokens), invitations."""

from __future__ import annotations

from relais_platform.domains import Domain


def domain() -> Domain:
    from relais_platform.accounts import api, cli, outbox, views
    from relais_platform.jobs import PeriodicJob

    return Domain(
        name="accounts",
        blueprints=(views.bp, outbox.bp),
        api_blueprints=(api.blp,),
        commands=(cli.users_cli,),
        periodic_jobs=(PeriodicJob("relais_platform.accounts.jobs.purge_expired_tokens", "17 3 * * *"),),
    )
