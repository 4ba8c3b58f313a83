"""Web fixtures: the app around the test engine, clients logged in as demo users, tokens."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web_helpers import session_login
from web.app import create_app
from workflow import Engine, org


@pytest.fixture
def app(engine: Engine, tmp_path) -> Flask:
    return create_app({"TESTING": True, "SCHEDULER": False,
                       "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                       "SECRET_KEY": "test-secret"}, engine=engine)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def login(app: Flask, engine: Engine) -> Callable[[str], FlaskClient]:
    """``login("head_smelting")`` → a test client with that user's session."""

    def make(username: str) -> FlaskClient:
        return session_login(app.test_client(), engine, username)

    return make


@pytest.fixture
def token(engine: Engine) -> Callable[[str], dict[str, str]]:
    """``token("finance")`` → the Authorization header of a fresh API token."""

    def make(username: str) -> dict[str, str]:
        with engine.db.write() as conn:
            value = org.issue_token(conn, username=username, now=engine.clock.now())
        return {"Authorization": f"Bearer {value}"}

    return make


@pytest.fixture
def second_admin(engine: Engine) -> str:
    """A second sta_admin (the demo has one): the one who decides a reward owns its payout and
    may not confirm it."""
    with engine.db.read() as conn:
        assert "sta_admin" in org.get_user(conn, "sta_admin_2").roles
    return "sta_admin_2"
