"""The platform's own pages and commands, registered like a domain: health check, the API
documentation's assets, the demo loader and the worker."""

from __future__ import annotations

from relais_platform.domains import Domain


def domain() -> Domain:
    from relais_platform import cli, health
    from relais_platform.api import docs_assets

    return Domain(
        name="core",
        blueprints=(health.bp, docs_assets.bp),
        commands=(cli.demo_command, cli.worker_command),
    )
