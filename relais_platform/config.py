"""Settings, read from the environment.

`DATABASE_URL` is the owner connection: migrations and the schema belong to it. The web
app and the workers connect as `APP_DB_ROLE`, a role that owns nothing and has no
BYPASSRLS, so PostgreSQL's row-level security applies to every query they send.
"""

from __future__ import annotations

import os
from datetime import timedelta

from sqlalchemy.engine import make_url


def app_database_url(owner_url: str, role: str, password: str | None) -> str:
    """The runtime URL: same server and database as the owner's, as the app role."""
    url = make_url(owner_url).set(username=role, password=password)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _owner_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# Outside production only, when no key is given: anyone can read this one.
DEV_TOTP_KEY = "ZGV2LW9ubHktdG90cC1rZXktbm90LXNlY3JldC0wMDA="


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Fernet key(s) encrypting TOTP secrets at rest, comma-separated, the first one encrypting
    # (`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).
    TOTP_ENCRYPTION_KEY = os.environ.get("TOTP_ENCRYPTION_KEY", "")
    ENV_NAME = os.environ.get("RELAIS_ENV", "production")

    DATABASE_URL = os.environ.get("DATABASE_URL", "")
    APP_DB_ROLE = os.environ.get("APP_DB_ROLE", "relais_app")
    APP_DB_PASSWORD = os.environ.get("APP_DB_PASSWORD") or None
    APP_DATABASE_URL = os.environ.get("APP_DATABASE_URL", "")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # A streaming replica the reports read from (docs/operations.md, scaling out); unset: none.
    DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL") or None
    # How long a report waits for the replica to replay the primary's last commit.
    REPLICA_WAIT_SECONDS = float(os.environ.get("REPLICA_WAIT_SECONDS", "0.5"))
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    RQ_QUEUES = ("default", "mail", "reports")
    RQ_ASYNC = True
    # Seconds: how often a worker refreshes the heartbeat of the job it runs, and how often
    # it looks for jobs abandoned by a dead worker (see worker.run_worker).
    RQ_JOB_MONITORING_INTERVAL = 5
    RQ_MAINTENANCE_INTERVAL = 15

    # Flask-Limiter: the login throttle must be shared by every web node.
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_MAX_FAILURES = 5
    LOGIN_FAILURE_WINDOW = timedelta(minutes=15)

    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    WTF_CSRF_TIME_LIMIT = None  # bound to the session instead

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    LANGUAGES = ("fr", "en")

    INVITATION_TTL = timedelta(days=7)
    PASSWORD_RESET_TTL = timedelta(hours=1)
    API_TOKEN_TTL = timedelta(days=30)
    PASSWORD_MIN_LENGTH = 12

    # E-mail: SMTP when MAIL_SERVER is set, otherwise files in the instance outbox.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "1") == "1"
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "Relais Numérique <ne-pas-repondre@emmaus-connect.org>")
    MAIL_OUTBOX = os.environ.get("MAIL_OUTBOX", "")

    # Monthly stock reports of month M are late after this day of M+1.
    STOCK_REPORT_DUE_DAY = int(os.environ.get("STOCK_REPORT_DUE_DAY", "10"))

    # An uploaded import file never applied is dropped after this many days (docs/privacy.md).
    IMPORT_RETENTION_DAYS = int(os.environ.get("IMPORT_RETENTION_DAYS", "7"))

    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # Behind a reverse proxy that sets X-Forwarded-For/-Proto/-Host (one hop).
    TRUST_PROXY = os.environ.get("TRUST_PROXY") == "1"

    # Stripe: unset in the embedded quick start, where the national team records payments
    # by hand. STRIPE_API_BASE points the SDK elsewhere (tests use a loopback stand-in).
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")

    API_TITLE = "Relais Platform API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    # The interactive docs (/api/v1/docs) are served by relais_platform/api/docs_assets.py
    # from the swagger-ui-bundle package: no CDN, no inline script.
    API_SPEC_OPTIONS = {
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session"},
            }
        },
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
    }
    API_PAGINATION_MAX = 200

    @classmethod
    def finalize(cls, config: dict) -> None:
        """Derive the settings that depend on others, once overrides are applied."""
        if not config.get("DATABASE_URL"):
            raise RuntimeError("DATABASE_URL is not set (the quick start sets it for you).")
        config["MIGRATION_DATABASE_URI"] = _owner_url(config["DATABASE_URL"])
        config["SQLALCHEMY_DATABASE_URI"] = config.get("APP_DATABASE_URL") or app_database_url(
            config["DATABASE_URL"], config["APP_DB_ROLE"], config["APP_DB_PASSWORD"]
        )
        redis_url = config["REDIS_URL"]
        if redis_url.startswith("unix://"):  # limits spells a socket path differently
            redis_url = "redis+" + redis_url
        config.setdefault("RATELIMIT_STORAGE_URI", redis_url)
        if not config.get("SECRET_KEY"):
            if config["ENV_NAME"] == "production":
                raise RuntimeError("SECRET_KEY must be set in production.")
            config["SECRET_KEY"] = "dev-only-not-secret"
        if not config.get("TOTP_ENCRYPTION_KEY"):
            if config["ENV_NAME"] == "production":
                raise RuntimeError("TOTP_ENCRYPTION_KEY must be set in production.")
            config["TOTP_ENCRYPTION_KEY"] = DEV_TOTP_KEY
        if config["ENV_NAME"] in ("development", "test"):
            # Local HTTP: a Secure cookie would never come back.
            config["SESSION_COOKIE_SECURE"] = False
            config["REMEMBER_COOKIE_SECURE"] = False


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    WTF_CSRF_ENABLED = False
    PUBLIC_BASE_URL = "http://localhost"
    TOTP_ENCRYPTION_KEY = "dGVzdC1vbmx5LXRvdHAta2V5LW5vdC1zZWNyZXQtMDA="
