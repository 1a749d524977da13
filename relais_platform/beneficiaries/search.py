"""Name search that ignores accents and case and tolerates typos (unaccent + pg_trgm).

Both the search and the duplicate check compare against `NAME_KEY_SQL`, the expression of
the GIN trigram index:

- search uses word similarity (`%>`: some extent of the name resembles the query), so that
  "eloddie" finds "Élodie Martin" and a first name alone is enough;
- duplicates use whole-name similarity (`%`) and the same birth year.

The matching ids come from two SQL functions (migration 0004) that filter on the bound
relais themselves: under row-level security PostgreSQL would not use the trigram index for
pg_trgm's operators, which are not LEAKPROOF. The rows are then read through the ORM, under
the usual tenant filter and policy. Thresholds are pg_trgm's defaults (0.6 and 0.3).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select

from relais_platform.api import paginate
from relais_platform.audit import services as audit
from relais_platform.beneficiaries.models import NAME_KEY_SQL, Beneficiary
from relais_platform.extensions import db

# Unqualified columns: these statements select from `beneficiaries` alone.
NAME_KEY: ColumnElement[str] = literal_column(NAME_KEY_SQL)
DUPLICATES_SHOWN = 10


def _query_key(text: str) -> Any:
    return func.f_unaccent(func.lower(text))


def search_statement(q: str | None) -> Select[tuple[Beneficiary]]:
    """Registered people of the bound relais, best matches first when `q` is given."""
    stmt = select(Beneficiary).where(Beneficiary.anonymised_at.is_(None))
    q = (q or "").strip()
    if not q:
        return stmt.order_by(Beneficiary.last_name, Beneficiary.first_name, Beneficiary.id)
    key = _query_key(q)
    matches = select(func.beneficiary_search_ids(q).column_valued("match_id"))
    return stmt.where(Beneficiary.id.in_(matches)).order_by(
        func.word_similarity(key, NAME_KEY).desc(), Beneficiary.id
    )


def search(q: str | None, page: int, per_page: int) -> tuple[list[Beneficiary], int]:
    """One page of results (two queries, plus the audit entry: ids only, never the query)."""
    items, total = paginate(search_statement(q), page, per_page)
    audit.record("beneficiary_searched", target_type="beneficiaries",
                 details={"searched": bool((q or "").strip()), "page": page, "total": total,
                          "ids": [b.id for b in items]})
    return items, total


def likely_duplicates(first_name: str, last_name: str, birth_year: int | None) -> list[int]:
    """Ids of registered people with a similar full name and the same (or no) birth year."""
    full_name = f"{first_name} {last_name}"
    key = _query_key(full_name)
    matches = select(func.beneficiary_similar_ids(full_name).column_valued("match_id"))
    stmt = select(Beneficiary.id).where(Beneficiary.id.in_(matches))
    if birth_year is not None:
        stmt = stmt.where(or_(Beneficiary.birth_year == birth_year, Beneficiary.birth_year.is_(None)))
    stmt = stmt.order_by(func.similarity(NAME_KEY, key).desc(), Beneficiary.id).limit(DUPLICATES_SHOWN)
    return list(db.session.scalars(stmt))
