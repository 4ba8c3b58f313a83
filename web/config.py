"""Configuration from ``INNOFLOW_*`` environment variables, with safe local defaults."""

from __future__ import annotations

import os
import secrets
from typing import Any

DEV_SECRET = "innoflow-local-development-only"


def from_environment() -> dict[str, Any]:
    env = os.environ
    production = env.get("INNOFLOW_ENV", "development") == "production"
    secret = env.get("INNOFLOW_SECRET_KEY")
    if production and not secret:
        raise RuntimeError("INNOFLOW_SECRET_KEY must be set when INNOFLOW_ENV=production")
    return {
        "DATABASE_URL": env.get("INNOFLOW_DATABASE_URL", "sqlite:///innoflow.db"),
        "SECRET_KEY": secret or (DEV_SECRET if not production else secrets.token_hex(32)),
        "PRODUCTION": production,
        "SCHEDULER": env.get("INNOFLOW_SCHEDULER", "1") == "1",
        "SCHEDULER_INTERVAL": float(env.get("INNOFLOW_SCHEDULER_INTERVAL", "30")),
        "SESSION_COOKIE_SECURE": production or env.get("INNOFLOW_HTTPS") == "1",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production or env.get("INNOFLOW_HTTPS") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "TIMEZONE": env.get("INNOFLOW_TIMEZONE", "Asia/Shanghai"),
        "HTTPS": production or env.get("INNOFLOW_HTTPS") == "1",
        "BEHIND_PROXY": env.get("INNOFLOW_BEHIND_PROXY") == "1",
        "SESSION_IDLE_MINUTES": int(env.get("INNOFLOW_SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": int(env.get("INNOFLOW_SESSION_MAX_HOURS", "12")),
        "UPLOAD_FOLDER": env.get("INNOFLOW_UPLOAD_FOLDER", "uploads"),
        "MAX_ATTACHMENT_BYTES": int(env.get("INNOFLOW_MAX_ATTACHMENT_BYTES",
                                            str(10 * 1024 * 1024))),
        "MAX_CONTENT_LENGTH": int(env.get("INNOFLOW_MAX_REQUEST_BYTES",
                                          str(32 * 1024 * 1024))),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": env.get("INNOFLOW_TIMEZONE", "Asia/Shanghai"),
        "PERMANENT_SESSION_LIFETIME": 3600 * int(env.get("INNOFLOW_SESSION_MAX_HOURS", "12")),
    }
