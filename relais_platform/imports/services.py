"""The import flow, the same for every kind: upload → check (nothing written) → apply (all or
nothing), the check and the apply running as RQ jobs.

- `upload` refuses at once what is not a readable table of the expected columns (422 on
  `file`), stores the file and queues the check.
- `run_check` (job) reads the file as a stream, batch by batch, and records every problem by
  row and column, the counts and a preview; nothing else is written.
- `request_apply` queues the apply of a checked file (409 while it has errors, once
  applied, or once its file expired: see `imports.retention`); `run_apply` (job) checks
  again (the platform may have changed) while writing in the same transaction: any problem
  rolls everything back and the import is `failed`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import islice
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, false, select
from sqlalchemy.orm import defer

from relais_platform import jobs
from relais_platform.accounts.models import Role, User
from relais_platform.domain import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.imports.kinds import importers
from relais_platform.imports.kinds.base import Column, Context, Importer, Problems
from relais_platform.imports.models import ImportKind, ImportRun, ImportStatus
from relais_platform.orm import utcnow
from relais_platform.tabular.reader import Row, Table, TableError, open_table
from relais_platform.tabular.writer import table_bytes
from relais_platform.tenants.models import Relais

log = logging.getLogger(__name__)

BATCH_ROWS = 5_000
PREVIEW_ROWS = 20
# Beyond this, the report names the first problems and counts the rest.
MAX_STORED_PROBLEMS = 2_000
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_RETENTION_DAYS = 7
LIST_SIZE = 30


def max_bytes() -> int:
    return int(current_app.config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def retention_days() -> int:
    """Days an uploaded file is kept while it is not applied (`IMPORT_RETENTION_DAYS`)."""
    return int(current_app.config.get("IMPORT_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def importer_class(kind: str) -> type[Importer]:
    classes = importers()
    if kind not in classes:
        raise ValidationFailed.field("kind", _("Type d'import inconnu : %(kind)s.", kind=kind))
    return classes[kind]


def kinds_for(role: Role) -> list[type[Importer]]:
    return [cls for cls in importers().values() if role in cls.roles]


def columns_for(kind: str, role: Role) -> tuple[Column, ...]:
    return importer_class(kind).columns_for(role)


def _check_role(actor: User, cls: type[Importer]) -> None:
    if actor.role not in cls.roles:
        raise Forbidden(_("Votre rôle ne permet pas cet import."))


def _meanings(columns: tuple[Column, ...]) -> list[str]:
    return [("" if c.required else _("(facultatif) ")) + str(c.meaning) for c in columns]


def template(kind: str, fmt: str, actor: User) -> bytes:
    """The expected columns, their meaning (second row) and one example row."""
    cls = importer_class(kind)
    _check_role(actor, cls)
    columns = cls.columns_for(actor.role)
    return table_bytes(fmt, [c.name for c in columns],
                       [_meanings(columns), [c.example for c in columns]], title=kind)


def _open(data: bytes | None, cls: type[Importer], role: Role) -> Table:
    if data is None:  # dropped by the retention rule (or once applied)
        raise TableError(_("Le fichier n'est plus conservé : envoyez-le à nouveau."))
    columns = cls.columns_for(role)
    return open_table(
        data,
        required=[c.name for c in columns if c.required],
        optional=[c.name for c in columns if not c.required],
        screen=cls.refused_column,
    )


def _table_rows(table: Table, columns: tuple[Column, ...]) -> Iterator[Row]:
    """Data rows, without the "meaning" row a filled-in template may still carry."""
    meanings = {c.name: m for c, m in zip(columns, _meanings(columns), strict=True)}
    for row in table.rows():
        if row.number == 2 and all(meanings.get(k) == v for k, v in row.values.items()):
            continue
        yield row


def upload(actor: User, kind: str, filename: str, data: bytes) -> ImportRun:
    cls = importer_class(kind)
    _check_role(actor, cls)
    if len(data) > max_bytes():
        raise ValidationFailed.field("file", _(
            "Fichier trop volumineux (%(size)d Mo) : au plus %(max)d Mo.",
            size=len(data) // (1024 * 1024), max=max_bytes() // (1024 * 1024)))
    try:
        _open(data, cls, actor.role)
    except TableError as exc:
        raise ValidationFailed.field("file", exc.message) from exc
    run = ImportRun(
        kind=ImportKind(kind),
        status=ImportStatus.CHECKING,
        relais_id=actor.relais_id if actor.role.is_relais_role else None,
        uploaded_by_id=actor.id,
        filename=(filename or "import")[:200],
        content=data,
    )
    db.session.add(run)
    db.session.flush()
    jobs.enqueue_after_commit("relais_platform.imports.jobs.check_import", run.id, relais_id=run.relais_id)
    return run


def pasted_serials(sku: str, text: str) -> bytes:
    """A pasted or scanned serial list as the `serials` kind's file: one row per serial."""
    from relais_platform.stock.warehouse.serials import split_serials

    sku = sku.strip()
    if not sku:
        raise ValidationFailed.field("sku", _("Ce champ est obligatoire."))
    rows = [f"{sku};{serial}" for serial in split_serials(text.splitlines())]
    return ("sku;serial\n" + "\n".join(rows) + "\n").encode("utf-8")


