"""Two relais holding one object of every tenant-owned kind, for the isolation matrices.

Relais A owns an order, a distribution, a beneficiary (with an accompaniment session), a
training enrolment and record, a coaching session with a next step, a custom milestone, a
reporting event and a bilan export requested by its admin;
relais B has its own admin, worker and coach. The matrices (tests/test_api_isolation.py,
tests/test_web_isolation.py) check that B's users get 404 for every one of A's ids.
"""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from relais_platform.accounts.models import Role, User
from relais_platform.beneficiaries import referrers
from relais_platform.beneficiaries.models import AccompanimentSession, Beneficiary
from relais_platform.extensions import db
from relais_platform.imports.models import ImportKind, ImportRun, ImportStatus
from relais_platform.orm import utcnow
from relais_platform.reporting.funders.models import Convention, Funder, FunderKind
from relais_platform.reporting.models import EventKind, ReportExport, ReportingEvent
from relais_platform.stock.distributions import handovers
from relais_platform.stock.distributions.models import Distribution, Handover
from relais_platform.stock.locations import stocktakes
from relais_platform.stock.locations.models import Stocktake, StocktakeLine
from relais_platform.stock.orders.models import Order
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais
from relais_platform.training.models import (
    CoachingKind,
    CoachingSession,
    CustomMilestone,
    Enrolment,
    EnrolmentStatus,
    NextStep,
    TrainingRecord,
)
from tests.factories import (
    bearer,
    deliver_to_relais,
    make_accompaniment,
    make_beneficiary,
    make_distribution,
    make_order,
    make_product,
    make_relais,
    make_training_module,
    make_training_session,
    make_user,
    sign_in_cookie,
    stock_up,
)

SKU = "REC-ISO"
# An id no row has: the answer for another tenant's id must be the answer for this one.
MISSING = 987_654_321


def _staff(role: Role, relais=None) -> User:
    # No password: hashing would slow the matrix down for nothing (they sign in by token/session).
    return make_user(role, relais, password=None)  # type: ignore[arg-type]


def build_world() -> SimpleNamespace:
    """Call in an app context; everything is committed. Returns ids, tokens and session ids."""
    a = make_relais(name="Relais Alpha", city="Arcachon", postcode="33120")
    b = make_relais(name="Relais Beta", city="Bayonne", postcode="64100")
    for relais in (a, b):
        relais.terms_accepted_at = utcnow()  # else their admins are sent to the terms page
    users = {
        "admin_a": _staff(Role.RELAIS_ADMIN, a), "worker_a": _staff(Role.RELAIS_WORKER, a),
        "admin_b": _staff(Role.RELAIS_ADMIN, b), "worker_b": _staff(Role.RELAIS_WORKER, b),
        "coach_b": _staff(Role.COACH), "national": _staff(Role.NATIONAL),
    }
    b.coach_id = users["coach_b"].id
    db.session.commit()
    w = SimpleNamespace(a=a.id, b=b.id, missing=MISSING,
                        **{name: user.id for name, user in users.items()})
    w.headers = {name: bearer(user) for name, user in users.items()}
    w.session_ids = {name: user.get_id() for name, user in users.items()}

    recharge = make_product(sku=SKU, name="Recharge isolation")
    stock_up(recharge, quantity=40)
    deliver_to_relais(w.a, recharge, quantity=10)
    deliver_to_relais(w.b, recharge, quantity=10)
    w.order = make_order(w.a, [(SKU, 2)])
    w.distribution = make_distribution(w.a, SKU)
    w.person = make_beneficiary(w.a, first_name="Alphonsine", last_name="Arcachonnaise")
    w.person_b = make_beneficiary(w.b, first_name="Bertille", last_name="Bayonnaise")
    w.accompaniment = make_accompaniment(w.a, [w.person])
    with tenant_session(db.session, TenantScope(relais_id=w.a)):
        w.handover = handovers.record({"beneficiary_id": w.person,
                                       "lines": [{"sku": SKU, "price_cents": 0}]}).id
        w.referrer = referrers.create("CCAS d'Arcachon", "ccas").id
        w.stocktake = stocktakes.start().id
        db.session.commit()

    module = make_training_module()
    w.training_session = make_training_session(module, starts_at=utcnow() - timedelta(days=3))
    with tenant_session(db.session, TenantScope(relais_id=w.a)):
        db.session.add(Enrolment(session_id=w.training_session, user_id=w.worker_a,
                                 status=EnrolmentStatus.ENROLLED))
        event = ReportingEvent(kind=EventKind.EVENT, title="Forum Alpha", held_on=date(2026, 1, 8))
        export = ReportExport(requested_by_id=w.admin_a, relais_id=w.a, year=2026, format="csv",
                              scope={})
        upload = ImportRun(relais_id=w.a, uploaded_by_id=w.admin_a, kind=ImportKind.USERS,
                           status=ImportStatus.CHECKED, filename="equipe.csv",
                           content=b"email,name,role\nintrus@example.org,Intrus,relais_worker\n", rows=1,
                           valid_rows=1)
        db.session.add_all([event, export, upload])
        db.session.commit()
        w.event, w.export, w.upload = event.id, export.id, upload.id
    # Records and coaching rows are written by the national team and coaches only (RLS).
    with tenant_session(db.session, TenantScope(all_relais=True)):
        record = TrainingRecord(relais_id=w.a, user_id=w.worker_a, module_id=module,
                                session_id=w.training_session,
                                completed_at=utcnow() - timedelta(days=2))
        coaching = CoachingSession(relais_id=w.a, held_on=date(2026, 1, 5), kind=CoachingKind.VISIT)
        step = NextStep(coaching_session=coaching, relais_id=w.a, text="Commander des SIM")
        milestone = CustomMilestone(relais_id=w.a, title="Premier atelier")
        db.session.add_all([record, coaching, step, milestone])
        # A funder's agreement covering relais A only: B's people never see it.
        funder = Funder(name="Fondation Alpha", kind=FunderKind.FOUNDATION)
        convention = Convention(funder=funder, name="Convention Alpha", starts_on=date(2026, 1, 1),
                                ends_on=date(2026, 12, 31), relais_ids=[w.a], targets={"events": 3})
        db.session.add_all([funder, convention])
        db.session.commit()
        w.record, w.step, w.milestone = record.id, step.id, milestone.id
        w.convention = convention.id
    db.session.remove()
    return w


