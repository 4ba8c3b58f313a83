"""Helpers for web tests: a session without a password, forms posted with their CSRF token."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from workflow import Engine, logins, org


def session_login(client: FlaskClient, engine: Engine, username: str) -> FlaskClient:
    """Log ``username`` in by writing the session a real login writes (no password hashing)."""
    with engine.db.read() as conn:
        user_id = org.get_user(conn, username).id
        user = logins.session_user(conn, user_id=user_id)
    assert user is not None
    now = engine.clock.now().timestamp()
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = f"{user_id}:{user.epoch}"
        session["_fresh"] = True
        session["login_at"] = session["seen_at"] = now
    return client


def csrf_of(client: FlaskClient, path: str = "/profile") -> str:
    """The CSRF token of the client's session, read from a page's form."""
    html = client.get("/auth/profile").get_data(as_text=True) if path == "/profile" \
        else client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def form_post(client: FlaskClient, path: str, data: dict[str, Any] | None = None,
              **kwargs: Any) -> Any:
    """POST a form with the session's CSRF token, as a browser would."""
    body = {"csrf_token": csrf_of(client), **(data or {})}
    return client.post(path, data=body, **kwargs)
