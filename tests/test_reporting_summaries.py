"""The reporting summaries (migration 0020) stay exact through every write the front desk makes:
sessions recorded, corrected, deleted; distributions recorded and cancelled; people merged and
erased. After random sequences of those writes, the summaries equal what the facts make
(`reporting_summaries_drift`) and the reports' figures equal counts taken from the facts, for
whole-year, whole-month and ragged periods."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from relais_platform.beneficiaries import accompaniment, registry, rights
from relais_platform.beneficiaries.models import AccompanimentSession, Beneficiary
from relais_platform.domain import DomainError
from relais_platform.extensions import db
from relais_platform.reporting.summaries import drift
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.distributions import services as distributions
from relais_platform.stock.distributions.models import Distribution
from relais_platform.tenancy import TenantScope, tenant_session
from tests.factories import deliver_to_relais, make_beneficiary, stock_up
from tests.reporting_helpers import make_bilan_world

FIRST_NAMES = ("Odilon", "Perpétue", "Théodule", "Eulalie", "Sosthène", "Philomène", "Anselme", "Zéphirine")
LAST_NAMES = ("Carabistouille", "Vermoulu", "Tarabiscot", "Pimprenelle", "Galimatias", "Escarbille")


@pytest.fixture
def world(app_ctx, owner_engine):
    return make_bilan_world(owner_engine)


def _facts(owner_engine, relais_ids: list[int], lo: date, hi: date) -> dict[str, int]:
    """The figures counted from the facts themselves (as the superuser: no policy)."""
    params = {"ids": relais_ids, "lo": lo, "hi": hi}
    with owner_engine.connect() as conn:
        named = conn.scalar(text("""
            SELECT count(*) FROM (
              SELECT ap.beneficiary_id FROM accompaniment_participants ap
                JOIN accompaniment_sessions s ON s.id = ap.session_id
               WHERE s.deleted_at IS NULL AND s.held_on BETWEEN :lo AND :hi AND ap.relais_id = ANY(:ids)
              UNION
              SELECT beneficiary_id FROM distributions
               WHERE cancelled_at IS NULL AND beneficiary_id IS NOT NULL
                 AND distributed_on BETWEEN :lo AND :hi AND relais_id = ANY(:ids)) reached"""), params)
        sessions, minutes = conn.execute(text("""
            SELECT count(*), coalesce(sum(s.duration_minutes * (s.anonymous_count +
                   (SELECT count(*) FROM accompaniment_participants p WHERE p.session_id = s.id))), 0)
              FROM accompaniment_sessions s
             WHERE s.deleted_at IS NULL AND s.held_on BETWEEN :lo AND :hi AND s.relais_id = ANY(:ids)"""),
            params).one()
        profiles = conn.execute(text("""
            SELECT 'situation', coalesce(b.situation, 'unknown'), count(*) FROM beneficiaries b
             WHERE b.id IN (SELECT ap.beneficiary_id FROM accompaniment_participants ap
                              JOIN accompaniment_sessions s ON s.id = ap.session_id
                             WHERE s.deleted_at IS NULL AND s.held_on BETWEEN :lo AND :hi
                               AND ap.relais_id = ANY(:ids)
                            UNION
                            SELECT beneficiary_id FROM distributions
                             WHERE cancelled_at IS NULL AND distributed_on BETWEEN :lo AND :hi
                               AND relais_id = ANY(:ids))
             GROUP BY 2"""), params).all()
        handed = dict(conn.execute(text("""
            SELECT p.sku, sum(d.quantity) FROM distributions d JOIN products p ON p.id = d.product_id
             WHERE d.cancelled_at IS NULL AND d.distributed_on BETWEEN :lo AND :hi AND d.relais_id = ANY(:ids)
             GROUP BY p.sku"""), params).all())
    return {"named": named, "sessions": sessions, "minutes": int(minutes),
            **{f"sku:{sku}": int(quantity) for sku, quantity in handed.items()},
            **{f"{metric}:{label}": int(count) for metric, label, count in profiles}}


def _reported(relais_ids: list[int], lo: date, hi: date) -> dict[str, int]:
    """The same figures as the report's database function gives them (network scope)."""
    with db.engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        rows = conn.execute(text(
            "SELECT metric, label, value FROM activity_personal_counts(:ids, :lo, :hi, 'Europe/Paris', true)"
        ),
            {"ids": relais_ids, "lo": lo, "hi": hi}).all()
    figures = {"named": 0, "sessions": 0, "minutes": 0}
    for metric, label, value in rows:
        if metric in ("named", "sessions", "minutes"):
            figures[metric] = int(value or 0)
        elif metric in ("sku", "situation") and value:
            figures[f"{metric}:{label}"] = int(value)
    return figures


