"""Row-level security DDL, used by the Alembic migrations.

The policies read the settings bound per transaction by `relais_platform.tenancy`:
`app.relais_id` (the relais a relais user acts for) and `app.relais_ids` (an explicit
network scope: `*` for every relais, or a comma-separated list). An unset setting reads as
an empty string, hence the NULLIF.

A policy tests a network scope with `network_allows_sql(column)`: the id list is parsed once
per statement (an uncorrelated sub-select, planned as a hashed SubPlan), not once per row as
the older `app_network_allows(target)` did — 2,000 ids × 100,000 rows took seconds.
"""

from __future__ import annotations

# The network scope as policies read it: "every relais" (`*`), or the list of ids.
NETWORK_FUNCTIONS = """
CREATE OR REPLACE FUNCTION app_network_all() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT coalesce(current_setting('app.relais_ids', true), '') = '*' $$;

CREATE OR REPLACE FUNCTION app_network_ids() RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT CASE
     WHEN coalesce(current_setting('app.relais_ids', true), '') IN ('', '*') THEN '{}'::bigint[]
     ELSE string_to_array(current_setting('app.relais_ids', true), ',')::bigint[]
   END $$;
"""

# `app_network_allows(target)` parses the list at each call: fine in a function called once
# (e.g. over the relais table), never in a policy. Existing databases get NETWORK_FUNCTIONS
# from migration 0008, fresh ones here.
FUNCTIONS = """
CREATE OR REPLACE FUNCTION app_relais_id() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT NULLIF(current_setting('app.relais_id', true), '')::bigint $$;

CREATE OR REPLACE FUNCTION app_network_allows(target bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT CASE
     WHEN coalesce(current_setting('app.relais_ids', true), '') = '' THEN false
     WHEN current_setting('app.relais_ids', true) = '*' THEN true
     ELSE target = ANY (string_to_array(current_setting('app.relais_ids', true), ',')::bigint[])
   END $$;
""" + NETWORK_FUNCTIONS


def network_allows_sql(target: str) -> str:
    """Whether the network scope reaches the relais `target` (an SQL expression).

    Same answers as `app_network_allows(target)`: `*` reaches every relais (even a NULL
    target), a list reaches its ids, an unset scope nothing.
    """
    return f"(app_network_all() OR {target} IN (SELECT unnest(app_network_ids())))"


DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS app_network_ids();
DROP FUNCTION IF EXISTS app_network_all();
DROP FUNCTION IF EXISTS app_network_allows(bigint);
DROP FUNCTION IF EXISTS app_relais_id();
"""


def app_role_sql(role: str) -> str:
    """Create the runtime role when missing; it owns nothing and never bypasses RLS."""
    return f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
    CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END $$;
GRANT USAGE ON SCHEMA public TO "{role}";
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "{role}";
"""


def revoke_app_role_sql(role: str) -> str:
    return f"""
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "{role}";
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM "{role}";
REVOKE USAGE ON SCHEMA public FROM "{role}";
"""


def _enable(table: str) -> str:
    return (
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n"
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;\n"
    )


def tenant_table_sql(table: str, *, personal: bool = False) -> str:
    """Policy for a tenant-owned table (personal data: its own relais only)."""
    visible = (
        "relais_id = app_relais_id()"
        if personal
        else f"(relais_id = app_relais_id() OR {network_allows_sql('relais_id')})"
    )
    return _enable(table) + (
        f"CREATE POLICY tenant_isolation ON {table} USING ({visible}) WITH CHECK ({visible});\n"
    )


def drop_policy_sql(table: str) -> str:
    return (
        f"DROP POLICY IF EXISTS tenant_isolation ON {table};\n"
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;\n"
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;\n"
    )


def bound_directory_sql(table: str, column: str) -> str:
    """Tables read before a tenant is known (login, the relais registry).

    Once a relais is bound, the session sees only that relais' rows.
    """
    rule = f"(app_relais_id() IS NULL OR {column} = app_relais_id())"
    return _enable(table) + (
        f"CREATE POLICY tenant_isolation ON {table} USING {rule} WITH CHECK {rule};\n"
    )


def national_only_sql(table: str, *, readable_by_all: bool = False) -> str:
    """National tables: written only under the national network scope (`*`)."""
    national = "current_setting('app.relais_ids', true) = '*'"
    read = "true" if readable_by_all else national
    return _enable(table) + (
        f"CREATE POLICY national_read ON {table} FOR SELECT USING ({read});\n"
        f"CREATE POLICY national_insert ON {table} FOR INSERT WITH CHECK ({national});\n"
        f"CREATE POLICY national_update ON {table} FOR UPDATE USING ({national}) WITH CHECK ({national});\n"
        f"CREATE POLICY national_delete ON {table} FOR DELETE USING ({national});\n"
    )


def custodian_table_sql(table: str) -> str:
    """Rows held by a relais or by the national stock (relais_id NULL)."""
    visible = f"(relais_id = app_relais_id() OR {network_allows_sql('coalesce(relais_id, 0)')})"
    return _enable(table) + (
        f"CREATE POLICY tenant_isolation ON {table} USING {visible} WITH CHECK {visible};\n"
    )


APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def append_only_sql(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}\n"
        f"  FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change();\n"
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}\n"
        f"  FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();\n"
    )


def drop_append_only_sql(table: str) -> str:
    return (
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};\n"
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};\n"
    )


def drop_policies_sql(table: str, names: tuple[str, ...]) -> str:
    return "".join(f"DROP POLICY IF EXISTS {name} ON {table};\n" for name in names)