def visible_imports(actor: User) -> Select[tuple[ImportRun]]:
    """The uploader's scope: its relais' imports, or the national team's (no relais)."""
    stmt = select(ImportRun).order_by(ImportRun.created_at.desc(), ImportRun.id.desc())
    if actor.role == Role.NATIONAL:
        return stmt.where(ImportRun.relais_id.is_(None))
    if actor.role == Role.RELAIS_ADMIN:
        return stmt.where(ImportRun.relais_id == actor.relais_id)
    return stmt.where(false())


def import_list(actor: User, *, kind: str | None = None,
                status: str | None = None) -> Select[tuple[ImportRun]]:
    """The caller's imports, newest first, without their reports' lists (errors, warnings,
    preview): a list shows counts."""
    stmt = visible_imports(actor).options(
        defer(ImportRun.errors), defer(ImportRun.warnings), defer(ImportRun.preview))
    if kind is not None:
        stmt = stmt.where(ImportRun.kind == ImportKind(kind))
    if status is not None:
        stmt = stmt.where(ImportRun.status == ImportStatus(status))
    return stmt


def recent_imports(actor: User) -> list[ImportRun]:
    return list(db.session.scalars(import_list(actor).limit(LIST_SIZE)))


def get_import(actor: User, import_id: int) -> ImportRun:
    run = db.session.scalar(visible_imports(actor).where(ImportRun.id == import_id))
    if run is None:
        raise NotFound(_("Import introuvable."))
    return run


def progress_key(import_id: int) -> str:
    return f"imports:{import_id}:progress"


def progress_of(run: ImportRun) -> int:
    if run.status == ImportStatus.APPLYING:
        value = jobs.redis_connection().get(progress_key(run.id))
        return int(str(value, "ascii")) if isinstance(value, bytes) else run.progress
    return run.progress


def request_apply(actor: User, run: ImportRun) -> ImportRun:
    if run.status in (ImportStatus.APPLYING, ImportStatus.APPLIED):
        raise Conflict(_("Ce fichier a déjà été appliqué."))
    if run.status == ImportStatus.EXPIRED:
        raise Conflict(_(
            "Ce fichier n'a pas été appliqué dans les %(days)d jours suivant son envoi : il a été "
            "supprimé. Envoyez-le à nouveau pour le vérifier et l'appliquer.",
            days=retention_days()))
    if run.status == ImportStatus.CHECKING:
        raise Conflict(_("La vérification du fichier n'est pas terminée."))
    if run.status != ImportStatus.CHECKED or run.error_count:
        raise Conflict(_("Le fichier comporte des erreurs : corrigez-les et envoyez-le à nouveau."))
    run.status = ImportStatus.APPLYING
    run.progress = 0
    jobs.enqueue_after_commit("relais_platform.imports.jobs.apply_import", run.id, relais_id=run.relais_id)
    return run


# --- the jobs' work ---------------------------------------------------------------------


def _context(run: ImportRun) -> Context:
    actor = db.session.get(User, run.uploaded_by_id)
    relais = db.session.get(Relais, run.relais_id) if run.relais_id else None
    assert actor is not None
    return Context(actor=actor, relais=relais, import_id=run.id)


def _batches(rows: Iterator[Row], problems: Problems) -> Iterator[tuple[int, list[Row]]]:
    """(rows read, rows to check) per batch; the rows' own problems (cells too long,
    formulas, too many columns) are reported here."""
    while batch := list(islice(rows, BATCH_ROWS)):
        clean = []
        for row in batch:
            for column, message in row.problems:
                problems.error(row.number, column, message)
            if not row.problems:
                clean.append(row)
        yield len(batch), clean


