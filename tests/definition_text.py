"""Definition texts in tests: one exact replacement, the line a fragment is on, the problems
of a text, and a file with many edits checked on the command line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner

from workflow.cli import cli
from workflow.definition import Problem, parse
from workflow.errors import DefinitionError


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, fragment: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(lines) == 1, f"{fragment!r} is on lines {lines}"
    return lines[0]


def problems_in(text: str, file: str = "tiny.yaml", *, stored: bool = False) -> list[Problem]:
    """The problems of ``text`` read as ``file`` (or as a stored version); none if it loads."""
    try:
        parse(text, file=file, stored=stored)
    except DefinitionError as exc:
        assert exc.problems, "a DefinitionError without problems"
        return list(exc.problems)
    return []


def problems_on_check(folder: Path, text: str) -> list[str]:
    """``text`` saved as a file and checked on the command line, which must refuse it: each
    problem as ``line: words`` (the file's name left out)."""
    path = folder / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["definitions", "check", str(path)])
    assert result.exit_code == 1, result.output
    return [line.removeprefix(f"{path}:") for line in result.output.splitlines()
            if line.startswith(f"{path}:")]


def assert_check_reports_each_edit(folder: Path, text: str,
                                   edits: Sequence[tuple[str, str, str, str]]) -> None:
    """``text`` with every (old, new, fragment, words) edit made, checked as one file: one
    problem per edit, on the fragment's line, saying ``words``."""
    for old, new, _fragment, _words in edits:
        text = edit(text, old, new)
    lines = problems_on_check(folder, text)
    assert len(lines) == len(edits), lines
    for _old, _new, fragment, words in edits:
        prefix = f"{line_of(text, fragment)}: "
        assert any(line.startswith(prefix) and words in line for line in lines), (prefix, lines)
