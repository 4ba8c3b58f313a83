"""Building a ready engine from the environment (used by the CLI and the web app)."""

from __future__ import annotations

from pathlib import Path

from .db import Database
from .engine import Engine


def build_engine(url: str | None = None, *, definitions: Path | None = None,
                 upgrade: bool = True) -> Engine:
    """An engine on the configured database with the schema migrated and definitions loaded.

    Refuses (DefinitionError) when a definition is invalid, so a server never starts with one.
    """
    db = Database(url)
    if upgrade:
        from .migrate import upgrade as run_upgrade

        run_upgrade(db)
    engine = Engine(db, definitions=definitions)
    engine.load_definitions()
    return engine