def _stored(found: list[tuple[int, str, str]]) -> list[dict[str, Any]]:
    items = [{"row": row, "column": column, "message": message}
             for row, column, message in found[:MAX_STORED_PROBLEMS]]
    if len(found) > MAX_STORED_PROBLEMS:
        items.append({"row": None, "column": None, "message": _(
            "… et %(count)d autre(s) problème(s).", count=len(found) - MAX_STORED_PROBLEMS)})
    return items


def run_check(import_id: int) -> None:
    run = db.session.get(ImportRun, import_id)
    if run is None or run.status != ImportStatus.CHECKING:
        return
    cls = importer_class(run.kind.value)
    problems = Problems()
    context = _context(run)
    importer = cls(context, problems)
    importer.begin()
    preview: dict[str, Any] = {"header": [c.name for c in cls.columns_for(context.actor.role)], "rows": []}
    count = 0
    try:
        table = _open(run.content, cls, context.actor.role)
        for read, batch in _batches(_table_rows(table, cls.columns_for(context.actor.role)), problems):
            count += read
            importer.check_batch(batch)
            for row in batch[: max(0, PREVIEW_ROWS - len(preview["rows"]))]:
                preview["rows"].append({"row": row.number, "values": [row.get(h) for h in preview["header"]]})
    except TableError as exc:
        problems.error(1, "", exc.message)
    run.rows = count
    run.valid_rows = max(0, count - len(problems.rows_with_errors - {0, 1}))
    run.error_count = len(problems.errors)
    run.errors = _stored(problems.errors)
    run.warnings = _stored(problems.warnings)
    run.skipped = importer.skipped
    run.preview = preview
    if not count and not problems.errors:
        problems.error(1, "", _("Le fichier ne contient aucune ligne de données."))
        run.error_count, run.errors = 1, _stored(problems.errors)
    run.status = ImportStatus.INVALID if problems.errors else ImportStatus.CHECKED
    if problems.errors:
        # An invalid file is never applied (a corrected one is uploaded anew): not kept.
        run.content = None


def run_apply(import_id: int) -> None:
    """Check and write in one transaction; on any problem, roll back and record why."""
    run = db.session.get(ImportRun, import_id)
    if run is None or run.status != ImportStatus.APPLYING:
        return
    cls = importer_class(run.kind.value)
    context = _context(run)
    role = context.actor.role
    total = max(run.rows, 1)
    problems = Problems()
    importer = cls(context, problems, applying=True)
    redis = jobs.redis_connection()
    try:
        importer.begin()
        done = 0
        rows = _table_rows(_open(run.content, cls, role), cls.columns_for(role))
        for read, batch in _batches(rows, problems):
            records = importer.check_batch(batch)
            if problems.errors:
                break
            importer.write_batch(records)
            if problems.errors:  # refused while writing (savepoints keep the transaction usable)
                break
            done += read
            redis.set(progress_key(import_id), min(99, done * 100 // total), ex=86_400)
        if not problems.errors:
            importer.finish()
            db.session.flush()
    except TableError as exc:
        problems.error(1, "", exc.message)
    except DomainError as exc:
        detail = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in exc.errors.items())
        problems.error(0, "", f"{exc.message} {detail}".strip())
    except Exception:
        # Recorded as failed (nothing written) rather than left "applying" for ever.
        log.exception("import %s failed", import_id)
        problems.error(0, "", _("Erreur inattendue : rien n'a été enregistré. "
                                 "L'équipe technique est prévenue."))
    if problems.errors:
        db.session.rollback()
        run = db.session.get(ImportRun, import_id)
        assert run is not None
        run.status = ImportStatus.FAILED
        run.error_count = len(problems.errors)
        run.errors = _stored(problems.errors)
        run.content = None
    else:
        run.status = ImportStatus.APPLIED
        run.created, run.updated, run.skipped = importer.created, importer.updated, importer.skipped
        run.warnings = _stored(problems.warnings)
        # The file served its purpose; a beneficiaries' file is personal data.
        run.content, run.preview = None, {}
    run.progress = 100 if run.status == ImportStatus.APPLIED else 0
    run.finished_at = utcnow()
    redis.delete(progress_key(import_id))
