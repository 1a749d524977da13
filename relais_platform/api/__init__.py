"""Shared pieces of the REST API (flask-smorest): access guard, pagination, errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request
from flask_login import current_user
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select

from relais_platform.accounts.models import Role
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
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def paginate(stmt: Select, page: int, per_page: int) -> tuple[list[Any], int]:
    """One page of `stmt` and the total count (two queries, whatever the table size)."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return items, total or 0


def pagination_headers(total: int, page: int, per_page: int) -> dict[str, str]:
    last = max(1, -(-total // per_page))
    return {
        "X-Total-Count": str(total),
        "X-Pagination": (
            f'{{"total": {total}, "page": {page}, "per_page": {per_page}, "last_page": {last}}}'
        ),
    }
