"""Load test: N users, each sending a request every INTERVAL seconds across every role's main
pages and API calls, against a running server; p50/p95/p99 and errors per page, then the
saturation throughput (the same users sending back to back).

    .venv/bin/flask --app wsgi perf seed --scale national --logins logins.json
    .venv/bin/gunicorn -w 2 --threads 4 -b 127.0.0.1:8000 wsgi:app &
    .venv/bin/python benchmarks/load.py --base-url http://127.0.0.1:8000 --logins logins.json

Each role signs in once on the web (password, then the two-factor code for national and coach)
and once on the API (a Bearer token); its users share those credentials. Requests go to the
loopback only. Standard library only (urllib, threads), so it runs from any Python 3.11.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

YEAR = date.today().year
PAGES: dict[str, list[str]] = {
    "national": [
        "/dashboards/national", "/api/v1/dashboards/national", f"/rapports/bilan?year={YEAR}",
        f"/api/v1/reports/annual?year={YEAR}", f"/api/v1/reports/annual?year={YEAR - 1}", "/coaching/network",
        "/stock/orders", "/api/v1/orders", "/api/v1/orders?page=2000&per_page=50", "/stock/national",
        "/api/v1/stock", "/distributions/national", "/api/v1/relais",
    ],
    "coach": [
        "/dashboards/coach", "/api/v1/dashboards/coach", "/coaching/", "/api/v1/coaching/portfolio",
        f"/rapports/bilan?year={YEAR}",
    ],
    "relais_admin": [
        "/", "/dashboards/relais", "/api/v1/dashboards/relais", "/beneficiaires/?q=amina", "/stock/orders",
        "/stock/inventory", "/api/v1/inventory", "/distributions/reports", f"/rapports/bilan?year={YEAR}",
    ],
    "relais_worker": [
        "/", "/beneficiaires/?q=nom1", "/api/v1/beneficiaries?q=jean", "/distributions/",
        "/api/v1/distributions", "/beneficiaires/accompagnement", "/api/v1/accompaniments", "/training/me",
    ],
}


@dataclass
class Role:
    name: str
    opener: urllib.request.OpenerDirector
    bearer: str


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, page: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latencies[page].append(seconds)
            if not ok:
                self.errors[page] += 1


def _totp(secret: str) -> str:
    import base64
    import hashlib
    import hmac
    import struct

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if not found:
        raise SystemExit("no CSRF token on the sign-in page")
    return found[1]


def sign_in(base: str, role: str, login: dict) -> Role:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    form = {"email": login["email"], "password": login["password"], "csrf_token": _csrf(page)}
    answer = opener.open(f"{base}/login", urllib.parse.urlencode(form).encode())
    if login.get("totp_secret"):
        page = answer.read().decode()
        code = {"code": _totp(login["totp_secret"]), "csrf_token": _csrf(page)}
        opener.open(f"{base}/login/code", urllib.parse.urlencode(code).encode())
        time.sleep(31)  # the next code (for the API token): a code is accepted once
    body = {"email": login["email"], "password": login["password"]}
    if login.get("totp_secret"):
        body["totp"] = _totp(login["totp_secret"])
    request = urllib.request.Request(f"{base}/api/v1/auth/tokens", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    token = json.loads(urllib.request.urlopen(request).read())["token"]
    return Role(role, opener, token)


def _get(base: str, role: Role, page: str) -> bool:
    if page.startswith("/api/"):
        request = urllib.request.Request(base + page, headers={"Authorization": f"Bearer {role.bearer}"})
        opener = urllib.request.build_opener()
    else:
        request, opener = urllib.request.Request(base + page), role.opener
    try:
        with opener.open(request, timeout=120) as response:
            response.read()
            return response.status < 400
    except (urllib.error.HTTPError, urllib.error.URLError, TimeoutError):
        return False  # an error status, a refused connection or no answer in 120 s: an error


def run(base: str, roles: list[Role], users: int, interval: float | None, seconds: float) -> Results:
    """`users` threads, role by role in turn, each walking its role's pages; one request every
    `interval` seconds (None: back to back) for `seconds`."""
    results = Results()
    deadline = time.monotonic() + seconds

    def user(number: int) -> None:
        role = roles[number % len(roles)]
        pages = PAGES[role.name]
        step = number
        next_at = time.monotonic() + (interval or 0) * number / users
        while time.monotonic() < deadline:
            if interval:
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
            page = pages[step % len(pages)]
            step += 1
            started = time.perf_counter()
            ok = _get(base, role, page)
            results.add(f"{role.name} {page}", time.perf_counter() - started, ok)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1] if len(values) > 1 \
        else values[0]


def report(title: str, results: Results, seconds: float) -> None:
    print(f"\n{title}\n{'page':<62} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'err':>4} "
          f"{'req/s':>6}")
    for page, values in sorted(results.latencies.items()):
        print(f"{page:<62} {len(values):>5} {_quantile(values, .5) * 1000:>8.0f} "
              f"{_quantile(values, .95) * 1000:>8.0f} {_quantile(values, .99) * 1000:>8.0f} "
              f"{results.errors.get(page, 0):>4} {len(values) / seconds:>6.1f}")
    every = [v for values in results.latencies.values() for v in values]
    print(f"{'all':<62} {len(every):>5} {_quantile(every, .5) * 1000:>8.0f} "
          f"{_quantile(every, .95) * 1000:>8.0f} {_quantile(every, .99) * 1000:>8.0f} "
          f"{sum(results.errors.values()):>4} {len(every) / seconds:>6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--logins", type=Path, required=True, help="JSON written by `perf seed --logins`")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between a user's requests")
    parser.add_argument("--seconds", type=float, default=120.0, help="duration of the paced run")
    parser.add_argument("--saturation-seconds", type=float, default=60.0, help="0: no saturation run")
    args = parser.parse_args()
    host = urllib.parse.urlparse(args.base_url).hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise SystemExit("the load test only targets this machine (loopback)")
    logins = json.loads(args.logins.read_text())
    roles = [sign_in(args.base_url, role, logins[role]) for role in PAGES if role in logins]
    for role in roles:  # warm-up: one request per page
        for page in PAGES[role.name]:
            _get(args.base_url, role, page)
    paced = run(args.base_url, roles, args.users, args.interval, args.seconds)
    report(f"{args.users} users, one request every {args.interval:g} s each, {args.seconds:g} s", paced,
           args.seconds)
    if args.saturation_seconds:
        saturated = run(args.base_url, roles, args.users, None, args.saturation_seconds)
        report(f"saturation: {args.users} users back to back, {args.saturation_seconds:g} s", saturated,
               args.saturation_seconds)


if __name__ == "__main__":
    main()
