"""The engine knows no Flask: importing all of ``workflow`` loads no web framework.

Two proofs: a fresh interpreter imports every module of the package and looks at what
got loaded, and a static pass reads every source file's import statements.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import workflow

FORBIDDEN = ("flask", "flask_login", "flask_wtf", "flask_babel", "werkzeug")
PACKAGE = Path(workflow.__file__).parent
ROOT = PACKAGE.parent

_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import workflow
forbidden = sys.argv[1].split(",")
names = [m.name for m in pkgutil.walk_packages(workflow.__path__, "workflow.")
         if not m.name.startswith("workflow.migrations")]
for name in names + sys.argv[2:]:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
print(json.dumps({"imported": names, "loaded": loaded}))
"""


def import_everything(*extra: str) -> dict[str, list[str]]:
    """Import every workflow module (and ``extra``) in a new interpreter; what it loaded."""
    command = [sys.executable, "-c", _IMPORT_ALL, ",".join(FORBIDDEN), *extra]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_workflow__importing_every_module_loads_no_flask():
    found = import_everything()
    assert {"workflow.engine", "workflow.cli", "workflow.store", "workflow.audit"} <= set(
        found["imported"])
    assert found["loaded"] == []


def test_workflow__the_import_check_sees_flask_when_it_is_there():
    found = import_everything("web.app")
    assert "flask" in found["loaded"]


def forbidden_imports(source: str) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return [n for n in names if n.split(".")[0] in FORBIDDEN]


def test_workflow__no_source_file_imports_flask():
    files = sorted(PACKAGE.rglob("*.py"))
    assert PACKAGE / "engine.py" in files
    offenders = {str(f.relative_to(ROOT)): found for f in files
                 if (found := forbidden_imports(f.read_text(encoding="utf-8")))}
    assert offenders == {}


def test_workflow__the_static_check_sees_every_import_form():
    source = "import flask\nfrom werkzeug.serving import run_simple\nimport flask_babel as b\n"
    assert forbidden_imports(source) == ["flask", "werkzeug.serving", "flask_babel"]
    assert forbidden_imports("from . import flask_helpers\nimport flasky\n") == []
