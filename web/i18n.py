"""Chinese and English: locale choice, labels from definitions, dates and money for the locale."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from flask import Blueprint, Flask, current_app, redirect, request, session, url_for
from flask_babel import Babel, format_date, get_locale

LANGUAGES = ("zh", "en")
bp = Blueprint("i18n", __name__)
babel = Babel()


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or "en"


def language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def label(mapping: Mapping[str, str] | None, fallback: str = "") -> str:
    if not mapping:
        return fallback
    return mapping.get(language()) or mapping.get("en") or fallback


def money(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return "¥" + format_decimal(amount, format="#,##0.00", locale=str(get_locale() or "en"))


_PATTERNS = {"zh": "%Y-%m-%d %H:%M", "en": "%d %b %Y, %H:%M"}


def when(value: Any) -> str:
    """A moment in the configured zone, in the locale's usual form (fast: lists show many)."""
    if isinstance(value, datetime):
        zone = current_app.config.get("TIMEZONE", "Asia/Shanghai")
        local = value.astimezone(_zone(zone)) if value.tzinfo else value
        return local.strftime(_PATTERNS.get(language(), _PATTERNS["en"]))
    if isinstance(value, date):
        return format_date(value, "yyyy-MM-dd" if language() == "zh" else "medium")
    return "" if value is None else str(value)


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def day(value: Any) -> str:
    if isinstance(value, datetime | date):
        return format_date(value, "yyyy-MM-dd" if language() == "zh" else "medium")
    if isinstance(value, str):
        try:
            return day(date.fromisoformat(value))
        except ValueError:
            return value
    return "" if value is None else str(value)


@bp.post("/lang/<code>")
def switch(code: str) -> Any:
    if code in LANGUAGES:
        session["lang"] = code
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("inbox.inbox")
    return redirect(target)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.jinja_env.filters.update(label=label, money=money, when=when, day=day)
    app.jinja_env.globals.update(language=language)
