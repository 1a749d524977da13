"""Security headers on every response. Scripts and styles come from the app only."""

from __future__ import annotations

from flask import Flask, request

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
