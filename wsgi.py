"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from dotenv import load_dotenv

from taskapi import create_app

load_dotenv()  # a .env file, if there is one (development); real env vars win
app = create_app()
