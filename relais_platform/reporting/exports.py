"""Exports of the annual bilan (PDF for funders, XLSX, CSV), built by an RQ job.

The request stores a `ReportExport` row and queues the job after commit (202 with the row's
address). The job mirrors its progress in `job.meta` and in the row (committed as it goes,
so the page's progress bar moves), then stores the file in the row. Only the user who asked
may read the status or download the file (anyone else: 404). Files are purged after
`RETENTION` by a daily job. Like the page, an export holds aggregates only: no name.

A worker killed mid-export loses nothing: the job is retried (twice) once a live worker's
maintenance finds it abandoned, and `export_job_failed` keeps the row in step — waiting
while a retry is due, `failed` once they are spent (or when the job vanished from Redis),
never `running` forever. A failed export can be started again (`restart_export`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from rq import Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import delete, select

from relais_platform import jobs
from relais_platform.accounts.models import User
from relais_platform.audit import services as audit
from relais_platform.audit.services import network_access
from relais_platform.domain import Conflict, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import rows_affected, utcnow
from relais_platform.reporting.bilan import CATEGORY_ORDER, annual_bilan, parse_year, resolve_scope
from relais_platform.reporting.models import ExportStatus, ReportExport
from relais_platform.reporting.presentation import CATEGORY_LABELS, charts_of
from relais_platform.spreadsheets import csv_bytes, xlsx_bytes

FORMATS = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
RETENTION = timedelta(days=7)

INDICATORS: tuple[tuple[str, Any], ...] = (
    ("beneficiaries", _l("Personnes accompagnées")),
    ("beneficiaries_named", _l("dont personnes inscrites (comptées une fois)")),
    ("beneficiaries_anonymous", _l("dont participations et remises anonymes")),
    ("new_beneficiaries", _l("Nouvelles personnes inscrites")),
    ("parcours_completed", _l("Parcours terminés")),
    ("accompaniment_sessions", _l("Séances d'accompagnement")),
    ("accompaniment_hours", _l("Heures d'accompagnement (durée × participants)")),
    ("events", _l("Événements organisés")),
    ("event_participants", _l("Participants aux événements")),
    ("governance_participations", _l("Participations aux instances de gouvernance")),
    ("professionals_trained", _l("Professionnels formés")),
    ("relais_active", _l("Relais actifs")),
)


def indicator_rows(bilan: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """(key, label, this year, previous year) for the figures shown everywhere."""
    previous = bilan["previous_year"]
    rows = [(key, str(label), bilan[key], previous[key]) for key, label in INDICATORS]
    for key in CATEGORY_ORDER:
        rows.append((f"category:{key}", _("Distribués — %(what)s", what=CATEGORY_LABELS[key]),
                     bilan["distributions_by_category"][key], previous["distributions_by_category"][key]))
    rows.append(("connect_refugees", _("Distribués dans le programme Connect Refugees"),
                 bilan["connect_refugees"]["programme"], previous["connect_refugees"]["programme"]))
    return rows


def product_rows(bilan: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(sku, this year, previous year) for every product distributed in either year."""
    current, previous = bilan["distributions"], bilan["previous_year"]["distributions"]
    return [(sku, current.get(sku, 0), previous.get(sku, 0)) for sku in sorted(set(current) | set(previous))]


# --- requests (web and API) ---------------------------------------------------------------


def request_export(actor: User, year_value: Any, fmt: Any, filters: dict[str, Any]) -> ReportExport:
    """Check the request (422, or 404 outside the actor's reach), store it, queue the job."""
    errors: dict[str, list[str]] = {}
    try:
        year = parse_year(year_value)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if fmt not in FORMATS:
        errors["format"] = [_("Choisissez le format pdf, xlsx ou csv.")]
    if errors:
        raise ValidationFailed(errors)
    scope = resolve_scope(actor, **filters)
    export = ReportExport(requested_by_id=actor.id, relais_id=actor.relais_id, year=year, format=fmt,
                          scope=scope.filters)
    db.session.add(export)
    db.session.flush()
    audit.record("bilan_export_requested", target=export,
                 details={"year": year, "format": fmt, "scope": scope.kind, **scope.filters})
    _enqueue(export)
    return export