def _periods(y: int) -> list[tuple[date, date]]:
    return [
        (date(y, 1, 1), date(y, 12, 31)),  # a whole year: month summaries alone
        (date(y, 3, 1), date(y, 5, 31)),  # whole months
        (date(y - 1, 11, 15), date(y, 2, 10)),  # across years, ragged at both ends
        (date(y, 3, 5), date(y, 3, 20)),  # inside one month: the facts alone
        (date(y, 4, 10), date(y, 4, 10)),  # one day
    ]


class Desk:
    """Random front-desk writes in one relais, each through its service, each committed."""

    def __init__(self, world, rng: random.Random) -> None:
        self.relais_id, self.rng, self.y = world.a, rng, world.y
        self.people = [world.person_a, world.person_a2]
        for first, last in zip(FIRST_NAMES, LAST_NAMES * 2, strict=False):
            self.people.append(make_beneficiary(world.a, first_name=first, last_name=last))
        self.recharge = db.session.get_one(Product, world.recharge_id)
        stock_up(self.recharge, quantity=500)
        deliver_to_relais(world.a, self.recharge, quantity=500)

    def day(self) -> date:
        return date(self.y - 1, 11, 1) + timedelta(days=self.rng.randrange(0, 426))

    def _live_sessions(self) -> list[int]:
        return list(db.session.scalars(
            db.select(AccompanimentSession.id).where(AccompanimentSession.deleted_at.is_(None))))

    def _live_distributions(self) -> list[int]:
        return list(db.session.scalars(db.select(Distribution.id).where(Distribution.cancelled_at.is_(None))))

    def record_session(self) -> None:
        named = self.rng.sample(self.people, self.rng.randint(0, 3))
        accompaniment.record_session({
            "kind": "atelier_thematique", "theme": self.rng.choice(["health", "employment"]),
            "date": self.day(),
            "duration_minutes": self.rng.choice([30, 60, 90]), "beneficiary_ids": named,
            "anonymous_count": self.rng.randint(0 if named else 1, 3)})

    def correct_session(self) -> None:
        change = self.rng.choice([
            {"date": self.day()}, {"duration_minutes": self.rng.choice([45, 120])},
            {"beneficiary_ids": self.rng.sample(self.people, self.rng.randint(1, 3))},
            {"anonymous_count": self.rng.randint(1, 4)}])
        accompaniment.update_session(self.rng.choice(self._live_sessions()), change)

    def delete_session(self) -> None:
        accompaniment.delete_session(self.rng.choice(self._live_sessions()), "saisie en double")

    def distribute(self) -> None:
        distributions.record({"sku": "REC-D", "price_cents": 0, "quantity": self.rng.randint(1, 2),
                              "beneficiary_id": self.rng.choice(self.people), "date": self.day()})

    def cancel_distribution(self) -> None:
        distributions.cancel(self.rng.choice(self._live_distributions()), "erreur de saisie")

    def merge(self) -> None:
        if len(self.people) > 4:
            keep, other = self.rng.sample(self.people, 2)
            rights.merge(db.session.get_one(Beneficiary, keep), db.session.get_one(Beneficiary, other))
            self.people.remove(other)

    def edit_profile(self) -> None:
        person = db.session.get_one(Beneficiary, self.rng.choice(self.people))
        registry.update_record(person, self.rng.choice([
            {"situation": self.rng.choice(["job_seeker", "employed", "retired", None])},
            {"birth_year": self.rng.choice([1950, 1990, 2004, None])},
            {"housing": self.rng.choice(["housed", "homeless", None])}]))

    def erase(self) -> None:
        rights.erase(db.session.get_one(Beneficiary, self.rng.choice(self.people)))

    def act(self) -> str:
        name = self.rng.choices(
            ["record_session", "correct_session", "delete_session", "distribute", "cancel_distribution",
             "merge", "edit_profile", "erase"], weights=[5, 4, 1, 5, 2, 1, 2, 1])[0]
        with tenant_session(db.session, TenantScope(relais_id=self.relais_id)):
            try:
                getattr(self, name)()
                db.session.commit()
            except DomainError:  # a write the rules refuse (e.g. past a connection period)
                db.session.rollback()
                return f"{name} (refused)"
        return name


