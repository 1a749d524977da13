"""reporting summaries: people reached per day, distributions and sessions per month

Revision ID: 0020_reporting_summaries
Revises: 0019_activity_summary

The bilan and the activity report counted people, hours and distributions from the facts at
each request: seconds at national scale. Four summaries, folded from the facts by
statement-level triggers in the same transaction (so the reports stay exact to the last act):

- `reporting_person_days`: for each person and year, one bit per day on which they were reached
  (attended a session still standing, or received something not cancelled). People reached in
  any period = rows whose days meet the period's mask: one row per person and year to read,
  however many acts; a profile change, an erasure (anonymisation) or a merge needs nothing
  more, since the profile is joined at query time and a merge moves the acts (their triggers
  fold the move) before it deletes the merged record (cascade).
- `reporting_distribution_months`: quantities and anonymous distributions per relais, month,
  product and programme, net of cancellations.
- `reporting_session_months`: sessions, anonymous attendances and minutes of accompaniment
  (duration × participants) per relais, month, kind and theme, deleted sessions left out.
- `reporting_relais_days`: the days on which each relais handed something out (its ledger's
  distribution movements), for "relais active".

A period made of whole months reads the month summaries alone; its partial months at either
end are read from the facts. `flask --app wsgi reporting verify` recomputes every summary from
the facts (`reporting_summaries_drift`) and reports any difference.
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from flask import current_app
from sqlalchemy.dialects import postgresql

from relais_platform.rls import tenant_table_sql

revision = "0020_reporting_summaries"
down_revision = "0019_activity_summary"
branch_labels = None
depends_on = None

ACTIVITY_SIGNATURE = "activity_personal_counts(bigint[], date, date, text, boolean)"
BILAN_SIGNATURE = "bilan_personal_counts(bigint[], integer, integer, text)"
PERIOD_SIGNATURE = "reporting_period_counts(bigint[], date, date, text, boolean, integer)"
DRIFT_SIGNATURE = "reporting_summaries_drift()"
RECHECK_SIGNATURE = "reporting_recheck_person_days(bigint[], bigint[], date[])"
SUMMARIES = ("reporting_person_days", "reporting_people_counts", "reporting_distribution_months",
             "reporting_session_months", "reporting_relais_days")

DAY_FUNCTIONS = """
CREATE FUNCTION reporting_day_bit(p_day date) RETURNS bit(366)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT set_bit(B'0'::bit(366), p_day - make_date(extract(year FROM p_day)::integer, 1, 1), 1)::bit(366) $$;

-- The days of `p_year` inside [p_from, p_to], as bits (none when they do not meet).
CREATE FUNCTION reporting_day_mask(p_year integer, p_from date, p_to date) RETURNS bit(366)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN x.lo > x.hi THEN B'0'::bit(366)
              ELSE (repeat('0', x.lo) || repeat('1', x.hi - x.lo + 1) || repeat('0', 365 - x.hi))::bit(366)
         END
    FROM (SELECT greatest(p_from, make_date(p_year, 1, 1)) - make_date(p_year, 1, 1) AS lo,
                 least(p_to, make_date(p_year, 12, 31)) - make_date(p_year, 1, 1) AS hi) x
$$;
"""

# Whether (person, relais, day) is still reached, for pairs whose act went away: the bit
# follows the facts. Runs inside the triggers (as the owner, personal rows readable).
RECHECK_FUNCTION = """
CREATE FUNCTION reporting_recheck_person_days(p_people bigint[], p_relais bigint[], p_days date[])
RETURNS void LANGUAGE sql SET search_path = public, pg_temp AS $$
  WITH pairs AS (
    SELECT DISTINCT x.b, x.r, x.d FROM unnest(p_people, p_relais, p_days) AS x(b, r, d)
  ), judged AS (
    SELECT p.b, p.r, p.d,
           EXISTS (SELECT 1 FROM distributions d
                    WHERE d.beneficiary_id = p.b AND d.relais_id = p.r AND d.distributed_on = p.d
                      AND d.cancelled_at IS NULL)
           OR EXISTS (SELECT 1 FROM accompaniment_participants ap
                       JOIN accompaniment_sessions s ON s.id = ap.session_id
                      WHERE ap.beneficiary_id = p.b AND ap.relais_id = p.r AND s.held_on = p.d
                        AND s.deleted_at IS NULL) AS reached
      FROM pairs p
  ), folded AS (
    SELECT extract(year FROM d)::integer AS year, r, b,
           bit_or(CASE WHEN reached THEN reporting_day_bit(d) ELSE B'0'::bit(366) END) AS on_bits,
           bit_or(CASE WHEN reached THEN B'0'::bit(366) ELSE reporting_day_bit(d) END) AS off_bits
      FROM judged GROUP BY 1, 2, 3
  )
  UPDATE reporting_person_days t SET days = (t.days & ~f.off_bits) | f.on_bits
    FROM folded f
   WHERE t.year = f.year AND t.relais_id = f.r AND t.beneficiary_id = f.b;
  -- A person no longer reached that year: no row.
  DELETE FROM reporting_person_days t
   USING (SELECT DISTINCT extract(year FROM x.d)::integer AS year, x.r, x.b
            FROM unnest(p_people, p_relais, p_days) AS x(b, r, d)) k
   WHERE t.year = k.year AND t.relais_id = k.r AND t.beneficiary_id = k.b AND bit_count(t.days) = 0
