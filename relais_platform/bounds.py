"""What a column can hold, checked once for every write: nothing is stored that cannot be read back.

Every flush checks the values about to be written against their column: integers within the
column's range, text within its length and encodable, decimals within their precision, dates
and datetimes within the column's window (`info={"window": ...}`, else `DEFAULT_WINDOW`).
A value out of bounds raises `ValidationFailed` naming the attribute (422 in the API, the form
redisplayed or an error page on the web) before PostgreSQL sees it. The API layer applies the
same limits to what never reaches a column (path ids, page numbers, ids inside JSON lists).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from marshmallow import ValidationError as MarshmallowValidationError
from sqlalchemy import BigInteger, Date, DateTime, Integer, Numeric, SmallInteger, String, event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement
from werkzeug.routing import IntegerConverter
from wtforms.validators import StopValidation

from relais_platform.domain import ValidationFailed

INT16_MAX = 2**15 - 1
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

# Years a date may carry. Every column gets the default; columns whose dates mean something
# narrower (a hand-over, a session held) say so with `info={"window": EVENT_WINDOW}`.
DEFAULT_WINDOW = (1900, 2100)
EVENT_WINDOW = (2000, 2100)


def int_max(column_type: Any) -> int:
    if isinstance(column_type, BigInteger):
        return INT64_MAX
    if isinstance(column_type, SmallInteger):
        return INT16_MAX
    return INT32_MAX


def is_storable_text(value: str) -> bool:
    """False for text PostgreSQL cannot hold: NUL, lone UTF-16 surrogates."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def in_window(value: date, window: tuple[int, int] = DEFAULT_WINDOW) -> bool:
    return window[0] <= value.year <= window[1]


def window_message(window: tuple[int, int]) -> str:
    return _("Date hors limites (années %(start)d à %(end)d).", start=window[0], end=window[1])


def years(window: tuple[int, int] = EVENT_WINDOW) -> Callable[[date], None]:
    """Marshmallow validator: a date or datetime within `window` (input fields of the API)."""

    def validate(value: date) -> None:
        day = value.date() if isinstance(value, datetime) else value
        if not in_window(day, window):
            raise MarshmallowValidationError(window_message(window))

    return validate


class InYears:
    """WTForms validator: the web forms' twin of `years()`."""

    def __init__(self, window: tuple[int, int] = EVENT_WINDOW) -> None:
        self.window = window

    def __call__(self, form: Any, field: Any) -> None:
        if field.data is not None and not in_window(field.data, self.window):
            raise StopValidation(window_message(self.window))


def _problem(column: Any, value: Any) -> str | None:
    column_type = column.type
    if isinstance(value, str):
        if not is_storable_text(value):
            return _("Caractères non valides.")
        if isinstance(column_type, String) and column_type.length and len(value) > column_type.length:
            return _("%(max)d caractères au plus.", max=column_type.length)
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int) and isinstance(column_type, Integer):
        bound = int_max(column_type)
        if not -bound - 1 <= value <= bound:
            return _("Nombre hors limites.")
    elif isinstance(value, Decimal | float) and isinstance(column_type, Numeric):
        number = Decimal(value)
        precision, scale = column_type.precision, column_type.scale or 0
        if not number.is_finite() or (
            precision is not None and abs(number) >= Decimal(10) ** (int(precision) - int(scale))
        ):
            return _("Nombre hors limites.")
    elif isinstance(value, date) and isinstance(column_type, Date | DateTime):
        window = column.info.get("window", DEFAULT_WINDOW)
        day = value.date() if isinstance(value, datetime) else value
        if not in_window(day, window):
            return window_message(window)
    return None


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: an id no bigint column can hold matches no route (404)."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = INT64_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def check_row(obj: Any) -> dict[str, list[str]]:
    state = inspect(obj)
    errors: dict[str, list[str]] = {}
    for attr in state.mapper.column_attrs:
        if attr.key not in state.dict or len(attr.columns) != 1:
            continue
        value = state.dict[attr.key]
        if value is None or isinstance(value, ClauseElement):
            continue
        message = _problem(attr.columns[0], value)
        if message:
            errors[attr.key] = [message]
    return errors


@event.listens_for(Session, "before_flush")
def _refuse_unstorable_values(session: Session, flush_context: Any, instances: Any) -> None:
    errors: dict[str, list[str]] = {}
    for obj in list(session.new) + list(session.dirty):
        errors.update(check_row(obj))
    if errors:
        raise ValidationFailed(errors)