def test_the_summaries_start_equal_to_the_facts(world):
    assert drift() == dict.fromkeys(("reporting_person_days", "reporting_people_counts",
                                     "reporting_distribution_months", "reporting_session_months",
                                     "reporting_relais_days"), 0)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_writes_keep_summaries_and_reports_exact(world, owner_engine, seed):
    desk = Desk(world, random.Random(seed))
    done = []
    for round_ in range(4):
        done += [desk.act() for _ in range(12)]
        assert set(drift().values()) == {0}, done
        for lo, hi in _periods(world.y):
            ids = [world.a, world.b]
            assert _reported(ids, lo, hi) == _facts(owner_engine, ids, lo, hi), (round_, lo, hi, done)
    # The sequence did exercise every kind of write.
    assert {name for name in done if "refused" not in name} >= {
        "record_session", "correct_session", "distribute", "cancel_distribution"}


def test_a_merge_counts_one_person_once_and_an_erasure_keeps_the_count(world, owner_engine):
    y = world.y
    twin = make_beneficiary(world.a, first_name="Anselme", last_name="Galimatias")
    with tenant_session(db.session, TenantScope(relais_id=world.a)):
        accompaniment.record_session({"kind": "permanence", "theme": "health", "date": date(y, 6, 2),
                                      "duration_minutes": 60, "beneficiary_ids": [twin, world.person_a],
                                      "anonymous_count": 0})
        db.session.commit()
    june = (date(y, 6, 1), date(y, 6, 30))
    assert _reported([world.a], *june)["named"] == 2
    with tenant_session(db.session, TenantScope(relais_id=world.a)):
        rights.merge(db.session.get_one(Beneficiary, world.person_a), db.session.get_one(Beneficiary, twin))
        db.session.commit()
    assert _reported([world.a], *june)["named"] == 1
    with tenant_session(db.session, TenantScope(relais_id=world.a)):
        rights.erase(db.session.get_one(Beneficiary, world.person_a))
        db.session.commit()
    # Erased: no longer described (its profile reads "unknown"), still counted as reached.
    assert _reported([world.a], *june) == _facts(owner_engine, [world.a], *june)
    assert set(drift().values()) == {0}


def test_verify_command_reports_a_drift(app, world, owner_engine):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reporting", "verify"])
    assert result.exit_code == 0, result.output
    assert "conformes" in result.output
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE reporting_session_months SET minutes = minutes + 1 WHERE relais_id = :a"),
                     {"a": world.a})
    result = runner.invoke(args=["reporting", "verify"])
    assert result.exit_code == 1
    assert "reporting_session_months :" in result.output
    assert "reporting_person_days" not in result.output
