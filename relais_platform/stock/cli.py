"""`flask --app wsgi stock ...` commands (skeleton)."""

from flask.cli import AppGroup

stock_cli = AppGroup("stock", help="Stock national et inventaires.")
