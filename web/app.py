"""The Flask application factory. No app object lives at module level."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, redirect, url_for

from workflow import Engine
from workflow.service import build_engine

from . import config

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None, *, engine: Engine | None = None
               ) -> Flask:
    app = Flask(__name__)
    app.config.update(config.from_environment())
    if test_config:
        app.config.update(test_config)
    if engine is None:
        engine = build_engine(app.config["DATABASE_URL"])
    app.extensions["innoflow"] = engine

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("healthz"))

    if app.config.get("SCHEDULER") and not app.config.get("TESTING"):
        from workflow.scheduler import start_background

        app.extensions["innoflow_scheduler"] = start_background(
            engine, interval=app.config["SCHEDULER_INTERVAL"])
    return app


def engine_of(app: Flask) -> Engine:
    return app.extensions["innoflow"]  # type: ignore[no-any-return]
