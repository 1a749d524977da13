"""A small network with a known annual bilan, shared by the reporting tests.

Year Y is last calendar year, P the one before (both over, so every date is in the past).
Relais A (Gironde, coach's portfolio), B (Hautes-Alpes, portfolio), C (Gironde, no coach).

Expected for A in Y: named people 2 (person_a: two sessions and a recharge; person_a2: a
session and a phone) + anonymous 5 (3 at a session, an anonymous SIM, an anonymous kit)
= 7; hours (120 min × 5) + (60 min × 1) = 11; parcours completed 1; events 2 (40
participants), governance 1; distributions REC-D 2 (a cancelled one excluded), PHONE-D 1,
SIM-D 1, KIT-CR 1; professionals trained 1. In P: person_a at one session with 1 anonymous
(90 min × 2 = 3 h), 3 recharges to an anonymous person, one governance participation;
person_a2 registered in P (new beneficiary of P), person_a in Y.
B in Y: person_b at a session with 2 anonymous (30 min × 3), a recharge to person_b.
C in Y: a session with 4 anonymous (60 min).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import text

from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.stock.scope import local_today
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais
from tests.factories import (
    bearer,
    deliver_to_relais,
    make_accompaniment,
    make_beneficiary,
    make_distribution,
    make_distribution_world,
    make_product,
    make_relais,
    make_training_module,
    make_training_session,
    make_user,
    stock_up,
)

NAMES = ("Zénobie", "Quastreaux", "Anatolie", "Vermicelle", "Ildefonse", "Brabançon")


def _at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo("Europe/Paris"))


def make_bilan_world(owner_engine) -> SimpleNamespace:
    y = local_today().year - 1
    p = y - 1
    w = make_distribution_world()
    kit = make_product(sku="KIT-CR", name="Kit Connect Refugees", category="kit", unit_price_cents=0,
                       max_resale_price_cents=0)
    stock_up(kit, quantity=5)
    deliver_to_relais(w.a, kit, quantity=3)
    b = db.session.get(Relais, w.b)
    b.postcode, b.departement, b.city = "05000", "05", "Gap"
    db.session.commit()
    c = make_relais(name="Relais Hors Portefeuille")
    w.c = c.id
    w.c_admin = bearer(make_user(Role.RELAIS_ADMIN, c))
    trainee = make_user(Role.RELAIS_WORKER, db.session.get(Relais, w.a))
    w.trainee_id = trainee.id
    w.other_coach = bearer(make_user(Role.COACH))
    db.session.remove()

    w.person_a2 = make_beneficiary(w.a, first_name="Anatolie", last_name="Vermicelle")
    with tenant_session(db.session, TenantScope(relais_id=w.a)):
        from relais_platform.beneficiaries import accompaniment

        parcours_id = accompaniment.create_parcours("Initiation", "initiation", 2).id
        db.session.commit()
    make_accompaniment(w.a, [w.person_a, w.person_a2], date=date(y, 3, 10), duration_minutes=120,
                       anonymous_count=3, parcours_id=parcours_id)
    make_accompaniment(w.a, [w.person_a], date=date(y, 4, 10), duration_minutes=60,
                       parcours_id=parcours_id)
    make_accompaniment(w.a, [w.person_a], date=date(p, 6, 1), duration_minutes=90, anonymous_count=1)
    make_accompaniment(w.b, [w.person_b], date=date(y, 2, 1), duration_minutes=30, anonymous_count=2)
    make_accompaniment(w.c, [], date=date(y, 9, 1), duration_minutes=60, anonymous_count=4)

    make_distribution(w.a, "REC-D", quantity=2, beneficiary_id=w.person_a, date=date(y, 5, 1))
    make_distribution(w.a, "PHONE-D", serial=w.phones[0], beneficiary_id=w.person_a2, date=date(y, 5, 2))
    make_distribution(w.a, "SIM-D", serial=w.sims[0], date=date(y, 5, 3))
    make_distribution(w.a, "KIT-CR", programme="connect_refugees", date=date(y, 5, 4))
    cancelled = make_distribution(w.a, "REC-D", beneficiary_id=w.person_a, date=date(y, 5, 5))
    make_distribution(w.a, "REC-D", quantity=3, date=date(p, 7, 1))
    make_distribution(w.b, "REC-D", beneficiary_id=w.person_b, date=date(y, 6, 1))
    with tenant_session(db.session, TenantScope(relais_id=w.a)):
        from relais_platform.stock.distributions import services as distributions

        distributions.cancel(cancelled, "saisie en double")
        db.session.commit()

    from relais_platform.reporting import events

    with tenant_session(db.session, TenantScope(relais_id=w.a)):
        events.create({"kind": "event", "title": "Journée portes ouvertes", "date": date(y, 10, 1),
                       "participants": 40})
        events.create({"kind": "event", "title": "Forum de l'inclusion", "date": date(y, 11, 1)})
        events.create({"kind": "governance", "title": "Comité de pilotage", "date": date(y, 3, 1)})
        events.create({"kind": "governance", "title": "Groupe de travail", "date": date(p, 3, 1)})
        db.session.commit()

    module_id = make_training_module()
    session_id = make_training_session(module_id, starts_at=_at_noon(date(y, 2, 1)))
    with tenant_session(db.session, TenantScope(all_relais=True)):
        from relais_platform.training.models import TrainingRecord

        db.session.add(TrainingRecord(relais_id=w.a, user_id=w.trainee_id, module_id=module_id,
                                      session_id=session_id, completed_at=_at_noon(date(y, 2, 1))))
        db.session.commit()

    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE beneficiaries SET created_at = :at WHERE id = :id"),
                     # Just after midnight in Paris: still the previous year in UTC.
                     [{"at": datetime(y, 1, 1, 0, 30, tzinfo=ZoneInfo("Europe/Paris")), "id": w.person_a},
                      {"at": _at_noon(date(p, 12, 31)) + timedelta(hours=11), "id": w.person_a2},
                      {"at": _at_noon(date(y, 1, 6)), "id": w.person_b}])
    w.y, w.p = y, p
    db.session.remove()
    return w
