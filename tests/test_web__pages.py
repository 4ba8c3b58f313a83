"""Screens: drafts, attachments, batch approval, my items, admin, auditor, languages, escaping."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from tests.factories import act, establish, make_instance
from tests.web_helpers import csrf_of, form_post
from web import forms

pytest_plugins = ["tests.web_fixtures"]

DRAFT = {"title": "A draft idea", "category": "small_design", "department": "smelting",
         "field": "smelting", "description": "Something worth writing down first.",
         "intent": "draft"}


def test_web__save_draft_starts_the_instance_in_its_draft_state(login, engine, actor):
    client = login("demo_proposer")
    response = form_post(client, "/new/suggestion", DRAFT)
    assert response.status_code == 302
    instance_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    view = engine.get(instance_id, actor=actor("demo_proposer"))
    assert view.state == "draft"
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'id="action-submit"' in page


def test_web__invalid_form_comes_back_with_field_errors_and_values(login):
    client = login("demo_proposer")
    response = form_post(client, "/new/suggestion", {**DRAFT, "description": "short",
                                                     "expected_benefit": "12.345"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert page.count('class="field-error"') >= 2
    assert 'value="A draft idea"' in page


def test_web__forms_parse_typed_values_and_skip_blank_rows():
    schema = {"type": "object", "properties": {
        "n": {"type": "integer"}, "x": {"type": "number"},
        "m": {"type": "string", "format": "money"}, "e": {"enum": ["a", "b"]},
        "flag": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string"}},
        "team": {"type": "array", "items": {"type": "object", "properties": {
            "username": {"type": "string"}, "share": {"type": "integer"}}}},
        "out": {"type": "object", "properties": {"patents": {"type": "integer"}}}}}
    form = {"n": "42", "x": "1.5", "m": "1,234.50", "e": "b", "flag": "on", "tags": "a\n\nb",
            "team.0.username": "li", "team.0.share": "60", "team.1.username": "",
            "team.1.share": "", "team.2.username": "wang", "team.2.share": "x",
            "out.patents": ""}
    assert forms.parse(schema, form) == {
        "n": 42, "x": 1.5, "m": "1234.50", "e": "b", "flag": True, "tags": ["a", "b"],
        "team": [{"username": "li", "share": 60}, {"username": "wang", "share": "x"}]}


def test_web__attachments_are_checked_by_content_and_downloaded(login, engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    owner = login("demo_proposer")
    token = csrf_of(owner)
    fake = owner.post(f"/instances/{view.id}/attachments", data={
        "csrf_token": token, "file": (io.BytesIO(b"MZ\x90\x00\x03binary"), "report.pdf")})
    assert fake.status_code == 422
    good = owner.post(f"/instances/{view.id}/attachments", data={
        "csrf_token": token, "file": (io.BytesIO(b"%PDF-1.7 plan"), "../../plan<1>.pdf")})
    assert good.status_code == 302
    download = login("head_smelting").get("/attachments/1")
    assert download.status_code == 200
    assert download.data == b"%PDF-1.7 plan"
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    download.close()
    assert login("head_power").get("/attachments/1").status_code == 404


def test_web__attachment_size_is_limited(app, login, engine, actor):
    app.config["MAX_ATTACHMENT_BYTES"] = 100
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    owner = login("demo_proposer")
    response = owner.post(f"/instances/{view.id}/attachments", data={
        "csrf_token": csrf_of(owner), "file": (io.BytesIO(b"a" * 101), "notes.txt")})
    assert response.status_code == 422


def test_web__inbox_lists_overdue_first_and_batch_approves(login, engine, actor, clock):
    proposer = actor("demo_proposer")
    old = make_instance(engine, proposer, "suggestion")
    clock.advance(days=10)
    new = make_instance(engine, proposer, "suggestion")
    head = login("head_smelting")
    page = head.get("/inbox").get_data(as_text=True)
    assert page.index(f"/instances/{old.id}") < page.index(f"/instances/{new.id}")
    assert 'class="overdue"' in page
    assert '<span class="badge" id="inbox-count">2</span>' in page
    response = form_post(head, "/inbox/batch", {"pick": [f"{old.id}:{old.state}",
                                                          f"{new.id}:{new.state}"]})
    assert response.status_code == 302
    for view in (old, new):
        assert engine.get(view.id, actor=proposer).state == "under_expert_review"


def test_web__inbox_badge_counts_what_the_inbox_lists(login, engine, actor):
    """An item naming the head on its team is neither listed nor counted, on any page."""
    proposer = actor("demo_proposer")
    plain = make_instance(engine, proposer, "suggestion")
    named = make_instance(engine, proposer, "suggestion", team=[
        {"username": "demo_proposer", "share": 50}, {"username": "head_smelting", "share": 50}])
    head = login("head_smelting")
    page = head.get("/inbox").get_data(as_text=True)
    assert f'href="/instances/{plain.id}"' in page
    assert f'href="/instances/{named.id}"' not in page
    for shown in (page, head.get("/mine").get_data(as_text=True)):
        assert '<span class="badge" id="inbox-count">1</span>' in shown


def test_web__inbox_filters_by_lifecycle(login, engine, actor):
    make_instance(engine, actor("demo_proposer"), "suggestion")
    head = login("head_smelting")
    assert "/instances/1" in head.get("/inbox?workflow=suggestion").get_data(as_text=True)
    assert "/instances/1" not in head.get("/inbox?workflow=project").get_data(as_text=True)


def test_web__my_items_offer_withdraw_and_it_works(login, engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    client = login("demo_proposer")
    page = client.get("/mine").get_data(as_text=True)
    assert f"/instances/{view.id}/act/withdraw" in page
    response = form_post(client, f"/instances/{view.id}/act/withdraw",
                         {"expected_version": str(view.version)})
    assert response.status_code == 302
    assert engine.get(view.id, actor=actor("demo_proposer")).state == "withdrawn"


def test_web__stale_form_is_a_conflict_and_changes_nothing(login, engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    head = login("head_smelting")
    response = form_post(head, f"/instances/{view.id}/act/approve",
                         {"expected_version": str(view.version - 1)})
    assert response.status_code == 409
    assert engine.get(view.id, actor=actor("head_smelting")).version == view.version


def test_web__user_data_is_escaped_everywhere(login, engine, actor):
    evil = '<script>alert(1)</script>'
    view = make_instance(engine, actor("demo_proposer"), "suggestion", title=evil,
                         description=evil + " long enough")
    for user, path in (("demo_proposer", f"/instances/{view.id}"), ("demo_proposer", "/mine"),
                       ("head_smelting", "/inbox"), ("auditor", "/audit")):
        page = login(user).get(path).get_data(as_text=True)
        assert evil not in page, (user, path)
        assert "&lt;script&gt;" in page, (user, path)


def test_web__chinese_is_the_default_for_a_chinese_browser_and_switchable(login):
    client = login("demo_proposer")
    page = client.get("/inbox", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "待办" in page.get_data(as_text=True)
    english = client.get("/inbox", headers={"Accept-Language": "en-US"})
    assert "Inbox" in english.get_data(as_text=True)
    form_post(client, "/lang/zh", {"next": "/inbox"})
    page = client.get("/inbox", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "待办" in page


def test_web__money_and_labels_follow_the_locale(login, engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    client = login("demo_proposer")
    zh = client.get(f"/instances/{view.id}", headers={"Accept-Language": "zh-CN"})
    text = zh.get_data(as_text=True)
    assert "¥120,000.00" in text and "部门审核" in text and "电解铝厂" in text
    en = client.get(f"/instances/{view.id}", headers={"Accept-Language": "en"})
    assert "Department review" in en.get_data(as_text=True)


def test_web__admin_adds_a_user_with_a_scoped_role(login, engine):
    admin = login("sta_admin")
    response = form_post(admin, "/admin/users", {"username": "new_head", "name": "New Head",
                                                 "department": "power",
                                                 "roles": "dept_head@power"})
    assert response.status_code == 302
    bad = form_post(admin, "/admin/users", {"username": "other", "roles": "dept_head"})
    assert bad.status_code == 422
    page = admin.get("/admin").get_data(as_text=True)
    assert "new_head" in page and "dept_head@power" in page
    assert "suggestion.yaml" in page


def test_web__auditor_sees_everything_and_the_chain_status(login, engine, actor):
    make_instance(engine, actor("demo_proposer"), "suggestion")
    auditor = login("auditor")
    assert "/instances/1" in auditor.get("/audit").get_data(as_text=True)
    chain = auditor.get("/audit/chain").get_data(as_text=True)
    assert 'id="chain-ok"' in chain
    page = auditor.get("/instances/1").get_data(as_text=True)
    assert 'id="action-' not in page
    assert 'href="/new"' not in page and 'href="/mine"' not in page  # nothing to submit
    assert 'href="/new"' in login("demo_proposer").get("/inbox").get_data(as_text=True)


def test_web__chinese_catalog_is_complete_and_compiled():
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = Path(forms.__file__).parent / "translations" / "zh" / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    missing = [m.id for m in catalog if m.id and not all(
        m.string if isinstance(m.string, tuple) else [m.string])]
    assert missing == []
    with (folder / "messages.mo").open("rb") as handle:
        compiled = read_mo(handle)
    def flat(value: Any) -> Any:
        return tuple(value) if isinstance(value, list | tuple) else value

    def pairs(messages: Any) -> dict[Any, Any]:
        return {flat(m.id): flat(m.string) for m in messages
                if m.id and "fuzzy" not in m.flags}

    # The committed .mo holds exactly the .po's translations (it was compiled after the edit).
    assert pairs(compiled) == pairs(catalog)


def test_web__my_items_offer_urge_once_a_working_day(login, engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    client = login("demo_proposer")
    assert f"/instances/{view.id}/act/urge" in client.get("/mine").get_data(as_text=True)
    first = form_post(client, f"/instances/{view.id}/act/urge",
                      {"expected_version": str(view.version), "next": "mine"})
    assert first.status_code == 302 and first.headers["Location"].endswith("/mine")
    fresh = engine.get(view.id, actor=actor("demo_proposer"))
    again = form_post(client, f"/instances/{view.id}/act/urge",
                      {"expected_version": str(fresh.version), "next": "mine"})
    assert again.status_code == 409


def test_web__delegation_from_the_profile_puts_tasks_in_the_substitutes_inbox(login, engine,
                                                                               actor):
    head = login("head_smelting")
    response = form_post(head, "/auth/profile/delegations", {
        "substitute": "head_power", "starts_on": "2026-11-23", "ends_on": "2026-11-27"})
    assert response.status_code == 302
    assert "head_power" in head.get("/auth/profile").get_data(as_text=True)
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    substitute = login("head_power")
    page = substitute.get("/inbox", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"/instances/{view.id}" in page and "for head_smelting" in page
    response = form_post(substitute, f"/instances/{view.id}/act/approve",
                         {"expected_version": str(view.version)})
    assert response.status_code == 302
    history = engine.history(view.id, actor=actor("sta_admin"))
    assert (history[-1].actor, history[-1].on_behalf_of) == ("head_power", "head_smelting")
    bad = form_post(head, "/auth/profile/delegations", {
        "substitute": "head_smelting", "starts_on": "2026-11-23", "ends_on": "2026-11-27"})
    assert bad.status_code == 422


def test_web__values_set_by_steps_show_their_labels_not_their_codes(app, login, engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    view = act(engine, view, "approve", actor("head_smelting"))
    for n in (1, 2, 3):
        view = act(engine, view, "score", actor(f"expert_smelting_{n}"))
    assert view.state == "under_committee_review"
    assert isinstance(view.data["recommendation"], str)
    assert any(isinstance(v, bool) for v in view.data.values())
    client = login("demo_proposer")
    for language, yes_or_no in (("zh-CN", ("是", "否")), ("en", ("Yes", "No"))):
        headers = {"Accept-Language": language}
        text = client.get(f"/instances/{view.id}", headers=headers).get_data(as_text=True)
        with app.test_request_context(headers=headers):
            assert str(forms.value_label(view.data["recommendation"])) in text
        assert f">{view.data['recommendation']}<" not in text
        assert ">False<" not in text and ">True<" not in text
        assert any(f">{word}<" in text for word in yes_or_no)


def test_web__a_reward_decision_shows_its_money_as_money(login, engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    view = act(engine, view, "approve", actor("head_smelting"))
    for n in (1, 2, 3):
        view = act(engine, view, "score", actor(f"expert_smelting_{n}"))
    for action, who in (("adopt", "committee_office"), ("report_completion", "head_smelting"),
                        ("verify_benefit", "finance"), ("decide_reward", "sta_admin")):
        view = act(engine, view, action, actor(who))
    reward = view.data["reward"]
    amounts = [reward["amount"], reward["base"], *reward["components"].values(),
               view.data["reward_amount"]]
    text = login("demo_proposer").get(f"/instances/{view.id}",
                                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    for amount in amounts:
        assert f">{amount}<" not in text, amount  # never the bare stored text
        assert f">¥{Decimal(amount):,.2f}<" in text, amount


def test_web__the_profile_names_roles_and_where_they_are_held(login):
    head = login("head_smelting")
    english = head.get("/auth/profile", headers={"Accept-Language": "en-US"})
    assert "Department head · Smelting plant" in english.get_data(as_text=True)
    chinese = head.get("/auth/profile", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    page = chinese.get_data(as_text=True)
    assert "电解铝厂" in page and "dept_head" not in page


def test_web__an_acceptance_names_its_project_from_a_list_of_ones_own(login, engine, actor):
    project = establish(engine, actor)
    unfinished = make_instance(engine, actor("demo_proposer"), "project", index=1)
    owner = login("demo_proposer")
    page = owner.get("/new/acceptance").get_data(as_text=True)
    assert f'<option value="{project.id}"' in page and f"#{project.id} {project.title}" in page
    assert f'<option value="{unfinished.id}"' not in page  # not established yet
    other = login("power_engineer").get("/new/acceptance").get_data(as_text=True)
    assert f'<option value="{project.id}"' not in other  # only the owner may report on it
    response = form_post(owner, "/new/acceptance", {
        "project_id": str(project.id), "summary": "Pilot done; the product meets the standard.",
        "intent": "submit"})
    assert response.status_code == 302
    view = engine.get(int(response.headers["Location"].rsplit("/", 1)[1]),
                      actor=actor("demo_proposer"))
    assert (view.state, view.links) == ("under_formal_review", {"project": [project.id]})


def test_web__admin_lists_definitions_by_their_titles(login):
    page = login("sta_admin").get("/admin", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "项目验收 <small>acceptance</small>" in page.get_data(as_text=True)


def test_web__admin_shows_each_users_roles_in_words_beside_the_codes(login):
    page = login("sta_admin").get("/admin", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    html = page.get_data(as_text=True)
    assert 'value="dept_head@smelting"' in html  # still edited as written
    assert '<small class="muted">部门负责人 · 电解铝厂</small>' in html
