"""Jobs of the import flow (run through `jobs.run_job`, bound to the import's relais)."""

from __future__ import annotations

import logging

from flask import current_app
from flask_login import login_user

from relais_platform.accounts.models import User
from relais_platform.extensions import db
from relais_platform.imports import retention, services
from relais_platform.imports.models import ImportRun
from relais_platform.tenancy import bind_relais, current_scope

log = logging.getLogger(__name__)


def check_import(import_id: int) -> None:
    services.run_check(import_id)


def apply_import(import_id: int) -> None:
    """Apply as the uploader: audit entries, ledger rows and invitations name who imported,
    and invitation links are built on the public base URL.

    A request context has its own session (one per request): it is bound to the job's relais
    and committed before the context ends (its teardown removes the session).
    """
    relais_id = current_scope(db.session).relais_id
    run = db.session.get(ImportRun, import_id)
    if run is None:
        return
    actor_id = run.uploaded_by_id
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        if relais_id is not None:
            bind_relais(db.session, relais_id)
        login_user(db.session.get(User, actor_id))
        services.run_apply(import_id)
        db.session.commit()


def purge_import_files() -> int:
    """Daily: drop the files of imports done with, or never applied within
    IMPORT_RETENTION_DAYS (`imports.retention`)."""
    count = retention.purge_files()
    log.info("retention: %d imports purged of their file", count)
    return count
