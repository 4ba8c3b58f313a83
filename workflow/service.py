"""Building a ready engine from the environment (used by the CLI and the web app)."""

from __future__ import annotations

import os
from pathlib import Path

from . import calendar as working_days
from .db import Database
from .engine import Engine


def build_engine(url: str | None = None, *, definitions: Path | None = None,
                 upgrade: bool = True) -> Engine:
    """An engine on the configured database with the schema migrated and definitions loaded.

    Refuses (DefinitionError) when a definition is invalid, so a server never starts with one.
    The definitions come from ``definitions`` or ``INNOFLOW_DEFINITIONS`` (a folder), else
    the ones shipped with the package.
    """
    if definitions is None and os.environ.get("INNOFLOW_DEFINITIONS"):
        definitions = Path(os.environ["INNOFLOW_DEFINITIONS"])
    db = Database(url)
    if upgrade:
        from .migrate import upgrade as run_upgrade

        run_upgrade(db)
    engine = Engine(db, definitions=definitions)
    engine.load_definitions()
    if upgrade:
        with db.write() as conn:
            working_days.seed_from_package(conn, now=engine.clock.now())
            engine.calendar = working_days.load(conn)
    return engine
