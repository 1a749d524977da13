"""Jobs of the import flow (run through `jobs.run_job`, bound to the import's relais)."""

from __future__ import annotations

from flask import current_app
from flask_login import login_user

from relais_platform.accounts.models import User
from relais_platform.extensions import db
from relais_platform.imports import services
from relais_platform.imports.models import ImportRun


def check_import(import_id: int) -> None:
    services.run_check(import_id)


def apply_import(import_id: int) -> None:
    """Apply as the uploader: audit entries, ledger rows and invitations name who imported,
    and invitation links are built on the public base URL."""
    run = db.session.get(ImportRun, import_id)
    if run is None:
        return
    actor = db.session.get(User, run.uploaded_by_id)
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        login_user(actor)
        services.run_apply(import_id)
        # Leaving the request context ends its unit of work (teardown removes the session):
        # commit here, the job's own commit then finds nothing left.
        db.session.commit()
