"""The beneficiaries' registry, accompaniment, privacy rights and retention."""

from __future__ import annotations

from relais_platform.domains import Domain


def domain() -> Domain:
    from relais_platform.beneficiaries import api, demo, views
    from relais_platform.jobs import PeriodicJob

    return Domain(
        name="beneficiaries",
        blueprints=(views.bp,),
        api_blueprints=(api.blp,),
        periodic_jobs=(
            PeriodicJob("relais_platform.beneficiaries.jobs.anonymise_inactive_beneficiaries", "41 2 * * *"),
            PeriodicJob("relais_platform.beneficiaries.jobs.purge_audit_log", "53 2 * * *"),
        ),
        demo=demo.load_demo_beneficiaries,
    )
