"""Definition files: one read as UTF-8 text, or a folder loaded all at once with every
problem of every file."""

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


def decode(data: bytes, file: str) -> str:
    """``data`` as UTF-8 text; DefinitionError naming the line of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        reason = (f"not UTF-8 text: byte 0x{data[exc.start]:02x} at byte {column} of the line "
                  f"({exc.reason}); save the file as UTF-8")
        raise DefinitionError([Problem(file, line, reason)]) from None


def read_text(path: Path, file: str) -> str:
    """The text of the definition file at ``path`` (named ``file`` in problems)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DefinitionError([Problem(file, 1, f"cannot be read: {exc.strerror or exc}")]
                              ) from None
    return decode(data, file)


def load_folder(folder: Path) -> tuple[list[Definition], list[Problem]]:
    """Every definition in ``folder`` and every problem found, all at once."""
    found: list[Definition] = []
    problems: list[Problem] = []
    names: dict[str, str] = {}
    for path in files_in(folder):
        try:
            definition = parse(read_text(path, path.name), file=path.name)
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
