"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from relais_platform import create_app

app = create_app()
