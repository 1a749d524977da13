"""Security headers on every response (scripts and styles come from the app only), and the
one check every redirect taking a user-supplied address goes through."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from flask import Flask, request

# ASCII control characters, which browsers strip or ignore inside a URL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# The app's own files (styles, scripts, the API docs' assets): the same for everyone.
PUBLIC_ASSET_ENDPOINTS = frozenset({"static", "api_docs.asset"})


def _is_public_asset() -> bool:
    endpoint = request.endpoint or ""
    return endpoint in PUBLIC_ASSET_ENDPOINTS or endpoint.endswith(".static")


def init_app(app: Flask) -> None:
    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if not _is_public_asset():
            # Personal data travels in pages, JSON, PDF and CSV alike, and social structures
            # share PCs: nothing but the app's own assets may be kept by a browser or a proxy.
            headers["Cache-Control"] = "no-store"
        return response


def safe_redirect_target(target: str | None) -> str | None:
    """`target` when it is a path of this site, else None (the caller picks a default).

    Browsers drop tabs and newlines inside a URL and read `\\` as `/`, so `/%09/evil`,
    `/\\evil` and `//evil` all lead to another host: anything carrying a control character or a
    backslash, even percent-encoded (once or twice), is refused, as is anything that is not a
    single leading `/` followed by a path with neither scheme nor host.
    """
    if not isinstance(target, str) or not target:
        return None
    if not target.startswith("/"):
        return None
    decoded = target
    for _ in range(4):  # a double-encoded %2509 becomes a tab once the next hop decodes it
        if _CONTROL.search(decoded) or "\\" in decoded or decoded.startswith("//"):
            return None
        decoded = unquote(decoded)
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
