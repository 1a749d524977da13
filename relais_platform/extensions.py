"""Extensions, created unbound here and bound to the app in `create_app`."""

from __future__ import annotations

from flask.globals import _cv_app, _cv_request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from relais_platform.replica import RoutingSession

# Stable constraint names, so that Alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _unit_of_work_scope() -> int:
    """One session per request; outside requests, one per app context (jobs, commands).

    Flask reuses an app context already pushed when a request starts, so scoping by app
    context alone would let two requests share a session (and its bound relais).
    """
    ctx = _cv_request.get(None) or _cv_app.get(None)
    return id(ctx)


db = SQLAlchemy(model_class=Base,
                session_options={"scopefunc": _unit_of_work_scope, "class_": RoutingSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
rest_api = Api()
