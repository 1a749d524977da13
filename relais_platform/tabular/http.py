"""Lists downloadable as CSV or XLSX: one decorator on a list endpoint.

`@exportable(Schema, "name")` goes right above the endpoint function (below
`@blp.response`). Without `format=csv|xlsx` (or an `Accept: text/csv` / XLSX header) the
endpoint answers its JSON as before. With it, the endpoint is called page after page
(its own filters and scope, `EXPORT_PAGE` rows at a time) while the file streams, and the
rows are dumped through the same schema as the JSON, then flattened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from functools import wraps
from typing import Any

from apispec import BasePlugin
from flask import Response, request, stream_with_context
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from relais_platform.tabular.writer import CSV_MIMETYPE, FORMATS, XLSX_MIMETYPE, csv_chunks, xlsx_chunks

EXPORT_PAGE = 1_000


class ExportFormatArgs(Schema):
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": "csv ou xlsx (ou l'en-tête Accept: text/csv ou le type XLSX) : "
                                 "la liste entière, filtres appliqués, en fichier téléchargé "
                                 "(text/csv ; application/vnd.openxmlformats-officedocument."
                                 "spreadsheetml.sheet). Sans ce paramètre : la page en JSON."},
    )


def requested_format() -> str | None:
    """csv, xlsx, or None for JSON; an unknown `format` is a 422."""
    fmt = request.args.get("format")
    if fmt is not None:
        if fmt not in FORMATS:
            abort(422, message="Format inconnu.", errors={"format": ["Choisissez csv ou xlsx."]})
        return fmt
    best = request.accept_mimetypes.best_match(
        ["application/json", "text/csv", XLSX_MIMETYPE], default="application/json")
    return {"text/csv": "csv", XLSX_MIMETYPE: "xlsx"}.get(best)


def _columns(schema: Schema) -> list[tuple[str, fields.Field]]:
    return [(f.data_key or name, f) for name, f in schema.fields.items() if not f.load_only]


def _nested_schema(field: fields.Field) -> Schema | None:
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        return field.inner.schema
    return None


def flattener(schema: Schema, explode: str | None = None
              ) -> tuple[list[str], Callable[[Any], list[list[Any]]]]:
    """The header, and the rows of one item dumped through the schema; `explode` names a list
    of lines to give one row each (an order with its lines), the parent's columns repeated."""
    columns = [name for name, _ in _columns(schema) if name != explode]
    child_columns: list[str] = []
    if explode:
        child = _nested_schema(schema.fields[explode])
        child_columns = [name for name, _ in _columns(child)] if child is not None else []
    header = columns + [f"{explode}.{name}" for name in child_columns]

    def cell(value: Any) -> Any:
        if isinstance(value, dict):
            return ", ".join(f"{k}: {v}" for k, v in value.items())
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return " | ".join(cell(item) for item in value)
        return value

    def rows(item: Any) -> list[list[Any]]:
        data = schema.dump(item)
        base = [cell(data.get(name)) for name in columns]
        if not explode:
            return [base]
        return [base + [cell(line.get(name)) for name in child_columns]
                for line in (data.get(explode) or [{}])]

    return header, rows


def download(fmt: str, name: str, header: list[str], rows: Iterable[list[Any]]) -> Response:
    """A streamed attachment named after the list and today's date."""
    filename = f"{name}-{date.today().isoformat()}.{fmt}"
    if fmt == "csv":
        body: Iterator[Any] = csv_chunks(header, rows)
        mimetype = CSV_MIMETYPE
    else:
        body = xlsx_chunks(header, rows, title=name)
        mimetype = XLSX_MIMETYPE
    return Response(
        stream_with_context(body),
        content_type=mimetype,  # as written: `mimetype=` would add a second charset
        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                 "Cache-Control": "no-store"},
    )


def _items(result: Any) -> list[Any]:
    """The rows of what an endpoint returns: a list, (list, headers), or one object."""
    if isinstance(result, tuple):
        result = result[0]
    return list(result) if isinstance(result, list | tuple) else [result]


def exportable(
    schema: type[Schema],
    name: str,
    *,
    explode: str | None = None,
    on_export: Callable[[dict[str, str]], None] | None = None,
) -> Callable:
    """Make a JSON list endpoint downloadable (`format=csv|xlsx`), within the same filters
    and scope; `on_export` receives the filters (e.g. to audit an export of personal data)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            fmt = requested_format()
            if fmt is None:
                return view(*args, **kwargs)
            query = next((a for a in args if isinstance(a, dict) and {"page", "per_page"} <= set(a)), None)
            if query is not None:
                query.update(page=1, per_page=EXPORT_PAGE)
            header, rows_of = flattener(schema(), explode)
            # The first page now, dumped before the request commits (which expires the objects):
            # a refusal (404, 403, 422) is still an HTTP answer.
            first = _items(view(*args, **kwargs))
            first_rows = [row for item in first for row in rows_of(item)]
            if on_export is not None:
                on_export({k: v for k, v in request.args.items() if k not in ("format", "page", "per_page")})

            def every_row() -> Iterator[list[Any]]:
                yield from first_rows
                count = len(first)
                while query is not None and count == EXPORT_PAGE:
                    query["page"] += 1
                    items = _items(view(*args, **kwargs))
                    count = len(items)
                    for item in items:
                        yield from rows_of(item)

            return download(fmt, name, header, every_row())

        # Documented as one more query parameter (the JSON response's own doc is left as is:
        # a second content type given here would replace it in the generated document).
        wrapped._apidoc = {  # type: ignore[attr-defined]
            "arguments": {"parameters": [{"in": "query", "required": False, "schema": ExportFormatArgs}]},
        }
        return wrapped

    return decorator


class DownloadsPlugin(BasePlugin):
    """Documents the CSV and XLSX answers of every list that takes `format` (apispec plugin):
    added beside the JSON one after the operation is built, so neither replaces the other."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None,
                         **kwargs: Any) -> None:
        for operation in (operations or {}).values():
            parameters = operation.get("parameters", [])
            if not any(p.get("in") == "query" and p.get("name") == "format" for p in parameters
                       if isinstance(p, dict)):
                continue
            responses = operation.get("responses", {})
            ok = responses.get(200) or responses.get("200") or {}  # smorest keys codes as ints
            content = ok.get("content") if isinstance(ok, dict) else None
            if content is not None:
                for mimetype in (CSV_MIMETYPE, XLSX_MIMETYPE):
                    binary = {"schema": {"type": "string", "format": "binary"}}
                    content.setdefault(mimetype.split(";")[0], binary)
