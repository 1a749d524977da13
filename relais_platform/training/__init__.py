"""Training of the relais' staff and coaching of the relais."""

from __future__ import annotations

from relais_platform.domains import Domain


def domain() -> Domain:
    from relais_platform.jobs import PeriodicJob
    from relais_platform.training import api, cli, demo, views

    return Domain(
        name="training",
        blueprints=(views.bp,),
        api_blueprints=(api.blp,),
        commands=(cli.training_cli,),
        periodic_jobs=(
            PeriodicJob("relais_platform.training.jobs.send_reminders", "0 16 * * *"),
            PeriodicJob("relais_platform.training.jobs.send_weekly_digest", "0 6 * * 1"),
            PeriodicJob("relais_platform.training.jobs.send_follow_up_reminders", "30 6 * * *"),
        ),
        demo=demo.load_training_demo,
    )