def _enqueue(export: ReportExport) -> None:
    """Queue the job after commit, its id known to the row from the start."""
    export.job_id = f"bilan-export-{export.id}-{uuid.uuid4().hex[:12]}"
    jobs.enqueue_after_commit(build_export, export.id, relais_id=export.relais_id, queue_name="reports",
                              retry=Retry(max=2, interval=[5, 30]), job_id=export.job_id,
                              on_failure=export_job_failed)


def restart_export(actor: User, export_id: int) -> ReportExport:
    """Start a failed export again (the requester only); 409 unless it failed."""
    export = get_export(actor, export_id)
    if export.status != ExportStatus.FAILED:
        raise Conflict(_("Seul un export en échec peut être relancé."))
    export.status, export.progress, export.error, export.finished_at = ExportStatus.QUEUED, 0, None, None
    audit.record("bilan_export_restarted", target=export)
    _enqueue(export)
    return export


def settle_lost(export: ReportExport) -> ReportExport:
    """An export still waiting whose job Redis no longer knows (or has failed for good) has
    failed: say so rather than wait forever."""
    if export.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING) or export.job_id is None:
        return export
    try:
        status = Job.fetch(export.job_id, connection=jobs.redis_connection()).get_status()
    except NoSuchJobError:
        status = None
    if status in (None, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        export.status, export.progress = ExportStatus.FAILED, 0
        export.error = export.error or "JobLost"
    return export


def request_report_export(actor: User, report: str, fmt: Any, params: dict[str, Any], *,
                          year: int) -> ReportExport:
    """Queue the export of an activity or agreement report whose parameters the caller has
    already checked (`params` are stored and handed back to the report's builder)."""
    if fmt not in FORMATS:
        raise ValidationFailed.field("format", _("Choisissez le format pdf, xlsx ou csv."))
    export = ReportExport(requested_by_id=actor.id, relais_id=actor.relais_id, year=year, format=fmt,
                          scope={"report": report, **params})
    db.session.add(export)
    db.session.flush()
    audit.record("bilan_export_requested", target=export, details={"report": report, "format": fmt, **params})
    jobs.enqueue_after_commit(build_export, export.id, relais_id=actor.relais_id, queue_name="reports",
                              retry=Retry(max=2, interval=[10, 60]))
    return export


def get_export(actor: User, export_id: int) -> ReportExport:
    """The actor's own export; anyone else's, or a purged one, is not found."""
    export = db.session.scalar(select(ReportExport).where(ReportExport.id == export_id,
                                                          ReportExport.requested_by_id == actor.id))
    if export is None:
        raise NotFound(_("Export introuvable."))
    return export


def file_of(export: ReportExport) -> tuple[str, str, bytes]:
    if export.status != ExportStatus.FINISHED or export.content is None:
        raise Conflict(_("L'export n'est pas encore prêt."))
    audit.record("bilan_export_downloaded", target=export)
    return export.filename or f"bilan-{export.year}.{export.format}", export.mimetype or "", export.content


def status_of(export: ReportExport) -> dict[str, Any]:
    return {"id": export.id, "status": export.status.value, "progress": export.progress,
            "year": export.year, "format": export.format, "filters": export.scope,
            "created_at": export.created_at, "finished_at": export.finished_at, "error": export.error}


def status_payload(export: ReportExport) -> dict[str, Any]:
    """The status, with the file's API address once finished."""
    payload = status_of(export)
    payload["download_url"] = (url_for("reporting_api.ExportFile", export_id=export.id)
                               if export.status == ExportStatus.FINISHED else None)
    return payload


# --- the job --------------------------------------------------------------------------------


def _progress(export: ReportExport, percent: int, status: ExportStatus = ExportStatus.RUNNING) -> None:
    """Mirror the job's progress in job.meta and in the row, committed at once for the UI."""
    job = get_current_job()
    if job is not None:
        job.meta["progress"] = percent
        job.save_meta()
    export.progress = percent
    export.status = status
    db.session.commit()


def build_export(export_id: int) -> int:
    """Job (bound to the requester's relais, or unbound for national and coach users)."""
    export = db.session.scalar(select(ReportExport).where(ReportExport.id == export_id))
    if export is None:  # purged before it ran
        return 0
    actor = db.session.get_one(User, export.requested_by_id)
    job = get_current_job()
    if job is not None:
        export.job_id = job.id
    export.error = None
    _progress(export, 5)
    try:
        params = dict(export.scope)
        report = params.pop("report", "annual")
        if report == "annual":
            scope = resolve_scope(actor, **params)
            bilan = annual_bilan(scope, export.year)
            _progress(export, 50)
            content = render(bilan, export.format)
            filename = f"bilan-{export.year}-{scope.kind}.{export.format}"
        else:
            from relais_platform.reporting.activity import documents

            content, filename = documents.build(actor, report, params, export.format,
                                                lambda: _progress(export, 50))
        _progress(export, 90)
    except Exception as exc:
        db.session.rollback()
        # RQ retries it later (see request_export): the page keeps waiting until the last try.
        retrying = job is not None and (job.retries_left or 0) > 0
        export.status = ExportStatus.QUEUED if retrying else ExportStatus.FAILED
        export.progress, export.error = 0, type(exc).__name__
        db.session.commit()
        raise
    export.content = content
    export.mimetype = FORMATS[export.format]
    export.filename = filename
    export.finished_at = utcnow()
    _progress(export, 100, ExportStatus.FINISHED)
    return len(content)


def export_job_failed(job: Job, connection: Any, exc_type: type, exc_value: BaseException,
                      traceback: Any) -> None:
    """RQ failure callback of `build_export`. Also run by the maintenance of another worker
    when the one running the job died (AbandonedJobError): the job had no chance to say it."""
    _path, relais_id, args, _kwargs = job.args
    retrying = (job.retries_left or 0) > 0
    jobs.run_job(jobs.func_path(record_failure), relais_id, (args[0], retrying, exc_type.__name__), {})


def record_failure(export_id: int, retrying: bool, error: str) -> None:
    """Waiting again while a retry is due, failed once they are spent (a finished one stays)."""
    export = db.session.scalar(select(ReportExport).where(ReportExport.id == export_id))
    if export is None or export.status == ExportStatus.FINISHED:
        return
    export.status = ExportStatus.QUEUED if retrying else ExportStatus.FAILED
    export.progress, export.error = 0, error


def purge_old_exports() -> int:
    """Daily: forget exports (and their files) older than RETENTION. Returns the count."""
    network_access(None, reason="purge of old bilan exports")
    return rows_affected(delete(ReportExport).where(ReportExport.created_at < utcnow() - RETENTION))


# --- rendering --------------------------------------------------------------------------------


def _table(bilan: dict[str, Any]) -> Iterable[list[Any]]:
    year, previous = bilan["year"], bilan["previous_year"]["year"]
    yield [_("Bilan annuel"), bilan["scope_label"]]
    yield [_("Indicateur"), str(year), str(previous)]
    for _key, label, current, before in indicator_rows(bilan):
        yield [label, current, before]
    yield []
    yield [_("Produit (référence)"), str(year), str(previous)]
    for sku, current, before in product_rows(bilan):
        yield [sku, current, before]


def render(bilan: dict[str, Any], fmt: str) -> bytes:
    if fmt == "csv":
        return csv_bytes(_table(bilan))
    if fmt == "xlsx":
        return xlsx_bytes([(str(bilan["year"]), _table(bilan))])
    from weasyprint import HTML


    html = render_template("reporting/bilan_pdf.html", bilan=bilan, rows=indicator_rows(bilan),
                           products=product_rows(bilan), charts=charts_of(bilan), generated_at=utcnow())
    return HTML(string=html).write_pdf()