def snapshot_of_a(app: Flask, w: SimpleNamespace) -> tuple:
    """What B's requests must leave untouched on A's side."""
    with app.app_context(), tenant_session(db.session, TenantScope(relais_id=w.a)) as session:
        # Personal data: visible inside its own relais only.
        personal = (session.get(Beneficiary, w.person).last_name,
                    session.get(Distribution, w.distribution).cancelled_at,
                    session.get(ReportingEvent, w.event).title,
                    session.get(AccompanimentSession, w.accompaniment).deleted_at,
                    session.get(AccompanimentSession, w.accompaniment).duration_minutes,
                    session.scalar(select(func.count()).select_from(AccompanimentSession)),
                    session.scalar(select(func.count()).select_from(Handover)),
                    session.get(Beneficiary, w.person).connection_extension_months,
                    session.scalar(select(func.count()).select_from(ReportExport)),
                    session.get(ImportRun, w.upload).status)
    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)) as session:
        relais = session.get(Relais, w.a)
        worker = session.get(User, w.worker_a)
        return (
            relais.status, relais.name, relais.contact_phone, relais.coach_id,
            worker.active, worker.role,
            session.get(Order, w.order).status,
            session.get(NextStep, w.step).done_at, session.get(CustomMilestone, w.milestone).done_at,
            session.scalar(select(func.count()).select_from(Enrolment)),
            session.scalar(select(func.count()).select_from(CoachingSession)),
            session.scalar(select(func.count()).select_from(CustomMilestone)),
            session.scalar(select(func.count()).select_from(User)),
            session.scalar(select(func.count()).select_from(Order)),
            session.get(Stocktake, w.stocktake).status, session.scalar(
                select(func.count()).select_from(StocktakeLine).where(StocktakeLine.counted.is_not(None))),
            personal,
        )


def browser(app: Flask, session_id: str) -> FlaskClient:
    """A client signed in with this flask-login id (and the 'strong' protection fingerprint)."""
    client = app.test_client()
    sign_in_cookie(app, client, session_id)
    return client