$$;
"""

# A person's coarse categories, copied onto their days so that the breakdowns read one table
# and the counters below can be kept from it alone (a merged record's rows are deleted with it:
# its categories must be on the rows). From `beneficiaries b LEFT JOIN referrers rf`.
PROFILE_COLUMNS = "situation, birth_year, housing, banked, nationality, language, referrer_kind"
PROFILE = ("coalesce(b.situation, 'unknown'), b.birth_year, coalesce(b.housing, 'unknown'), "
           "coalesce(b.banked, 'unknown'), coalesce(b.nationality, 'unknown'), "
           "coalesce(b.language, 'unknown'), coalesce(rf.kind, 'none')")
DIMENSIONS = ("situation", "age_band", "housing", "banked", "nationality", "language", "referrer_kind")

AGE_FUNCTION = """
CREATE FUNCTION reporting_age_band(p_year integer, p_birth_year integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN p_birth_year IS NULL THEN 'unknown'
              WHEN p_year - p_birth_year < 25 THEN 'under_25'
              WHEN p_year - p_birth_year < 45 THEN '25_44'
              WHEN p_year - p_birth_year < 65 THEN '45_64'
              ELSE '65_plus' END
$$;
"""

# People reached per calendar year, relais and category value (and 'named': all of them),
# folded from the people's days: a row appears (+1), moves category (−1, +1) or goes (−1).
# The report of a whole year reads these few rows instead of one row per person.
def _counts_signed(table: str, sign: str) -> str:
    values = ", ".join(
        ["('named', '')"]
        + [f"('{d}', reporting_age_band(x.year, x.birth_year))" if d == "age_band" else f"('{d}', x.{d})"
           for d in DIMENSIONS])
    return (f"SELECT x.year, x.relais_id, v.dimension, v.value, {sign} AS sign FROM {table} x "
            f"CROSS JOIN LATERAL (VALUES {values}) AS v(dimension, value)")


def _counts_function(event: str) -> tuple[str, str]:
    added, removed = TRANSITIONS[event]
    parts = [_counts_signed(t, sign) for t, sign in ((added, "1"), (removed, "-1")) if t]
    name = f"reporting_fold_people_counts_{event.lower()}"
    function = f"""
CREATE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_setting text := coalesce(current_setting('app.personal_aggregate', true), '');
BEGIN
  PERFORM set_config('app.personal_aggregate', 'on', true);
  INSERT INTO reporting_people_counts AS t (year, relais_id, dimension, value, people)
  SELECT s.year, s.relais_id, s.dimension, s.value, sum(s.sign)
    FROM ({" UNION ALL ".join(parts)}) s
   GROUP BY 1, 2, 3, 4 HAVING sum(s.sign) <> 0
  ON CONFLICT (year, relais_id, dimension, value) DO UPDATE SET people = t.people + excluded.people;
  PERFORM set_config('app.personal_aggregate', v_setting, true);
  RETURN NULL;
END $$;"""
    referencing = " ".join(
        f"{kind} TABLE AS {alias}" for kind, alias in (("NEW", added), ("OLD", removed)) if alias)
    trigger = (f"CREATE TRIGGER reporting_person_days_counts_{event.lower()} AFTER {event} ON reporting_person_days "
               f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
    return function, trigger


# A profile edited, a person erased (anonymised: categories unknown), a referring structure
# changing kind: their days' copies follow, and the counters with them.
PROFILE_FUNCTIONS = f"""
CREATE FUNCTION reporting_follow_profiles() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_setting text := coalesce(current_setting('app.personal_aggregate', true), '');
BEGIN
  PERFORM set_config('app.personal_aggregate', 'on', true);
  UPDATE reporting_person_days t
     SET ({PROFILE_COLUMNS}) = (SELECT {PROFILE})
    FROM new_rows b JOIN old_rows o ON o.id = b.id
    LEFT JOIN referrers rf ON rf.id = b.referrer_id
   WHERE t.beneficiary_id = b.id
     AND (o.situation, o.birth_year, o.housing, o.banked, o.nationality, o.language, o.referrer_id)
         IS DISTINCT FROM (b.situation, b.birth_year, b.housing, b.banked, b.nationality, b.language, b.referrer_id);
  PERFORM set_config('app.personal_aggregate', v_setting, true);
  RETURN NULL;
END $$;
CREATE TRIGGER beneficiaries_reporting_profiles AFTER UPDATE ON beneficiaries
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION reporting_follow_profiles();

CREATE FUNCTION reporting_follow_referrers() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_setting text := coalesce(current_setting('app.personal_aggregate', true), '');
BEGIN
  PERFORM set_config('app.personal_aggregate', 'on', true);
  UPDATE reporting_person_days t SET referrer_kind = rf.kind
    FROM new_rows rf JOIN old_rows o ON o.id = rf.id
    JOIN beneficiaries b ON b.referrer_id = rf.id
   WHERE t.beneficiary_id = b.id AND o.kind IS DISTINCT FROM rf.kind;
  PERFORM set_config('app.personal_aggregate', v_setting, true);
  RETURN NULL;
END $$;
CREATE TRIGGER referrers_reporting_kind AFTER UPDATE ON referrers
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION reporting_follow_referrers();
"""

# Facts as each summary sees them, from one transition table ({t}): (relais_id, day,
# beneficiary_id) for people, the month rows for the month summaries.
PEOPLE = {
    "distributions": "SELECT relais_id, distributed_on AS day, beneficiary_id FROM {t} "
                     "WHERE cancelled_at IS NULL AND beneficiary_id IS NOT NULL",
    "accompaniment_participants": "SELECT p.relais_id, s.held_on AS day, p.beneficiary_id FROM {t} p "
                                  "JOIN accompaniment_sessions s ON s.id = p.session_id "
                                  "WHERE s.deleted_at IS NULL",
    "accompaniment_sessions": "SELECT p.relais_id, s.held_on AS day, p.beneficiary_id FROM {t} s "
                              "JOIN accompaniment_participants p ON p.relais_id = s.relais_id AND p.session_id = s.id "
                              "WHERE s.deleted_at IS NULL",
}
DISTRIBUTION_MONTHS = ("SELECT relais_id, date_trunc('month', distributed_on)::date AS month, product_id, "
                       "programme, quantity, (beneficiary_id IS NULL)::integer AS anonymous FROM {t} "
                       "WHERE cancelled_at IS NULL")
SESSION_MONTHS = {
    "accompaniment_sessions": (
        "SELECT s.relais_id, date_trunc('month', s.held_on)::date AS month, s.kind, "
        "coalesce(s.theme, 'none') AS theme, 1 AS sessions, s.anonymous_count AS anonymous, "
        "s.duration_minutes * (s.anonymous_count + (SELECT count(*) FROM accompaniment_participants p "
        "WHERE p.relais_id = s.relais_id AND p.session_id = s.id)) AS minutes FROM {t} s WHERE s.deleted_at IS NULL"),
    "accompaniment_participants": (
        "SELECT s.relais_id, date_trunc('month', s.held_on)::date AS month, s.kind, "
        "coalesce(s.theme, 'none') AS theme, 0 AS sessions, 0 AS anonymous, s.duration_minutes AS minutes "
        "FROM {t} p JOIN accompaniment_sessions s ON s.id = p.session_id WHERE s.deleted_at IS NULL"),
}
TRANSITIONS = {"INSERT": ("new_rows", None), "UPDATE": ("new_rows", "old_rows"), "DELETE": (None, "old_rows")}


def _signed(template: str, added: str | None, removed: str | None) -> str:
    if added and removed:
        return (f"SELECT 1 AS sign, a.* FROM ({template.format(t=added)}) a UNION ALL "
                f"SELECT -1, r.* FROM ({template.format(t=removed)}) r")
    if added:
        return f"SELECT 1 AS sign, a.* FROM ({template.format(t=added)}) a"
    return f"SELECT -1 AS sign, r.* FROM ({template.format(t=removed)}) r"


def _people_sql(template: str, added: str | None, removed: str | None) -> str:
    statements = []
    if added:
        old = f" EXCEPT SELECT relais_id, day, beneficiary_id FROM ({template.format(t=removed)}) r" if removed else ""
        statements.append(f"""
  INSERT INTO reporting_person_days AS t (year, relais_id, beneficiary_id, days, {PROFILE_COLUMNS})
  SELECT x.year, x.relais_id, x.beneficiary_id, x.days, {PROFILE}
    FROM (SELECT extract(year FROM y.day)::integer AS year, y.relais_id, y.beneficiary_id,
                 bit_or(reporting_day_bit(y.day)) AS days
            FROM (SELECT relais_id, day, beneficiary_id FROM ({template.format(t=added)}) a{old}) y
           GROUP BY 1, 2, 3) x
    JOIN beneficiaries b ON b.id = x.beneficiary_id
    LEFT JOIN referrers rf ON rf.id = b.referrer_id
  ON CONFLICT (year, relais_id, beneficiary_id) DO UPDATE SET days = t.days | excluded.days
   WHERE t.days | excluded.days <> t.days;""")
    if removed:
        new = f" EXCEPT SELECT relais_id, day, beneficiary_id FROM ({template.format(t=added)}) a" if added else ""
        statements.append(f"""
  PERFORM reporting_recheck_person_days(array_agg(x.beneficiary_id), array_agg(x.relais_id), array_agg(x.day))
     FROM (SELECT relais_id, day, beneficiary_id FROM ({template.format(t=removed)}) r{new}) x
   HAVING count(*) > 0;""")
    return "".join(statements)


def _distribution_months_sql(added: str | None, removed: str | None) -> str:
    return f"""
  INSERT INTO reporting_distribution_months AS t (relais_id, month, product_id, programme, quantity, anonymous)
  SELECT x.relais_id, x.month, x.product_id, x.programme, sum(x.sign * x.quantity), sum(x.sign * x.anonymous)
    FROM ({_signed(DISTRIBUTION_MONTHS, added, removed)}) x
   GROUP BY 1, 2, 3, 4
  HAVING sum(x.sign * x.quantity) <> 0 OR sum(x.sign * x.anonymous) <> 0
  ON CONFLICT (relais_id, month, product_id, programme) DO UPDATE
     SET quantity = t.quantity + excluded.quantity, anonymous = t.anonymous + excluded.anonymous;"""


def _session_months_sql(template: str, added: str | None, removed: str | None) -> str:
    return f"""
  INSERT INTO reporting_session_months AS t (relais_id, month, kind, theme, sessions, anonymous, minutes)
  SELECT x.relais_id, x.month, x.kind, x.theme, sum(x.sign * x.sessions), sum(x.sign * x.anonymous),
         sum(x.sign * x.minutes)
    FROM ({_signed(template, added, removed)}) x
   GROUP BY 1, 2, 3, 4
  HAVING sum(x.sign * x.sessions) <> 0 OR sum(x.sign * x.anonymous) <> 0 OR sum(x.sign * x.minutes) <> 0
  ON CONFLICT (relais_id, month, kind, theme) DO UPDATE
     SET sessions = t.sessions + excluded.sessions, anonymous = t.anonymous + excluded.anonymous,
         minutes = t.minutes + excluded.minutes;"""


def _trigger_function(table: str, event: str) -> tuple[str, str]:
    added, removed = TRANSITIONS[event]
    body = _people_sql(PEOPLE[table], added, removed)
    if table == "distributions":
        body += _distribution_months_sql(added, removed)
    else:
        body += _session_months_sql(SESSION_MONTHS[table], added, removed)
    name = f"reporting_fold_{table}_{event.lower()}"
    # The personal rows the folds join are readable by the owner only while this setting is
    # on (migration 0006's `bilan_aggregate` policies): on for the fold, then as it was.
    function = f"""
CREATE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_setting text := coalesce(current_setting('app.personal_aggregate', true), '');
BEGIN
  PERFORM set_config('app.personal_aggregate', 'on', true);{body}
  PERFORM set_config('app.personal_aggregate', v_setting, true);
  RETURN NULL;
END $$;"""
    referencing = " ".join(
        f"{kind} TABLE AS {alias}" for kind, alias in (("NEW", added), ("OLD", removed)) if alias)
    trigger = (f"CREATE TRIGGER {table}_reporting_{event.lower()} AFTER {event} ON {table} "
               f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
    return function, trigger


RELAIS_DAYS_FUNCTION = """
CREATE FUNCTION reporting_fold_relais_days() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO reporting_relais_days AS t (relais_id, year, days)
  SELECT x.relais_id, extract(year FROM x.day)::integer, bit_or(reporting_day_bit(x.day))
    FROM (SELECT relais_id, (occurred_at AT TIME ZONE 'Europe/Paris')::date AS day FROM new_rows
           WHERE kind = 'distribution') x
   GROUP BY 1, 2
  ON CONFLICT (relais_id, year) DO UPDATE SET days = t.days | excluded.days;
  RETURN NULL;
END $$;
CREATE TRIGGER relais_stock_movements_reporting_days AFTER INSERT ON relais_stock_movements
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reporting_fold_relais_days();
"""

# Each summary as the facts make it: the backfill writes them, the drift check compares.
REBUILT = {
    "reporting_person_days": f"""
  SELECT x.year, x.relais_id, x.beneficiary_id, x.days, {PROFILE}
    FROM (SELECT extract(year FROM y.day)::integer AS year, y.relais_id, y.beneficiary_id,
                 bit_or(reporting_day_bit(y.day)) AS days
            FROM (SELECT relais_id, distributed_on AS day, beneficiary_id FROM distributions
                   WHERE cancelled_at IS NULL AND beneficiary_id IS NOT NULL
                  UNION
                  SELECT p.relais_id, s.held_on, p.beneficiary_id FROM accompaniment_participants p
                    JOIN accompaniment_sessions s ON s.id = p.session_id WHERE s.deleted_at IS NULL) y
           GROUP BY 1, 2, 3) x
    JOIN beneficiaries b ON b.id = x.beneficiary_id
    LEFT JOIN referrers rf ON rf.id = b.referrer_id""",
    # Checked against the people's days (themselves checked against the facts).
    "reporting_people_counts": f"""
  SELECT s.year, s.relais_id, s.dimension, s.value, sum(s.sign)::bigint AS people
    FROM ({_counts_signed("reporting_person_days", "1")}) s GROUP BY 1, 2, 3, 4""",
    "reporting_distribution_months": """
  SELECT relais_id, date_trunc('month', distributed_on)::date AS month, product_id, programme,
         sum(quantity)::bigint AS quantity, count(*) FILTER (WHERE beneficiary_id IS NULL)::bigint AS anonymous
    FROM distributions WHERE cancelled_at IS NULL GROUP BY 1, 2, 3, 4""",
    "reporting_session_months": """
  SELECT s.relais_id, date_trunc('month', s.held_on)::date AS month, s.kind, coalesce(s.theme, 'none') AS theme,
         count(*)::bigint AS sessions, sum(s.anonymous_count)::bigint AS anonymous,
         sum(s.duration_minutes * (s.anonymous_count + coalesce(n.named, 0)))::bigint AS minutes
    FROM accompaniment_sessions s
    LEFT JOIN (SELECT session_id, count(*) AS named FROM accompaniment_participants GROUP BY 1) n
      ON n.session_id = s.id
   WHERE s.deleted_at IS NULL GROUP BY 1, 2, 3, 4""",
    "reporting_relais_days": """
  SELECT relais_id, extract(year FROM x.day)::integer AS year, bit_or(reporting_day_bit(x.day)) AS days
    FROM (SELECT relais_id, (occurred_at AT TIME ZONE 'Europe/Paris')::date AS day FROM relais_stock_movements
           WHERE kind = 'distribution') x
   GROUP BY 1, 2""",
}
COLUMNS = {
    "reporting_person_days": f"year, relais_id, beneficiary_id, days, {PROFILE_COLUMNS}",
    "reporting_people_counts": "year, relais_id, dimension, value, people",
    "reporting_distribution_months": "relais_id, month, product_id, programme, quantity, anonymous",
    "reporting_session_months": "relais_id, month, kind, theme, sessions, anonymous, minutes",
    "reporting_relais_days": "relais_id, year, days",
}
# Rows that fold to nothing are dropped by the triggers; the comparison ignores any left.
LIVE = {
    "reporting_person_days": "bit_count(days) > 0",
    "reporting_people_counts": "people <> 0",
    "reporting_distribution_months": "quantity <> 0 OR anonymous <> 0",
    "reporting_session_months": "sessions <> 0 OR anonymous <> 0 OR minutes <> 0",
    "reporting_relais_days": "bit_count(days) > 0",
}


def _drift_function() -> str:
    parts = [
        f"""
  RETURN QUERY SELECT '{table}'::text, count(*) FROM (
    (SELECT {COLUMNS[table]} FROM {table} WHERE {LIVE[table]} EXCEPT {REBUILT[table]})
    UNION ALL
    ({REBUILT[table]} EXCEPT SELECT {COLUMNS[table]} FROM {table} WHERE {LIVE[table]})) d;"""
        for table in SUMMARIES
    ]
    return f"""
CREATE FUNCTION reporting_summaries_drift() RETURNS TABLE (summary text, rows bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM set_config('app.personal_aggregate', 'on', true);
  PERFORM set_config('app.relais_ids', '*', true);{''.join(parts)}
  PERFORM set_config('app.personal_aggregate', '', true);
END $$;"""


# What both reports count over [p_from, p_to] (inclusive), for the relais ids given (already
# resolved from the caller's scope; NULL: the whole network). Whole months come from the month
# summaries, the partial months at either end from the facts; people from their days. Called
# only from the two SECURITY DEFINER functions below (the personal rows are readable while they
# run). Plans are made for each call's values (force_custom_plan): a false branch condition
# (`v_head`, `v_all`...) is then a constant the planner folds away, so an empty edge costs
# nothing and the whole network is a plain scan rather than 2,000 probes.
PERIOD_FUNCTION = """
CREATE FUNCTION reporting_period_counts(p_ids bigint[], p_from date, p_to date, p_zone text,
                                        p_breakdowns boolean, p_year integer)
RETURNS TABLE (metric text, label text, value numeric)
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp
SET plan_cache_mode = 'force_custom_plan' AS $$
#variable_conflict use_column
DECLARE
  v_all boolean := p_ids IS NULL;
  v_hi date := p_to + 1;
  v_full_lo date := (date_trunc('month', p_from - 1) + interval '1 month')::date;
  v_full_hi date := date_trunc('month', p_to + 1)::date;
  v_months boolean;
  v_head boolean;
  v_tail boolean;
  v_first_year integer := extract(year FROM p_from)::integer;
  v_last_year integer := extract(year FROM p_to)::integer;
  v_masks bit(366)[];
  v_whole_year boolean := p_from = make_date(extract(year FROM p_from)::integer, 1, 1)
                          AND p_to = make_date(extract(year FROM p_from)::integer, 12, 31);
BEGIN
  IF v_full_lo >= v_full_hi THEN  -- no whole month: the facts alone
    v_full_lo := v_hi;
    v_full_hi := v_hi;
  END IF;
  v_months := v_full_lo < v_full_hi;
  v_head := p_from < v_full_lo;
  v_tail := v_full_hi < v_hi;
  SELECT array_agg(reporting_day_mask(y, p_from, p_to) ORDER BY y) INTO v_masks
    FROM generate_series(v_first_year, v_last_year) AS y;

  RETURN QUERY
    SELECT CASE WHEN GROUPING(x.sku) = 0 THEN 'sku'
                WHEN GROUPING(x.category) = 0 THEN 'category'
                WHEN GROUPING(x.programme) = 0 THEN 'programme'
                ELSE 'anonymous_distributions' END,
           coalesce(x.sku, x.category, x.programme)::text,
           (CASE WHEN GROUPING(x.sku, x.category, x.programme) = 7 THEN sum(x.anonymous)
                 ELSE sum(x.quantity) END)::numeric
      FROM (SELECT p.sku, p.category, y.programme, y.quantity, y.anonymous
              -- Summed per product and programme first: the grouping sets then see a few rows.
              FROM (SELECT u.product_id, u.programme, sum(u.quantity) AS quantity, sum(u.anonymous) AS anonymous
                      FROM (SELECT m.product_id, m.programme, m.quantity, m.anonymous
                      FROM reporting_distribution_months m
                     WHERE v_months AND (v_all OR m.relais_id IN (SELECT unnest(p_ids)))
                       AND m.month >= v_full_lo AND m.month < v_full_hi
                    UNION ALL
                    SELECT d.product_id, d.programme, d.quantity, (d.beneficiary_id IS NULL)::integer
                      FROM distributions d
                     WHERE v_head AND (v_all OR d.relais_id IN (SELECT unnest(p_ids))) AND d.cancelled_at IS NULL
                       AND d.distributed_on >= p_from AND d.distributed_on < v_full_lo
                    UNION ALL
                    SELECT d.product_id, d.programme, d.quantity, (d.beneficiary_id IS NULL)::integer
                      FROM distributions d
                     WHERE v_tail AND (v_all OR d.relais_id IN (SELECT unnest(p_ids))) AND d.cancelled_at IS NULL
                       AND d.distributed_on >= v_full_hi AND d.distributed_on < v_hi) u
                     GROUP BY u.product_id, u.programme) y
              JOIN products p ON p.id = y.product_id) x
     GROUP BY GROUPING SETS ((x.sku), (x.category), (x.programme), ());

  RETURN QUERY
    WITH s AS (
      SELECT m.kind::text AS kind, m.theme::text AS theme, m.sessions, m.anonymous, m.minutes
        FROM reporting_session_months m
       WHERE v_months AND (v_all OR m.relais_id IN (SELECT unnest(p_ids)))
         AND m.month >= v_full_lo AND m.month < v_full_hi
      UNION ALL
      SELECT a.kind, coalesce(a.theme, 'none'), 1, a.anonymous_count,
             a.duration_minutes * (a.anonymous_count + (SELECT count(*) FROM accompaniment_participants ap
                                                          WHERE ap.relais_id = a.relais_id
                                                            AND ap.session_id = a.id))
        FROM accompaniment_sessions a
       WHERE (v_head OR v_tail) AND (v_all OR a.relais_id IN (SELECT unnest(p_ids))) AND a.deleted_at IS NULL
         AND ((v_head AND a.held_on >= p_from AND a.held_on < v_full_lo)
              OR (v_tail AND a.held_on >= v_full_hi AND a.held_on < v_hi))
    )
    SELECT CASE WHEN GROUPING(s.kind) = 0 THEN 'session_kind' ELSE 'theme' END,
           coalesce(s.kind, s.theme), sum(s.sessions)::numeric
      FROM s GROUP BY GROUPING SETS ((s.kind), (s.theme))
    UNION ALL
    SELECT v.metric, NULL::text, v.value
      FROM (SELECT coalesce(sum(s.sessions), 0)::numeric AS sessions, sum(s.minutes)::numeric AS minutes,
                   sum(s.anonymous)::numeric AS anonymous FROM s) t
     CROSS JOIN LATERAL (VALUES ('sessions', t.sessions), ('minutes', t.minutes),
                                ('anonymous_attendances', t.anonymous)) AS v(metric, value)
     WHERE v.value IS NOT NULL;

  -- Named people reached in the period, each once. A whole calendar year reads the counters;
  -- any other period the people's days that meet it.
  IF v_whole_year THEN
    RETURN QUERY
      SELECT c.dimension::text, nullif(c.value, '')::text, sum(c.people)::numeric
        FROM reporting_people_counts c
       WHERE c.year = v_first_year AND (v_all OR c.relais_id IN (SELECT unnest(p_ids)))
         AND (p_breakdowns OR c.dimension = 'named')
       GROUP BY c.dimension, c.value HAVING sum(c.people) <> 0
      UNION ALL
      SELECT 'departement', r.departement::text, sum(c.people)::numeric
        FROM reporting_people_counts c JOIN relais r ON r.id = c.relais_id
       WHERE p_breakdowns AND c.year = v_first_year AND c.dimension = 'named'
         AND (v_all OR c.relais_id IN (SELECT unnest(p_ids)))
       GROUP BY r.departement HAVING sum(c.people) <> 0;
  ELSIF NOT p_breakdowns THEN
    RETURN QUERY
      SELECT 'named', NULL::text, count(DISTINCT pd.beneficiary_id)::numeric
        FROM reporting_person_days pd
       WHERE pd.year BETWEEN v_first_year AND v_last_year
         AND (v_all OR pd.relais_id IN (SELECT unnest(p_ids)))
         AND bit_count(pd.days & v_masks[pd.year - v_first_year + 1]) > 0;
  ELSE
    RETURN QUERY
      SELECT CASE WHEN GROUPING(z.situation) = 0 THEN 'situation'
                  WHEN GROUPING(z.age_band) = 0 THEN 'age_band'
                  WHEN GROUPING(z.housing) = 0 THEN 'housing'
                  WHEN GROUPING(z.banked) = 0 THEN 'banked'
                  WHEN GROUPING(z.nationality) = 0 THEN 'nationality'
                  WHEN GROUPING(z.language) = 0 THEN 'language'
                  WHEN GROUPING(z.departement) = 0 THEN 'departement'
                  WHEN GROUPING(z.referrer_kind) = 0 THEN 'referrer_kind'
                  ELSE 'named' END,
             coalesce(z.situation, z.age_band, z.housing, z.banked, z.nationality, z.language,
                      z.departement, z.referrer_kind)::text,
             count(*)::numeric
        FROM (SELECT min(pd.situation) AS situation, reporting_age_band(p_year, min(pd.birth_year)) AS age_band,
                     min(pd.housing) AS housing, min(pd.banked) AS banked, min(pd.nationality) AS nationality,
                     min(pd.language) AS language, min(r.departement) AS departement,
                     min(pd.referrer_kind) AS referrer_kind
                FROM reporting_person_days pd JOIN relais r ON r.id = pd.relais_id
               WHERE pd.year BETWEEN v_first_year AND v_last_year
                 AND (v_all OR pd.relais_id IN (SELECT unnest(p_ids)))
                 AND bit_count(pd.days & v_masks[pd.year - v_first_year + 1]) > 0
               -- Each person once (their rows of several years carry the same categories).
               GROUP BY pd.beneficiary_id) z
       GROUP BY GROUPING SETS ((z.situation), (z.age_band), (z.housing), (z.banked), (z.nationality),
                               (z.language), (z.departement), (z.referrer_kind), ());
  END IF;

  RETURN QUERY
    SELECT CASE WHEN GROUPING(x.kind) = 0 THEN 'new_referrer_kind' ELSE 'new_beneficiaries' END,
           x.kind::text, count(*)::numeric
      FROM (SELECT coalesce(rf.kind, 'none') AS kind
              FROM beneficiaries b LEFT JOIN referrers rf ON rf.id = b.referrer_id
             WHERE (v_all OR b.relais_id IN (SELECT unnest(p_ids)))
               AND b.created_at >= (p_from::timestamp AT TIME ZONE p_zone)
               AND b.created_at < (v_hi::timestamp AT TIME ZONE p_zone)) x
     GROUP BY GROUPING SETS ((x.kind), ());

  RETURN QUERY
    SELECT 'referrers', NULL::text, count(DISTINCT b.referrer_id)::numeric
      FROM beneficiaries b
     WHERE (v_all OR b.relais_id IN (SELECT unnest(p_ids))) AND b.referrer_id IS NOT NULL
       AND b.created_at >= (p_from::timestamp AT TIME ZONE p_zone)
       AND b.created_at < (v_hi::timestamp AT TIME ZONE p_zone);

  RETURN QUERY
    SELECT 'parcours_completed', NULL::text, count(*)::numeric
      FROM parcours_enrolments e
     WHERE (v_all OR e.relais_id IN (SELECT unnest(p_ids))) AND e.completed_on >= p_from AND e.completed_on < v_hi;
END $$;
"""

# The two doors keep their signatures and rows (migrations 0006, 0013, 0016).
SCOPE = """
  PERFORM set_config('app.personal_aggregate', 'on', true);
  SELECT coalesce(array_agg(r.id), '{}') INTO v_ids FROM relais r
   WHERE (r.id = app_relais_id() OR app_network_allows(r.id))
     AND (p_relais_ids IS NULL OR r.id = ANY (p_relais_ids));
  IF v_ids = '{}' THEN  -- nothing in scope: no row at all
    PERFORM set_config('app.personal_aggregate', '', true);
    RETURN;
  END IF;
  IF p_relais_ids IS NULL AND app_network_all() THEN  -- the whole network: no list to probe
    v_ids := NULL;
  END IF;"""
ACTIVITY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION activity_personal_counts(p_relais_ids bigint[], p_from date,
                                                    p_to date, p_zone text, p_breakdowns boolean)
RETURNS TABLE (metric text, label text, value numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
SET plan_cache_mode = 'force_custom_plan' AS $$
#variable_conflict use_column
DECLARE
  v_ids bigint[];
BEGIN{SCOPE}
  RETURN QUERY
    SELECT c.metric, c.label, c.value
      FROM reporting_period_counts(v_ids, p_from, p_to, p_zone, p_breakdowns,
                                   extract(year FROM p_to)::integer) c
     WHERE c.metric NOT IN ('category', 'new_referrer_kind', 'referrers');
  PERFORM set_config('app.personal_aggregate', '', true);
END $$;
"""
BILAN_FUNCTION = f"""
CREATE OR REPLACE FUNCTION bilan_personal_counts(p_relais_ids bigint[], p_first_year integer,
                                                 p_last_year integer, p_zone text)
RETURNS TABLE (metric text, year integer, label text, value numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
SET plan_cache_mode = 'force_custom_plan' AS $$
#variable_conflict use_column
DECLARE
  v_ids bigint[];
  v_year integer;
BEGIN{SCOPE}
  FOR v_year IN p_first_year .. p_last_year LOOP
    RETURN QUERY
      SELECT CASE c.metric WHEN 'new_referrer_kind' THEN 'referrer_kind' ELSE c.metric END, v_year,
             c.label, c.value
        FROM reporting_period_counts(v_ids, make_date(v_year, 1, 1), make_date(v_year, 12, 31), p_zone,
                                     false, v_year) c
       WHERE c.metric NOT IN ('session_kind', 'theme');
  END LOOP;
  PERFORM set_config('app.personal_aggregate', '', true);
END $$;
"""


def _load(name: str):  # noqa: ANN202 - an Alembic revision module
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tables() -> None:
    def relais_fk() -> sa.ForeignKey:
        return sa.ForeignKey("relais.id", ondelete="CASCADE")

    op.create_table(
        "reporting_person_days",
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("relais_id", sa.BigInteger(), relais_fk(), nullable=False),
        sa.Column("beneficiary_id", sa.BigInteger(), sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("days", postgresql.BIT(366), nullable=False),
        sa.Column("situation", sa.String(length=32), nullable=False),
        sa.Column("birth_year", sa.SmallInteger(), nullable=True),
        *[sa.Column(name, sa.String(length=32), nullable=False)
          for name in ("housing", "banked", "nationality", "language", "referrer_kind")],
        sa.PrimaryKeyConstraint("relais_id", "year", "beneficiary_id", name=op.f("pk_reporting_person_days")),
    )
    op.create_table(
        "reporting_people_counts",
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("relais_id", sa.BigInteger(), relais_fk(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("people", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("relais_id", "year", "dimension", "value", name=op.f("pk_reporting_people_counts")),
    )
    op.create_index(op.f("ix_reporting_person_days_beneficiary_id"), "reporting_person_days",
                    ["beneficiary_id"])
    # The partial months of a network-wide period read distributions by date alone.
    op.create_index("ix_distributions_distributed_on", "distributions", ["distributed_on"])
    op.create_table(
        "reporting_distribution_months",
        sa.Column("relais_id", sa.BigInteger(), relais_fk(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), sa.ForeignKey("products.id"), nullable=False),
        sa.Column("programme", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("anonymous", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("relais_id", "month", "product_id", "programme",
                                name=op.f("pk_reporting_distribution_months")),
    )
    op.create_table(
        "reporting_session_months",
        sa.Column("relais_id", sa.BigInteger(), relais_fk(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("theme", sa.String(length=32), nullable=False),
        sa.Column("sessions", sa.BigInteger(), nullable=False),
        sa.Column("anonymous", sa.BigInteger(), nullable=False),
        sa.Column("minutes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("relais_id", "month", "kind", "theme", name=op.f("pk_reporting_session_months")),
    )
    op.create_table(
        "reporting_relais_days",
        sa.Column("relais_id", sa.BigInteger(), relais_fk(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("days", postgresql.BIT(366), nullable=False),
        sa.PrimaryKeyConstraint("relais_id", "year", name=op.f("pk_reporting_relais_days")),
    )


def upgrade():
    _tables()
    role = current_app.config["APP_DB_ROLE"]
    for table in SUMMARIES:
        # Same reach as the facts: people's days like personal data (their own relais only).
        op.execute(tenant_table_sql(table, personal=table in ("reporting_person_days", "reporting_people_counts")))
        # Written by the triggers alone, which run as the owner; people's days only while a
        # fold or a count has turned the personal setting on, like the facts (0006).
        if table in ("reporting_person_days", "reporting_people_counts"):
            gate = "current_setting('app.personal_aggregate', true) = 'on'"
            op.execute(f"CREATE POLICY bilan_aggregate ON {table} TO CURRENT_USER USING ({gate}) WITH CHECK ({gate})")
        else:
            op.execute(f"CREATE POLICY summary_maintenance ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)")
        op.execute(f'REVOKE INSERT, UPDATE, DELETE ON {table} FROM "{role}"')
    op.execute(DAY_FUNCTIONS)
    op.execute(AGE_FUNCTION)
    op.execute(RECHECK_FUNCTION)
    for table in PEOPLE:
        for event in TRANSITIONS:
            function, trigger = _trigger_function(table, event)
            op.execute(function)
            op.execute(trigger)
    op.execute(RELAIS_DAYS_FUNCTION)
    # What happened before this migration, from the facts (the owner reads every relais).
    op.execute("SELECT set_config('app.relais_ids', '*', true), set_config('app.personal_aggregate', 'on', true)")
    for table in SUMMARIES:
        op.execute(f"INSERT INTO {table} ({COLUMNS[table]}) {REBUILT[table]}")
    op.execute("SELECT set_config('app.personal_aggregate', '', true)")
    # The counters follow the people's days from now on (after their backfill, not twice).
    for event in TRANSITIONS:
        function, trigger = _counts_function(event)
        op.execute(function)
        op.execute(trigger)
    op.execute(PROFILE_FUNCTIONS)
    op.execute(_drift_function())
    op.execute(PERIOD_FUNCTION)
    op.execute(ACTIVITY_FUNCTION)
    op.execute(BILAN_FUNCTION)
    for signature in (PERIOD_SIGNATURE, DRIFT_SIGNATURE, RECHECK_SIGNATURE):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {DRIFT_SIGNATURE} TO "{role}"')


def downgrade():
    op.execute(_load("0016_funders").ACTIVITY_FUNCTION)
    op.execute(_load("0013_front_desk")._bilan_now())
    op.execute(f"ALTER FUNCTION {BILAN_SIGNATURE} SET plan_cache_mode = 'force_custom_plan'")
    op.execute(f"DROP FUNCTION IF EXISTS {PERIOD_SIGNATURE}")
    op.execute(f"DROP FUNCTION IF EXISTS {DRIFT_SIGNATURE}")
    op.execute("DROP TRIGGER IF EXISTS beneficiaries_reporting_profiles ON beneficiaries")
    op.execute("DROP FUNCTION IF EXISTS reporting_follow_profiles()")
    op.execute("DROP TRIGGER IF EXISTS referrers_reporting_kind ON referrers")
    op.execute("DROP FUNCTION IF EXISTS reporting_follow_referrers()")
    for event in TRANSITIONS:
        op.execute(f"DROP TRIGGER IF EXISTS reporting_person_days_counts_{event.lower()} ON reporting_person_days")
        op.execute(f"DROP FUNCTION IF EXISTS reporting_fold_people_counts_{event.lower()}()")
    op.execute("DROP FUNCTION IF EXISTS reporting_age_band(integer, integer)")
    op.execute("DROP TRIGGER IF EXISTS relais_stock_movements_reporting_days ON relais_stock_movements")
    op.execute("DROP FUNCTION IF EXISTS reporting_fold_relais_days()")
    for table in PEOPLE:
        for event in TRANSITIONS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_reporting_{event.lower()} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS reporting_fold_{table}_{event.lower()}()")
    op.execute(f"DROP FUNCTION IF EXISTS {RECHECK_SIGNATURE}")
    op.execute("DROP FUNCTION IF EXISTS reporting_day_mask(integer, date, date)")
    op.execute("DROP FUNCTION IF EXISTS reporting_day_bit(date)")
    for table in reversed(SUMMARIES):
        op.drop_table(table)
    op.drop_index("ix_distributions_distributed_on", table_name="distributions")
