"""A folder of definition files, loaded all at once with every problem of every file."""

from __future__ import annotations

from pathlib import Path

from ..errors import DefinitionError
from .model import Definition, Problem
from .parser import parse


def default_folder() -> Path:
    """The definitions shipped with the package (the top-level ``definitions/`` folder)."""
    import definitions

    return Path(next(iter(definitions.__path__)))


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if not p.name.startswith("_"))


def load_folder(folder: Path) -> tuple[list[Definition], list[Problem]]:
    """Every definition in ``folder`` and every problem found, all at once."""
    found: list[Definition] = []
    problems: list[Problem] = []
    names: dict[str, str] = {}
    for path in files_in(folder):
        try:
            definition = parse(path.read_text(encoding="utf-8"), file=path.name)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        if definition.name in names:
            problems.append(Problem(path.name, 1, f"name {definition.name!r} is already used by "
                                    f"{names[definition.name]}"))
            continue
        names[definition.name] = path.name
        found.append(definition)
    return found, problems
