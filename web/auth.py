"""Who is asking: session logins (Flask-Login), API tokens, timeouts, throttled failures."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Request,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from workflow import Actor, Engine, logins, org
from workflow.errors import Forbidden, Unauthenticated, ValidationFailed

from .errors import json_error, message_of

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


class WebUser(UserMixin):
    def __init__(self, user: logins.SessionUser) -> None:
        self.actor = user.actor
        self.name = user.name
        self.epoch = user.epoch
        self.id = user.actor.id

    def get_id(self) -> str:
        return f"{self.id}:{self.epoch}"


def engine() -> Engine:
    return current_app.extensions["innoflow"]  # type: ignore[no-any-return]


def now_seconds() -> float:
    return engine().clock.now().timestamp()


@login_manager.user_loader
def load_user(ident: str) -> WebUser | None:
    user_id, _sep, epoch = ident.partition(":")
    if not user_id.isdigit() or not epoch.isdigit():
        return None
    with engine().db.read() as conn:
        user = logins.session_user(conn, user_id=int(user_id))
    if user is None or user.epoch != int(epoch):
        return None
    return WebUser(user)


@login_manager.unauthorized_handler
def unauthorized() -> Any:
    if request.path.startswith("/api/"):
        return json_error(401, "unauthenticated", "log in or send a bearer token")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def is_token_request(req: Request) -> bool:
    """An API request that names a token: the token alone says who asks, never a session."""
    return req.path.startswith("/api/") and bool(req.headers.get("Authorization"))


class SessionInterface(SecureCookieSessionInterface):
    """Signed cookie sessions, opened only where one can matter: a token request neither reads
    nor refreshes the session cookie, and a request without the cookie needs no signer."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if is_token_request(request):
            return self.make_null_session(app)
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _token_actor(token: str) -> Actor | None:
    """Checked in the database on every request: a revoked token, a deactivated user or a
    removed role takes effect on the very next request, in every process."""
    with engine().db.one_read() as conn:
        return org.actor_by_token(conn, token)


def current_actor() -> Actor | None:
    """The actor of this request: the bearer token's user on the API, else the session's."""
    if "actor" in g:
        return g.actor  # type: ignore[no-any-return]
    actor: Actor | None = None
    g.via_token = False
    if is_token_request(request):
        token = bearer_token()
        if token:
            actor = _token_actor(token)
        g.via_token = actor is not None
        if actor is None:
            g.bad_token = True
    elif current_user.is_authenticated:
        actor = current_user.actor
    g.actor = actor
    return actor


def require_actor() -> Actor:
    actor = current_actor()
    if actor is None:
        raise Unauthenticated("login_required")
    return actor


def has_role(actor: Actor | None, *roles: str) -> bool:
    return actor is not None and any(role in roles for role, _scope in actor.roles)


def roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if actor is None:
                return login_manager.unauthorized()
            if not has_role(actor, *roles):
                raise Forbidden("role_required", roles=list(roles))
            return view(*args, **kwargs)

        return wrapped

    return decorate


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_actor() is None:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapped


def _check_timeouts() -> Any:
    if request.endpoint in (None, "static") or is_token_request(request):
        return None
    if not current_user.is_authenticated:
        return None
    now = now_seconds()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["SESSION_MAX_HOURS"] * 3600
    login_at = session.get("login_at", 0.0)
    seen_at = session.get("seen_at", 0.0)
    if now - seen_at > idle or now - login_at > absolute:
        logout_user()
        session.clear()
        g.pop("actor", None)
        if request.path.startswith("/api/"):
            return json_error(401, "unauthenticated", "session expired")
        flash(_("Your session expired. Please log in again."), "info")
        return redirect(url_for("auth.login"))
    session["seen_at"] = now
    return None


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target and not target.startswith("/auth/"):
        return target
    return url_for("inbox.inbox")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("inbox.inbox"))
        return render_template("login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()[:60]
    password = request.form.get("password", "")[:200]
    keys = [f"user:{username.lower()}", f"addr:{request.remote_addr or '-'}"]
    now = engine().clock.now()
    with engine().db.write() as conn:
        if logins.locked(conn, keys=keys, now=now):
            status, message = 429, _("Too many failed attempts. Try again in 15 minutes.")
        else:
            user = logins.check_password(conn, username=username, password=password)
            if user is not None:
                logins.clear_failures(conn, keys=keys)
                status = 0
            else:
                logins.record_failure(conn, keys=keys, now=now)
                status, message = 401, _("Wrong username or password.")
    if status:
        return render_template("login.html", error=message, username=username,
                               next=request.form.get("next", "")), status
    session.clear()
    login_user(WebUser(user))
    session.permanent = True
    session["login_at"] = session["seen_at"] = now.timestamp()
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        with engine().db.write() as conn:
            logins.end_sessions(conn, user_id=current_user.id)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/profile")
@login_required
def profile() -> Any:
    return _profile(token=None)


def _profile(*, token: str | None) -> Any:
    actor = require_actor()
    with engine().db.read() as conn:
        tokens = org.tokens_of(conn, user_id=actor.id)
    from .screens import role_names

    return render_template("profile.html", token=token, tokens=tokens,
                           roles=role_names(actor.roles), delegations=_delegations())


def _delegations() -> list[Any]:
    from .delegations import mine

    return mine()


@bp.post("/profile/token")
@login_required
def new_token() -> Any:
    actor = require_actor()
    with engine().db.write() as conn:
        token = org.issue_token(conn, username=actor.username, now=engine().clock.now())
    return _profile(token=token)


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Any:
    """Only one's own tokens: anyone else's, like an unknown one, is not found."""
    actor = require_actor()
    with engine().db.write() as conn:
        if not org.revoke_token(conn, user_id=actor.id, token_id=token_id):
            abort(404)
    flash(_("Token revoked. Requests with it are refused from now on."), "ok")
    return redirect(url_for("auth.profile"))


PASSWORD_LABELS = {"current_password": _l("Current password"),
                   "new_password": _l("New password"),
                   "confirm_password": _l("Repeat the new password")}


@bp.post("/profile/password")
@login_required
def change_password() -> Any:
    """A refused change is said on the profile, above the form, not on an error page."""
    actor = require_actor()
    try:
        user = _set_password(actor, request.form.get("current_password", ""),
                             request.form.get("new_password", ""),
                             request.form.get("confirm_password", ""))
    except ValidationFailed as exc:
        flash(message_of(exc, PASSWORD_LABELS), "error")
        return redirect(url_for("auth.profile"))
    login_user(WebUser(user))
    flash(_("Password changed. Other sessions were logged out."), "ok")
    return redirect(url_for("auth.profile"))


def _set_password(actor: Actor, current: str, new: str, confirm: str) -> logins.SessionUser:
    if new != confirm:
        raise ValidationFailed("passwords_differ", fields={"confirm_password": "differs"})
    if len(new) < 8:
        raise ValidationFailed("weak_password", fields={"new_password": "at least 8 characters"})
    with engine().db.write() as conn:
        if logins.check_password(conn, username=actor.username, password=current) is None:
            raise ValidationFailed("wrong_password", fields={"current_password": "wrong"})
        org.set_password(conn, username=actor.username, password=new)
        user = logins.session_user(conn, user_id=actor.id)
    assert user is not None
    return user


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    login_manager.init_app(app)
    login_manager.session_protection = None
    app.before_request(_check_timeouts)
    app.register_blueprint(bp, url_prefix="/auth")
