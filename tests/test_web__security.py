"""Logins, sessions, tokens, CSRF, security headers and cookie flags."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from tests.web_helpers import csrf_of, form_post
from web.app import create_app
from workflow import org

pytest_plugins = ["tests.web_fixtures"]

PASSWORD = "correct horse battery"


@pytest.fixture
def with_password(engine):
    with engine.db.write() as conn:
        org.set_password(conn, username="demo_proposer", password=PASSWORD)
    return "demo_proposer"


def _login(client, username, password):
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/auth/login", data={"csrf_token": token, "username": username,
                                            "password": password})


def test_web__login_with_the_right_password_opens_the_inbox(client, with_password):
    response = _login(client, with_password, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/inbox")
    assert client.get("/inbox").status_code == 200


def test_web__unknown_user_and_wrong_password_get_the_same_answer(client, with_password):
    wrong = _login(client, with_password, "not the password")
    unknown = _login(client, "nobody_here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    def page(response, username):
        text = response.get_data(as_text=True).replace(username, "U")
        return re.sub(r'name="csrf_token" value="[^"]+"', "", text)

    assert page(wrong, with_password) == page(unknown, "nobody_here")


def test_web__failed_logins_lock_the_user_in_every_process(app, engine, clock, with_password,
                                                            tmp_path):
    client = app.test_client()
    for _ in range(5):
        assert _login(client, with_password, "wrong").status_code == 401
    assert _login(client, with_password, PASSWORD).status_code == 429
    other_process = create_app({"TESTING": True, "SCHEDULER": False,
                                "UPLOAD_FOLDER": str(tmp_path)}, engine=engine)
    assert _login(other_process.test_client(), with_password, PASSWORD).status_code == 429
    clock.advance(minutes=16)
    assert _login(client, with_password, PASSWORD).status_code == 302


def test_web__next_parameter_never_leaves_the_site(client, with_password):
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/auth/login", data={
        "csrf_token": token, "username": with_password, "password": PASSWORD,
        "next": "//evil.example/"})
    assert response.headers["Location"].endswith("/inbox")


def test_web__idle_session_expires(login, clock):
    client = login("demo_proposer")
    clock.advance(minutes=20)
    assert client.get("/inbox").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/inbox")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_web__session_expires_after_the_absolute_limit_however_active(login, clock):
    client = login("demo_proposer")
    for _ in range(36):
        clock.advance(minutes=20)
        assert client.get("/inbox").status_code == 200
    clock.advance(minutes=20)
    assert client.get("/inbox").status_code == 302


def test_web__logout_invalidates_a_copied_session_cookie(app, login):
    client = login("demo_proposer")
    assert client.get("/inbox").status_code == 200
    stolen = client.get_cookie("session").value
    assert form_post(client, "/auth/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/inbox").status_code == 302


def test_web__password_change_ends_other_sessions_but_not_this_one(login, with_password):
    here, elsewhere = login(with_password), login(with_password)
    response = form_post(here, "/auth/profile/password", {
        "current_password": PASSWORD, "new_password": "another long one",
        "confirm_password": "another long one"})
    assert response.status_code == 302
    assert here.get("/inbox").status_code == 200
    assert elsewhere.get("/inbox").status_code == 302


def test_web__profile_issues_an_api_token_that_works(login):
    client = login("head_smelting")
    page = form_post(client, "/auth/profile/token").get_data(as_text=True)
    token = re.search(r'<pre class="token" id="token">([^<]+)</pre>', page).group(1)
    fresh = client.application.test_client()
    response = fresh.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_web__a_token_revoked_on_the_profile_is_refused_at_once(login):
    owner = login("head_smelting")
    page = form_post(owner, "/auth/profile/token").get_data(as_text=True)
    token = re.search(r'<pre class="token" id="token">([^<]+)</pre>', page).group(1)
    revoke = re.search(r'action="(/auth/profile/tokens/(\d+)/revoke)"', page)
    assert revoke, "the profile lists no token to revoke"
    api = owner.application.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/tasks", headers=bearer).status_code == 200

    other = login("head_power")  # somebody else's token is not theirs to revoke
    assert form_post(other, revoke.group(1)).status_code == 404
    assert api.get("/api/v1/tasks", headers=bearer).status_code == 200

    assert form_post(owner, revoke.group(1)).status_code == 302
    assert api.get("/api/v1/tasks", headers=bearer).status_code == 401
    listed = owner.get("/auth/profile").get_data(as_text=True)
    assert f"#{revoke.group(2)}" in listed
    assert revoke.group(1) not in listed, "a revoked token still offers Revoke"


def _post_rules(app):
    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or ()) and not rule.rule.startswith("/api/"):
            values = {arg: (1 if "id" in arg else "x") for arg in rule.arguments}
            with app.test_request_context():
                from flask import url_for

                yield rule.endpoint, url_for(rule.endpoint, **values)


def test_web__every_form_route_rejects_a_post_without_csrf_token(app, login):
    rules = list(_post_rules(app))
    assert len(rules) >= 15
    for user in ("sta_admin", "finance", "demo_proposer"):
        client = login(user)
        for endpoint, path in rules:
            response = client.post(path, data={"pick": "1:1"})
            assert response.status_code == 400, (user, endpoint, response.status_code)


def test_web__login_form_itself_requires_csrf(client, with_password):
    response = client.post("/auth/login", data={"username": with_password,
                                                "password": PASSWORD})
    assert response.status_code == 400


def test_web__session_json_posts_need_the_csrf_header(login):
    client = login("demo_proposer")
    body = {"workflow": "suggestion", "data": {}}
    assert client.post("/api/v1/instances", json=body).status_code == 400
    token = csrf_of(client)
    response = client.post("/api/v1/instances", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 422


def test_web__bearer_requests_need_no_csrf(client, token):
    response = client.post("/api/v1/instances", json={"workflow": "suggestion", "data": {}},
                           headers=token("demo_proposer"))
    assert response.status_code == 422


HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _check_headers(response, where):
    response.close()
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (where, name)
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, where
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, where


def _get_paths(app):
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and rule.endpoint != "static":
            values = {arg: (1 if "id" in arg else "suggestion") for arg in rule.arguments}
            with app.test_request_context():
                from flask import url_for

                yield url_for(rule.endpoint, **values)


def test_web__every_response_carries_the_security_headers(app, client, login, token):
    paths = [*_get_paths(app), "/no/such/page", "/api/v1/nothing", "/static/app.css"]
    for path in paths:
        _check_headers(client.get(path), ("anonymous", path))
    for user in ("demo_proposer", "sta_admin", "finance", "auditor"):
        session_client = login(user)
        for path in paths:
            _check_headers(session_client.get(path), (user, path))
    api = token("finance")
    for path in paths:
        if path.startswith("/api/"):
            _check_headers(client.get(path, headers=api), ("token", path))


def test_web__no_hsts_over_plain_http_and_hsts_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/auth/login").headers
    secure = client.get("/auth/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def _cookies(response):
    return response.headers.getlist("Set-Cookie")


def test_web__session_cookie_is_httponly_and_samesite(client, with_password):
    response = _login(client, with_password, PASSWORD)
    cookies = _cookies(response)
    assert cookies
    for cookie in cookies:
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie


def test_web__behind_https_the_cookie_is_secure_and_host_prefixed(engine, tmp_path,
                                                                   with_password):
    app = create_app({"TESTING": True, "SCHEDULER": False, "HTTPS": True,
                      "UPLOAD_FOLDER": str(tmp_path)}, engine=engine)
    client = app.test_client()
    page = client.get("/auth/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/auth/login", base_url="https://localhost", data={
        "csrf_token": token, "username": with_password, "password": PASSWORD},
        headers={"Referer": "https://localhost/auth/login"})
    assert response.status_code == 302
    for cookie in _cookies(response):
        assert cookie.startswith("__Host-session=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie




def test_web__a_revoked_token_fails_on_the_very_next_request(client, token, engine):
    headers = token("head_smelting")
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    with engine.db.write() as conn:
        conn.execute(update(org.TOKENS).values(revoked=True))
    response = client.get("/api/v1/tasks", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_web__a_deactivated_user_s_token_fails_on_the_very_next_request(client, token, engine):
    headers = token("head_smelting")
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    with engine.db.write() as conn:
        conn.execute(update(org.USERS).where(org.USERS.c.username == "head_smelting")
                     .values(active=False))
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401


def test_web__a_removed_role_counts_on_the_next_request_in_every_process(app, engine, token,
                                                                         tmp_path):
    headers = token("auditor")
    other_process = create_app({"TESTING": True, "SCHEDULER": False,
                                "UPLOAD_FOLDER": str(tmp_path)}, engine=engine)
    clients = (app.test_client(), other_process.test_client())
    for client in clients:
        assert client.get("/api/v1/reports/summary", headers=headers).status_code == 200
    with engine.db.write() as conn:
        org.set_roles(conn, username="auditor", roles=[])
    for client in clients:
        assert client.get("/api/v1/reports/summary", headers=headers).status_code == 403


def test_web__token_requests_neither_read_nor_write_the_session(login, token):
    client = login("sta_admin")
    with client.session_transaction() as session:
        session.permanent = True  # as a real login makes it: refreshed on every page
    assert _cookies(client.get("/api/v1/tasks"))
    headers = token("demo_proposer")
    response = client.post("/api/v1/instances", headers=headers, json={
        "workflow": "suggestion", "data": {}})
    assert response.status_code == 422
    assert not _cookies(response)
    assert client.get("/api/v1/tasks", headers=headers).get_json() == []
    assert not _cookies(client.get("/api/v1/tasks", headers=headers))
    assert not _cookies(client.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"}))


def test_web__an_authorization_header_does_not_keep_an_expired_page_session_alive(login, clock):
    client = login("demo_proposer")
    clock.advance(minutes=31)
    response = client.get("/inbox", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_web__a_view_keeps_its_caching_but_not_a_weaker_frame_option(app, client):
    @app.get("/test/own-headers")
    def own_headers():
        return "", 200, {"Cache-Control": "max-age=60", "X-Frame-Options": "SAMEORIGIN"}

    response = client.get("/test/own-headers")
    assert response.headers.getlist("Cache-Control") == ["max-age=60"]
    assert response.headers.getlist("X-Frame-Options") == ["DENY"]
    _check_headers(response, "own headers")
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"
    static = client.get("/static/app.css")
    static.close()
    assert "no-store" not in static.headers.get("Cache-Control", "")
