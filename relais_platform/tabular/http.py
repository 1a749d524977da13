"""Lists downloadable as CSV or XLSX: one decorator on a list endpoint.

`@exportable(Schema, "name")` goes right above the endpoint function (below
`@blp.response`). Without `format=csv|xlsx` (or an `Accept: text/csv` / XLSX header) the
endpoint answers its JSON as before. With it, `api.paginate` returns every row of the
filtered query instead of a page (`wants_every_row`), and the rows are dumped through the
same schema as the JSON, flattened, and streamed as a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from functools import wraps
from typing import Any

from flask import Response, g, request, stream_with_context
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from relais_platform.tabular.writer import CSV_MIMETYPE, FORMATS, XLSX_MIMETYPE, csv_chunks, xlsx_chunks

_EVERY_ROW = "export_every_row"


class ExportFormatArgs(Schema):
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": "csv ou xlsx : la liste entière (filtres appliqués) en fichier ; "
                                 "sans ce paramètre, la page en JSON."},
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


def wants_every_row() -> bool:
    return bool(g.get(_EVERY_ROW))


def _columns(schema: Schema) -> list[tuple[str, fields.Field]]:
    return [(f.data_key or name, f) for name, f in schema.fields.items() if not f.load_only]


def _nested_schema(field: fields.Field) -> Schema | None:
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        return field.inner.schema
    return None


def flatten(schema: Schema, items: Iterable[Any], explode: str | None = None
            ) -> tuple[list[str], Iterator[list[Any]]]:
    """Header and rows of the dumped items; `explode` names a list of lines to give one row
    each (an order with its lines), the parent's columns repeated."""
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

    def rows() -> Iterator[list[Any]]:
        for item in items:
            data = schema.dump(item)
            base = [cell(data.get(name)) for name in columns]
            if not explode:
                yield base
                continue
            lines = data.get(explode) or [{}]
            for line in lines:
                yield base + [cell(line.get(name)) for name in child_columns]

    return header, rows()


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
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                 "Cache-Control": "no-store"},
    )


_EXPORT_CONTENT = {CSV_MIMETYPE.split(";")[0]: {"schema": {"type": "string"}},
                   XLSX_MIMETYPE: {"schema": {"type": "string", "format": "binary"}}}


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
            g.setdefault(_EVERY_ROW, True)
            result = view(*args, **kwargs)
            items = result[0] if isinstance(result, tuple) else result
            if on_export is not None:
                on_export({k: v for k, v in request.args.items() if k not in ("format", "page", "per_page")})
            header, rows = flatten(schema(), items, explode)
            return download(fmt, name, header, rows)

        wrapped._apidoc = {  # type: ignore[attr-defined]
            "arguments": {"parameters": [{"in": "query", "required": False, "schema": ExportFormatArgs}]},
            "manual_doc": {"responses": {"200": {"content": _EXPORT_CONTENT}}},
        }
        return wrapped

    return decorator
