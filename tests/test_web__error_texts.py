"""Engine errors in words on pages, in Chinese and English; the JSON API keeps its messages.

The keys are found the way a reader finds them: every raise of an engine error in
``workflow/`` and ``web/`` whose first argument is a string, and the refusals ``authz``
returns for the one raise that passes its key on. A raise with any other kind of key fails
the scan, so a new indirection is noticed rather than skipped.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import workflow.errors
from tests.web_helpers import form_post
from web.error_texts import MESSAGES, api_text, reason_text, text_of
from workflow import authz
from workflow.errors import DefinitionError, WorkflowError

pytest_plugins = ["tests.web_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
ERROR_CLASSES = {
    name for name, cls in inspect.getmembers(workflow.errors, inspect.isclass)
    if issubclass(cls, WorkflowError) and cls is not DefinitionError
}
PASSED_ON = {("workflow/authz.py", "refused")}
"""Raises whose key is a variable: where it comes from is read below."""


def _raises() -> Iterator[tuple[str, int, str, str | None, frozenset[str]]]:
    """(file, line, class, key or None, parameter names) of every engine error made."""
    for folder in ("workflow", "web"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else \
                    func.attr if isinstance(func, ast.Attribute) else None
                if name not in ERROR_CLASSES or not node.args:
                    continue
                first = node.args[0]
                key = first.value if isinstance(first, ast.Constant) else None
                if key is None and not (isinstance(first, ast.Name)
                                        and (str(path.relative_to(ROOT)), first.id) in PASSED_ON):
                    pytest.fail(f"{path.relative_to(ROOT)}:{node.lineno}: a key that is not "
                                "a string; tell this test where it comes from")
                params = frozenset(k.arg for k in node.keywords if k.arg and k.arg != "fields")
                yield str(path.relative_to(ROOT)), node.lineno, name, key, params


def _authz_refusals() -> set[str]:
    """The strings ``authz._decide`` returns as its reason for refusing."""
    tree = ast.parse(inspect.getsource(authz._decide))
    return {node.value for ret in ast.walk(tree) if isinstance(ret, ast.Return)
            for node in ast.walk(ret) if isinstance(node, ast.Constant)
            and isinstance(node.value, str)}


RAISES = list(_raises())
KEYS = sorted({key for *_, key, _params in RAISES if key} | _authz_refusals())
SITES = sorted({(key, params) for *_, key, params in RAISES if key}
               | {(key, frozenset({"action"})) for key in _authz_refusals()},
               key=lambda site: (site[0], sorted(site[1])))


def test_web__the_scan_finds_the_keys_people_meet():
    assert {"instance_not_found", "passwords_differ", "invalid_roles", "stale_version",
            "segregation_of_duties", "own_item", "not_assigned"} <= set(KEYS)
    assert len(KEYS) > 70


@pytest.mark.parametrize("key", KEYS)
def test_web__every_raised_key_has_a_text(key):
    assert key in MESSAGES, f"add a text for {key!r} to web/error_texts.py"


@pytest.mark.parametrize(("key", "params"), SITES, ids=lambda v: v if isinstance(v, str) else
                         "-".join(sorted(v)))
def test_web__every_raise_reads_in_english_and_in_chinese(app, key, params):
    exc = WorkflowError(key, **{name: ["x1", "x2"] if name in ("roles", "earlier", "guards")
                                else f"v{n}" for n, name in enumerate(sorted(params))})
    texts = {}
    for lang in ("en", "zh-CN"):
        with app.test_request_context(headers={"Accept-Language": lang}):
            texts[lang] = text_of(exc)
    assert texts["en"] != api_text(exc), "its placeholders name parameters this raise lacks"
    assert texts["zh-CN"] != texts["en"], f"{key!r} has no Chinese text"
    assert re.search(r"[\u4e00-\u9fff]", texts["zh-CN"])
    assert "%(" not in texts["en"] + texts["zh-CN"]


def test_web__fixed_field_reasons_are_translated_and_others_kept(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert reason_text("required") == "必填"
        assert reason_text("unknown field 'nowhere'") == "没有专业领域 nowhere"
        assert reason_text("'abc' is not of type 'integer'") == "'abc' is not of type 'integer'"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert reason_text("required") == "required"


def test_web__a_missing_item_is_said_in_the_browsers_language(login):
    client = login("demo_proposer")
    zh = client.get("/instances/999999", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.status_code == 404
    page = zh.get_data(as_text=True)
    assert "事项 999999 不存在，或您无权查看。" in page
    assert "instance_not_found" not in page
    en = client.get("/instances/999999", headers={"Accept-Language": "en-US"})
    page = en.get_data(as_text=True)
    assert "Item 999999 does not exist, or you may not see it." in page
    assert "instance_not_found" not in page


def test_web__the_api_keeps_its_error_message(client, token):
    response = client.get("/api/v1/instances/999999", headers={
        **token("demo_proposer"), "Accept-Language": "zh-CN"})
    assert response.status_code == 404
    assert response.get_json() == {"error": {"code": "not_found",
                                             "message": "instance_not_found (id=999999)"}}


def test_web__a_refused_password_change_is_said_on_the_profile(login):
    client = login("demo_proposer")
    response = form_post(client, "/auth/profile/password", {
        "current_password": "whatever it is", "new_password": "long enough one",
        "confirm_password": "long enough two"}, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/profile")
    page = client.get("/auth/profile", headers={"Accept-Language": "zh-CN"})
    text = page.get_data(as_text=True)
    assert "两次输入的新密码不一致。再次输入新密码：不一致。" in text
    assert "passwords_differ" not in text


def test_web__a_refused_role_grant_names_the_field_in_words(login):
    client = login("sta_admin")
    response = form_post(client, "/admin/users/demo_colleague/roles",
                         {"roles": "expert@nowhere"}, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "The roles cannot be saved. Roles and scopes: no professional field nowhere." \
        in text
    assert "invalid_roles" not in text
