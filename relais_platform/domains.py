"""How a domain package plugs into the application.

Each domain package exposes `domain() -> Domain` in its `__init__.py` (imports inside the
function, so that importing any module of the package never loads its views); `create_app`
walks `DOMAINS` once. Adding a domain means adding its line to `DOMAINS`, nothing else.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click
from flask import Blueprint, Flask
from flask_smorest import Blueprint as ApiBlueprint

from relais_platform.extensions import csrf, rest_api
from relais_platform.jobs import PeriodicJob

API_PREFIX = "/api/v1"

# In registration order (the demo loaders run in this order too: relais and accounts first).
DOMAINS: tuple[str, ...] = (
    "relais_platform.core",
    "relais_platform.accounts",
    "relais_platform.tenants",
    "relais_platform.stock",
    "relais_platform.training",
    "relais_platform.audit",
    "relais_platform.beneficiaries",
    "relais_platform.reporting",
    "relais_platform.imports",
    "relais_platform.perf",
)


@dataclass(frozen=True)
class Domain:
    name: str
    # Pages; CSRF-protected unless listed in `unsigned` (called by machines that sign otherwise).
    blueprints: Sequence[Blueprint] = ()
    unsigned: Sequence[Blueprint] = ()
    # REST endpoints under /api/v1: Bearer clients need no CSRF token, browser sessions are
    # checked in `api.api_access`.
    api_blueprints: Sequence[ApiBlueprint] = ()
    commands: Sequence[click.Command] = ()
    periodic_jobs: Sequence[PeriodicJob] = ()
    # Loads the domain's demo data (idempotent); returns the logins to print, if any.
    demo: Callable[[], Sequence[Any] | None] | None = None


def load_domains() -> list[Domain]:
    return [importlib.import_module(name).domain() for name in DOMAINS]


def register_domains(app: Flask) -> list[Domain]:
    domains = load_domains()
    for domain in domains:
        for bp in domain.blueprints:
            app.register_blueprint(bp)
        for bp in domain.unsigned:
            app.register_blueprint(bp)
            csrf.exempt(bp)
        for blp in domain.api_blueprints:
            rest_api.register_blueprint(blp, url_prefix=API_PREFIX)
            csrf.exempt(blp)
        for command in domain.commands:
            app.cli.add_command(command)
    app.extensions["relais_domains"] = domains
    return domains


def registered_domains(app: Flask) -> list[Domain]:
    return app.extensions["relais_domains"]


def periodic_jobs() -> list[PeriodicJob]:
    return [job for domain in load_domains() for job in domain.periodic_jobs]
