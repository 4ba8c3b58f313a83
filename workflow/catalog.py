"""Definition versions: stored with their content hash, parsed once, machines built once.

A changed file becomes a new version; running instances keep the version they started
on (its source is in the database, so it survives the file changing); new instances
use the newest.

Files on disk get every check, and ``sync`` stores nothing while any file has a problem.
A stored version is read again with ``parse(..., stored=True)``: without the checks that
only guard new files, since it passed the checks of its day when it was stored, and a
check added since must not leave its running instances unable to load.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from .db import Database
from .definition import Definition, DefinitionError, default_folder, load_folder, parse
from .errors import NotFound
from .machine import CompiledMachine
from .store import DEFINITIONS


@dataclass(frozen=True)
class Entry:
    id: int
    version: int
    definition: Definition
    machine: CompiledMachine


class Catalog:
    def __init__(self, db: Database, folder: Path | None = None) -> None:
        self.db = db
        self.folder = folder or default_folder()
        self._by_id: dict[int, Entry] = {}
        self._newest: dict[str, int] = {}
        self._lock = threading.Lock()

    def sync(self, now: datetime) -> list[Entry]:
        """Load the folder, store new versions, and make them the newest. All or nothing."""
        definitions, problems = load_folder(self.folder)
        if problems:
            raise DefinitionError(problems)
        entries = [self._store(definition, now) for definition in definitions]
        with self._lock:
            for entry in entries:
                self._by_id[entry.id] = entry
                self._newest[entry.definition.name] = entry.id
        return entries

    def _store(self, definition: Definition, now: datetime) -> Entry:
        for _attempt in range(3):
            with self.db.write() as conn:
                row = conn.execute(
                    select(DEFINITIONS.c.id, DEFINITIONS.c.version).where(
                        DEFINITIONS.c.name == definition.name,
                        DEFINITIONS.c.content_hash == definition.content_hash)
                ).first()
                if row is None:
                    try:
                        with conn.begin_nested():
                            latest = conn.execute(
                                select(func.max(DEFINITIONS.c.version))
                                .where(DEFINITIONS.c.name == definition.name)).scalar()
                            version = (latest or 0) + 1
                            new_id = conn.execute(
                                insert(DEFINITIONS).values(
                                    name=definition.name, version=version,
                                    content_hash=definition.content_hash,
                                    source=definition.source, file=definition.file, loaded_at=now,
                                ).returning(DEFINITIONS.c.id)).scalar_one()
                    except IntegrityError:
                        continue  # another process stored it first; read it back
                    return Entry(int(new_id), version, definition, CompiledMachine(definition))
            return Entry(int(row.id), int(row.version), definition, CompiledMachine(definition))
        raise RuntimeError(f"could not store definition {definition.name}")

    def by_id(self, definition_id: int) -> Entry:
        entry = self._by_id.get(definition_id)
        if entry is not None:
            return entry
        with self.db.read() as conn:
            row = conn.execute(select(DEFINITIONS).where(DEFINITIONS.c.id == definition_id)).first()
        if row is None:
            raise NotFound("definition_not_found", id=definition_id)
        definition = parse(row.source, file=row.file, stored=True)
        entry = Entry(int(row.id), int(row.version), definition, CompiledMachine(definition))
        with self._lock:
            self._by_id.setdefault(definition_id, entry)
        return self._by_id[definition_id]

    def newest(self, name: str) -> Entry:
        definition_id = self._newest.get(name)
        if definition_id is None:
            raise NotFound("workflow_not_found", workflow=name)
        return self._by_id[definition_id]

    def names(self) -> list[str]:
        return sorted(self._newest)

    def versions(self) -> list[dict[str, object]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(DEFINITIONS.c.id, DEFINITIONS.c.name, DEFINITIONS.c.version,
                       DEFINITIONS.c.content_hash, DEFINITIONS.c.file, DEFINITIONS.c.loaded_at)
                .order_by(DEFINITIONS.c.name, DEFINITIONS.c.version)).mappings()
            return [dict(r) for r in rows]
