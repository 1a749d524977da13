"""front desk: hand-overs, the solidarity connection period, correctable accompaniment,
workshop themes as a national list, referring structures

Revision ID: 0013_front_desk
Revises: 0012_input_limits
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from flask import current_app

from relais_platform import rls

revision = "0013_front_desk"
down_revision = "0012_input_limits"
branch_labels = None
depends_on = None

# The seeds' themes (« santé, emploi, sécurité, démarches, achats, communication,
# parentalité, numérique responsable, culture et loisirs, éducation au numérique »), and
# "other" that sessions already use.
THEMES = (
    ("health", "Santé"), ("employment", "Emploi"), ("security", "Sécurité"),
    ("administration", "Démarches administratives"), ("shopping", "Achats en ligne"),
    ("communication", "Communication"), ("parenting", "Parentalité"),
    ("responsible_digital", "Numérique responsable"), ("culture_leisure", "Culture et loisirs"),
    ("digital_education", "Éducation au numérique"), ("other", "Autre thème"),
)
OLD_THEMES = ("health", "employment", "security", "administration", "shopping", "communication", "other")
REFERRER_KINDS = ("ccas", "cias", "mds", "association", "secours_populaire", "restos_du_coeur",
                  "croix_rouge", "cada", "chrs", "accueil_de_jour", "centre_social", "france_services",
                  "cidff", "siae", "other", "pole_emploi", "mission_locale", "caf", "hospital", "school")
BILAN_SIGNATURE = "bilan_personal_counts(bigint[], integer, integer, text)"


def _bilan_0006() -> str:
    path = Path(__file__).with_name("0006_reporting.py")
    spec = importlib.util.spec_from_file_location("migration_0006_reporting", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BILAN_FUNCTION


def _bilan_now() -> str:
    """0006's function with deleted sessions left out, and new people counted by referrer kind."""
    function = _bilan_0006()
    live = "a.relais_id IN (SELECT unnest(v_ids)) AND a.deleted_at IS NULL"
    function = function.replace("WHERE a.relais_id IN (SELECT unnest(v_ids))\n", f"WHERE {live}\n")
    function = function.replace(
        "             WHERE ap.relais_id IN (SELECT unnest(v_ids))\n               AND a.held_on",
        "             WHERE ap.relais_id IN (SELECT unnest(v_ids)) AND a.deleted_at IS NULL\n"
        "               AND a.held_on")
    referrers = """
  -- New people per kind of referring structure (« 141 structures ont orienté 739 personnes »).
  RETURN QUERY
    SELECT 'referrer_kind', extract(year FROM b.created_at AT TIME ZONE p_zone)::integer,
           coalesce(r.kind, 'none')::text, count(*)::numeric
      FROM beneficiaries b LEFT JOIN referrers r ON r.id = b.referrer_id
     WHERE b.relais_id IN (SELECT unnest(v_ids))
       AND b.created_at >= (v_lo::timestamp AT TIME ZONE p_zone)
       AND b.created_at < (v_hi::timestamp AT TIME ZONE p_zone)
     GROUP BY 2, 3;

  RETURN QUERY
    SELECT 'referrers', extract(year FROM b.created_at AT TIME ZONE p_zone)::integer,
           NULL::text, count(DISTINCT b.referrer_id)::numeric
      FROM beneficiaries b
     WHERE b.relais_id IN (SELECT unnest(v_ids)) AND b.referrer_id IS NOT NULL
       AND b.created_at >= (v_lo::timestamp AT TIME ZONE p_zone)
       AND b.created_at < (v_hi::timestamp AT TIME ZONE p_zone)
     GROUP BY 2;
"""
    # The personal tables are readable only while the function's own setting is on: the new
    # counts go before it is switched off again (migration 0011).
    closing = "  PERFORM set_config('app.personal_aggregate', '', true);\nEND $$;\n"
    assert function.count(closing) == 1 and function.count(live) == 1
    assert function.count("a.deleted_at IS NULL") == 2
    return function.replace(closing, referrers + closing)


