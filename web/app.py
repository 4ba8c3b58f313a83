"""The Flask application factory. No app object lives at module level."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, g, jsonify, redirect, url_for

from workflow import Engine
from workflow.service import build_engine

from . import auth, config, errors, forms, i18n, security
from .json_provider import JSONProvider

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None, *, engine: Engine | None = None
               ) -> Flask:
    app = Flask(__name__)
    app.json = JSONProvider(app)
    app.config.update(config.from_environment())
    if test_config:
        app.config.update(test_config)
    if engine is None:
        engine = build_engine(app.config["DATABASE_URL"])
    app.extensions["innoflow"] = engine

    security.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    forms.init_app(app)
    _register_blueprints(app)
    app.context_processor(_template_context)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("inbox.inbox"))

    if app.config.get("SCHEDULER") and not app.config.get("TESTING"):
        from workflow.scheduler import start_background

        app.extensions["innoflow_scheduler"] = start_background(
            engine, interval=app.config["SCHEDULER_INTERVAL"])
    return app


def _register_blueprints(app: Flask) -> None:
    from . import (
        admin,
        api,
        audit,
        budgets,
        calendar_admin,
        delegations,
        finance,
        inbox,
        instances,
        mine,
        notifications,
        report_screens,
        submit,
    )

    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(inbox.bp)
    app.register_blueprint(instances.bp)
    app.register_blueprint(submit.bp)
    app.register_blueprint(mine.bp)
    app.register_blueprint(finance.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(delegations.bp)
    app.register_blueprint(report_screens.bp)
    app.register_blueprint(budgets.bp)
    app.register_blueprint(calendar_admin.bp)
    app.register_blueprint(notifications.bp)


def _inbox_count() -> int:
    from . import inbox

    if "inbox_count" not in g:
        actor = auth.current_actor()
        g.inbox_count = len(engine_of(current_app).inbox(actor=actor, limit=inbox.PAGE)) \
            if actor is not None else 0
    return int(g.inbox_count)


def _template_context() -> dict[str, Any]:
    actor = auth.current_actor()
    return {"actor": actor, "inbox_count": _inbox_count,
            "has_role": lambda *roles: auth.has_role(actor, *roles)}


def engine_of(app: Flask) -> Engine:
    return app.extensions["innoflow"]  # type: ignore[no-any-return]
