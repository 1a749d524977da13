"""Performance tooling: the national dataset command (`flask --app wsgi perf seed`)."""

from __future__ import annotations

from relais_platform.domains import Domain


def domain() -> Domain:
    from relais_platform.perf import cli

    return Domain(name="perf", commands=(cli.perf_cli,))
