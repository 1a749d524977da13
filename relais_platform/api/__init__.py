"""Shared pieces of the REST API (flask-smorest): access guard, pagination, errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, ClassVar
from urllib.parse import urlencode

from flask import current_app, g, request
from flask_login import current_user
from flask_smorest import abort
from marshmallow import Schema, fields, post_load, validate
from sqlalchemy import Row, Select, func, select

from relais_platform.accounts.models import Role
from relais_platform.bounds import INT32_MAX
from relais_platform.domain import DomainError
from relais_platform.extensions import csrf, db

_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def api_access(*roles: Role) -> Callable:
    """401 when signed out, 403 for a role not listed (none listed: any signed-in user).

    Browser sessions must send the CSRF token (header X-CSRFToken) on unsafe methods;
    Bearer tokens need none. Domain errors become the JSON error format.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                abort(401, message="Authentification requise.")
            if (g.get("api_token") is None and request.method in _UNSAFE
                    and current_app.config["WTF_CSRF_ENABLED"]):
                csrf.protect()
            if roles and current_user.role not in roles:
                abort(403, message="Votre rôle ne permet pas cette action.")
            try:
                return view(*args, **kwargs)
            except DomainError as exc:
                abort(exc.status, message=exc.message, errors=exc.errors)

        return wrapped

    return decorator


class PaginationArgs(Schema):
    # Bounded so that the offset it makes stays a bigint.
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=INT32_MAX))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


# A day given in a query string, within the years the platform can hold.
DAY = validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31))


class DayRangeFilterArgs(Schema):
    """Query filters ending with a span of whole days (`from`, `to`, both included), loaded
    into one frozen value, `filters`, of the dataclass a subclass names (its field names are
    the schema's); the other arguments (pagination) stay beside it."""

    filters_class: ClassVar[type]

    date_from = fields.Date(data_key="from", validate=DAY,
                            metadata={"description": "Depuis ce jour (inclus)"})
    date_to = fields.Date(data_key="to", validate=DAY, metadata={"description": "Jusqu'à ce jour (inclus)"})

    @post_load
    def _filters(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        keys = [field.name for field in dataclasses.fields(self.filters_class)]
        rest = {key: value for key, value in data.items() if key not in keys}
        return {**rest, "filters": self.filters_class(**{key: data.get(key) for key in keys})}


# Counting stops here: past it, lists say "more than COUNT_CAP" instead of scanning every row
# (docs/architecture.md, API conventions).
COUNT_CAP = 10_000


def _capped_count(stmt: Select) -> int:
    counted = stmt.order_by(None).limit(COUNT_CAP + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(counted)) or 0


def paginate(stmt: Select, page: int, per_page: int) -> tuple[list[Any], int]:
    """One page of `stmt` and its row count, exact up to COUNT_CAP (COUNT_CAP + 1 beyond):
    two queries, neither of which reads more than COUNT_CAP + 1 rows to count."""
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return items, _capped_count(stmt)


def paginate_rows(stmt: Select, page: int, per_page: int) -> tuple[list[Row[Any]], int]:
    """`paginate` for a statement selecting several columns: the page's rows (not objects)."""
    rows = list(db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)))
    return rows, _capped_count(stmt)


def pagination_headers(total: int, page: int, per_page: int, *,
                       next_after_id: int | None = None) -> dict[str, str]:
    """X-Total-Count and X-Pagination (`exact` is false once the count reached COUNT_CAP);
    a keyset list also gives the cursor of its next page, in X-Pagination and a Link header."""
    last = max(1, -(-total // per_page))
    exact = "true" if total <= COUNT_CAP else "false"
    cursor = f', "next_after_id": {next_after_id}' if next_after_id is not None else ""
    headers = {
        "X-Total-Count": str(total),
        "X-Pagination": (
            f'{{"total": {total}, "exact": {exact}, "page": {page}, "per_page": {per_page}, '
            f'"last_page": {last}{cursor}}}'
        ),
    }
    if next_after_id is not None:
        query = urlencode({**request.args.to_dict(), "after_id": next_after_id, "page": 1})
        headers["Link"] = f'<{request.path}?{query}>; rel="next"'
    return headers