def _grant_bilan() -> None:
    role = current_app.config["APP_DB_ROLE"]
    op.execute(f"REVOKE ALL ON FUNCTION {BILAN_SIGNATURE} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {BILAN_SIGNATURE} TO "{role}"')


def upgrade():
    # Themes: a national table, readable by all; sessions reference a theme by its code.
    themes = op.create_table(
        "themes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_themes")),
        sa.UniqueConstraint("code", name=op.f("uq_themes_code")),
    )
    op.bulk_insert(themes, [{"code": code, "label": label} for code, label in THEMES])
    op.execute(rls.national_only_sql("themes", readable_by_all=True))
    op.drop_constraint(op.f("ck_accompaniment_sessions_theme"), "accompaniment_sessions", type_="check")
    op.create_foreign_key(op.f("fk_accompaniment_sessions_theme_themes"), "accompaniment_sessions",
                          "themes", ["theme"], ["code"])
    op.create_index(op.f("ix_accompaniment_sessions_theme"), "accompaniment_sessions", ["theme"])
    op.add_column("accompaniment_sessions",
                  sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("accompaniment_sessions", sa.Column("deleted_by_id", sa.BigInteger(), nullable=True))
    op.add_column("accompaniment_sessions", sa.Column("delete_reason", sa.Text(), nullable=True))
    op.create_foreign_key(op.f("fk_accompaniment_sessions_deleted_by_id_users"), "accompaniment_sessions",
                          "users", ["deleted_by_id"], ["id"])
    op.create_check_constraint(op.f("ck_accompaniment_sessions_delete_has_reason"), "accompaniment_sessions",
                               "(deleted_at IS NULL) = (delete_reason IS NULL)")

    # Referring structures, per relais (not personal data: structures, not people).
    op.create_table(
        "referrers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("relais_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in REFERRER_KINDS) + ")",
                           name=op.f("ck_referrers_known_kind")),
        sa.ForeignKeyConstraint(["relais_id"], ["relais.id"], name=op.f("fk_referrers_relais_id_relais")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrers")),
        sa.UniqueConstraint("relais_id", "name", name=op.f("uq_referrers_relais_id_name")),
    )
    op.create_index(op.f("ix_referrers_relais_id"), "referrers", ["relais_id"])
    op.execute(rls.tenant_table_sql("referrers"))

    op.add_column("beneficiaries", sa.Column("referrer_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_beneficiaries_referrer_id_referrers"), "beneficiaries", "referrers",
                          ["referrer_id"], ["id"])
    op.create_index(op.f("ix_beneficiaries_referrer_id"), "beneficiaries", ["referrer_id"])
    op.add_column("beneficiaries", sa.Column("connection_started_on", sa.Date(), nullable=True))
    op.add_column("beneficiaries",
                  sa.Column("connection_extension_months", sa.SmallInteger(), nullable=True))
    op.add_column("beneficiaries", sa.Column("connection_extension_reason", sa.Text(), nullable=True))
    op.add_column("beneficiaries",
                  sa.Column("connection_extended_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("beneficiaries", sa.Column("connection_extended_by_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_beneficiaries_connection_extended_by_id_users"), "beneficiaries", "users",
                          ["connection_extended_by_id"], ["id"])
    op.create_check_constraint(op.f("ck_beneficiaries_extension_range"), "beneficiaries",
                               "connection_extension_months BETWEEN 1 AND 12")
    # People who already received a connection product: their period starts at the first one.
    op.execute("""
        UPDATE beneficiaries b SET connection_started_on = f.first_on
          FROM (SELECT d.beneficiary_id, min(d.distributed_on) AS first_on
                  FROM distributions d JOIN products p ON p.id = d.product_id
                 WHERE d.cancelled_at IS NULL AND d.beneficiary_id IS NOT NULL
                   AND p.dimension = 'connexion'
                 GROUP BY d.beneficiary_id) f
         WHERE f.beneficiary_id = b.id
    """)

    # Hand-overs: several lines (distributions) to one person in one act.
    op.create_table(
        "handovers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("beneficiary_id", sa.BigInteger(), nullable=False),
        sa.Column("handed_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("relais_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["beneficiary_id"], ["beneficiaries.id"],
                                name=op.f("fk_handovers_beneficiary_id_beneficiaries")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"],
                                name=op.f("fk_handovers_recorded_by_id_users")),
        sa.ForeignKeyConstraint(["relais_id"], ["relais.id"], name=op.f("fk_handovers_relais_id_relais")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
    )
    op.create_index(op.f("ix_handovers_beneficiary_id"), "handovers", ["beneficiary_id"])
    op.create_index(op.f("ix_handovers_relais_id"), "handovers", ["relais_id"])
    op.execute(rls.tenant_table_sql("handovers", personal=True))
    op.add_column("distributions", sa.Column("handover_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_distributions_handover_id_handovers"), "distributions", "handovers",
                          ["handover_id"], ["id"])
    op.create_index(op.f("ix_distributions_handover_id"), "distributions", ["handover_id"])

    op.execute(_bilan_now())
    _grant_bilan()


def downgrade():
    op.execute(_bilan_0006())
    _grant_bilan()
    op.drop_index(op.f("ix_distributions_handover_id"), table_name="distributions")
    op.drop_constraint(op.f("fk_distributions_handover_id_handovers"), "distributions", type_="foreignkey")
    op.drop_column("distributions", "handover_id")
    op.execute(rls.drop_policy_sql("handovers"))
    op.drop_index(op.f("ix_handovers_relais_id"), table_name="handovers")
    op.drop_index(op.f("ix_handovers_beneficiary_id"), table_name="handovers")
    op.drop_table("handovers")

    op.drop_constraint(op.f("ck_beneficiaries_extension_range"), "beneficiaries", type_="check")
    op.drop_constraint(op.f("fk_beneficiaries_connection_extended_by_id_users"), "beneficiaries",
                       type_="foreignkey")
    for column in ("connection_extended_by_id", "connection_extended_at", "connection_extension_reason",
                   "connection_extension_months", "connection_started_on"):
        op.drop_column("beneficiaries", column)
    op.drop_index(op.f("ix_beneficiaries_referrer_id"), table_name="beneficiaries")
    op.drop_constraint(op.f("fk_beneficiaries_referrer_id_referrers"), "beneficiaries", type_="foreignkey")
    op.drop_column("beneficiaries", "referrer_id")
    op.execute(rls.drop_policy_sql("referrers"))
    op.drop_index(op.f("ix_referrers_relais_id"), table_name="referrers")
    op.drop_table("referrers")

    op.drop_constraint(op.f("ck_accompaniment_sessions_delete_has_reason"), "accompaniment_sessions",
                       type_="check")
    op.drop_constraint(op.f("fk_accompaniment_sessions_deleted_by_id_users"), "accompaniment_sessions",
                       type_="foreignkey")
    for column in ("delete_reason", "deleted_by_id", "deleted_at"):
        op.drop_column("accompaniment_sessions", column)
    op.drop_index(op.f("ix_accompaniment_sessions_theme"), table_name="accompaniment_sessions")
    op.drop_constraint(op.f("fk_accompaniment_sessions_theme_themes"), "accompaniment_sessions",
                       type_="foreignkey")
    # Sessions of a theme added since fall back to "other", the only value the old list allows.
    op.execute("UPDATE accompaniment_sessions SET theme = 'other' WHERE theme NOT IN ("
               + ", ".join(f"'{t}'" for t in OLD_THEMES) + ")")
    op.create_check_constraint(op.f("ck_accompaniment_sessions_theme"), "accompaniment_sessions",
                               "theme IN (" + ", ".join(f"'{t}'" for t in OLD_THEMES) + ")")
    op.execute(rls.drop_policies_sql("themes", ("national_read", "national_insert", "national_update",
                                               "national_delete")))
    op.drop_table("themes")
