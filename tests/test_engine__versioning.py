"""Definition versions: stored with a content hash; running instances keep their version."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests.definition_text import line_of, problems_on_check
from tests.factories import (
    actor_getter,
    copy_definitions,
    folder_engine,
    make_instance,
    make_user,
)
from tests.payout_helpers import BONUS, bonus_payout, to_awaiting_payment
from tests.replay import assert_all_replay
from workflow import Engine, InvalidAction
from workflow.cli import cli
from workflow.definition import checker, default_folder
from workflow.errors import DefinitionError, Forbidden
from workflow.store import DEFINITIONS

SHIPPED = {"suggestion", "project", "acceptance", "award", "payout"}


@pytest.fixture
def folder(tmp_path):
    return copy_definitions(tmp_path / "definitions")


@pytest.fixture
def engine(database, clock, calendar, folder) -> Engine:
    return folder_engine(database, clock, calendar, folder)


def versions(engine: Engine) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for row in engine.catalog.versions():
        found.setdefault(str(row["name"]), []).append(int(row["version"]))
    return found


def stored_rows(engine: Engine) -> int:
    with engine.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(DEFINITIONS)).scalar_one())


def rename_department_review(folder) -> None:
    """Version 2 of the suggestion: the department step is renamed and its reject removed."""
    path = folder / "suggestion.yaml"
    text = path.read_text(encoding="utf-8")
    reject = ("  - {action: reject, source: under_department_review, dest: rejected, "
              "outcome: reject,\n     label: {en: Reject, zh: 不同意}}\n")
    assert text.count(reject) == 1
    text = text.replace(reject, "").replace("under_department_review", "under_dept_review")
    path.write_text(text, encoding="utf-8")


def test_versioning__each_definition_is_stored_with_version_one_and_its_hash(engine, folder):
    rows = engine.catalog.versions()
    assert {r["name"] for r in rows} >= SHIPPED
    for row in rows:
        assert row["version"] == 1
        text = (folder / str(row["file"])).read_text(encoding="utf-8")
        assert row["content_hash"] == hashlib.sha256(text.encode()).hexdigest()
        assert engine.catalog.newest(str(row["name"])).version == 1


def test_versioning__loading_an_unchanged_folder_keeps_the_version(engine, database, clock,
                                                                    calendar, folder):
    before = stored_rows(engine)
    engine.load_definitions()
    again = folder_engine(database, clock, calendar, folder)
    assert stored_rows(engine) == before
    assert versions(again) == versions(engine)
    assert {v for found in versions(again).values() for v in found} == {1}


def test_versioning__a_changed_file_becomes_version_two_of_that_definition_only(
        engine, folder):
    path = folder / "payout.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# a comment changes the content\n",
                    encoding="utf-8")
    engine.load_definitions()
    found = versions(engine)
    assert found["payout"] == [1, 2]
    assert all(found[name] == [1] for name in SHIPPED - {"payout"})
    assert engine.catalog.newest("payout").version == 2
    engine.load_definitions()
    assert versions(engine)["payout"] == [1, 2]


def test_versioning__old_instances_keep_behaving_by_version_one(engine, database, clock,
                                                                 calendar, folder):
    actor = actor_getter(engine)
    proposer = actor("demo_proposer")
    old = make_instance(engine, proposer, "suggestion")
    kept = make_instance(engine, proposer, "suggestion")
    assert (old.state, old.definition_version) == ("under_department_review", 1)

    rename_department_review(folder)
    engine.load_definitions()
    assert versions(engine)["suggestion"] == [1, 2]

    new = make_instance(engine, proposer, "suggestion")
    assert (new.state, new.definition_version) == ("under_dept_review", 2)
    assert engine.get(old.id, actor=proposer).definition_version == 1
    with pytest.raises(InvalidAction):
        engine.act(new.id, "reject", actor=actor("head_smelting"), comment="Not for us.")

    # The old instances are in a state version 2 no longer has, and may still be rejected.
    rejected = engine.act(kept.id, "reject", actor=actor("head_smelting"), comment="No.")
    assert (rejected.state, rejected.definition_version) == ("rejected", 1)
    moved = engine.act(old.id, "approve", actor=actor("head_smelting"))
    assert (moved.state, moved.definition_version) == ("under_expert_review", 1)
    assert "under_department_review" in {e.from_state for e in
                                         engine.history(old.id, actor=proposer)}

    # Another process that only knows the new folder still runs the old version from the
    # stored source.
    other = Engine(database, clock=clock, calendar=calendar, definitions=folder)
    other.load_definitions()
    assert other.catalog.newest("suggestion").version == 2
    view = other.act(moved.id, "return_for_revision", actor=actor("expert_smelting_1"),
                     comment="Please add measurements.",
                     data={"to_state": "under_department_review"})
    assert (view.state, view.definition_version) == ("under_department_review", 1)
    assert other.get(new.id, actor=proposer).definition_version == 2
    assert_all_replay(engine)
    assert_all_replay(other)


def test_versioning__a_broken_file_stores_no_new_version_at_all(engine, folder):
    before = stored_rows(engine)
    payout = folder / "payout.yaml"
    payout.write_text(payout.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    award = folder / "award.yaml"
    award.write_text(award.read_text(encoding="utf-8").replace(
        "after_working_days: 5", "after_working_days: 0"), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        engine.load_definitions()
    assert [p.file for p in caught.value.problems] == ["award.yaml"]
    assert stored_rows(engine) == before
    assert engine.catalog.newest("payout").version == 1


PAYOUT_BEFORE_QUOTING = Path(__file__).parent / "stored_versions" / "payout_before_quoting.yaml"
"""payout.yaml as it was stored before its reward description was quoted: the unquoted comma
in ``{type: object, description: the rule that applied, its inputs and its result}`` made
``its inputs and its result`` a key of the reward schema, which the keyword check refuses."""


def stored_before_a_check(database, clock, calendar, tmp_path, monkeypatch, old_text: str,
                          lift):
    """A payout started on ``old_text`` by a release without a check (``lift`` takes it
    away meanwhile), then the release with it started on the same database once the file
    is fixed: its engine, the actors, the payout and the stored version."""
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "bonus.yaml").write_text(BONUS, encoding="utf-8")
    (folder / "payout.yaml").write_text(old_text, encoding="utf-8")
    with monkeypatch.context() as before:
        lift(before)
        then = folder_engine(database, clock, calendar, folder)
        actor = actor_getter(then)
        payout = bonus_payout(then, actor, "800.00")
    assert (payout.state, payout.definition_version) == ("under_list_confirmation", 1)

    shutil.copy(default_folder() / "payout.yaml", folder / "payout.yaml")
    now = folder_engine(database, clock, calendar, folder)
    assert versions(now)["payout"] == [1, 2]
    [old_id] = [r["id"] for r in now.catalog.versions()
                if r["name"] == "payout" and r["version"] == 1]
    stored = now.catalog.by_id(int(old_id)).definition
    assert stored.source == old_text
    return now, actor, payout, stored


def test_versioning__a_version_stored_before_a_stricter_check_still_loads_and_acts(
        database, clock, calendar, tmp_path, monkeypatch):
    old_text = PAYOUT_BEFORE_QUOTING.read_text(encoding="utf-8")
    now, actor, payout, stored = stored_before_a_check(  # that release had no keyword check
        database, clock, calendar, tmp_path, monkeypatch, old_text,
        lambda before: before.setattr(checker, "keyword_problems", lambda *args: []))
    assert "its inputs and its result" in stored.start_schema["properties"]["reward"]

    view = to_awaiting_payment(now, actor, payout.id)
    assert (view.state, view.definition_version) == ("awaiting_payment", 1)
    paid = now.act(payout.id, "confirm_payment", actor=actor("finance_2"),
                   data={"payment_reference": "PAY-2026-000777"})
    assert (paid.state, paid.definition_version) == ("paid", 1)
    assert now.catalog.newest("payout").version == 2
    assert_all_replay(now)

    # The same text as a file is refused: by the checker, and by a server starting on it.
    [reward_line] = [n for n, text in enumerate(old_text.splitlines(), start=1)
                     if text.lstrip().startswith("reward:")]
    expected = (f"{reward_line}: start_schema: unknown JSON Schema keyword "
                "'its inputs and its result' at /properties/reward")
    path = tmp_path / "payout.yaml"
    path.write_text(old_text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["definitions", "check", str(path)])
    assert result.exit_code == 1
    [problem] = [line for line in result.output.splitlines() if line.startswith(f"{path}:")]
    assert problem.startswith(f"{path}:{expected}")
    definitions = tmp_path / "definitions"
    (definitions / "payout.yaml").write_text(old_text, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        Engine(database, clock=clock, calendar=calendar,
               definitions=definitions).load_definitions()
    assert [str(p).split(" (")[0] for p in caught.value.problems] == [f"payout.yaml:{expected}"]
    assert versions(now)["payout"] == [1, 2]


PAYOUT_WITH_LOOSE_SHAPES = (Path(__file__).parent / "stored_versions"
                            / "payout_with_loose_shapes.yaml")
"""payout.yaml as a release before the shape checks could store it: ``deadline_days: true``
(read as one working day), ``not_by_actors_of: confirm_list`` (a text where a list of actions
is meant), ``requires_comment: "yes"`` (a text where true or false is) and a label in
``zh-CN`` (a language nobody reads)."""


def no_new_file_checks(before: pytest.MonkeyPatch) -> None:
    """A release from before the checks that only guard new files: none of them reports."""
    before.setattr(checker.Checker, "add_if_new", lambda self, line, reason: None)


def test_versioning__a_version_stored_with_loose_shapes_still_loads_and_keeps_duties_apart(
        database, clock, calendar, tmp_path, monkeypatch):
    old_text = PAYOUT_WITH_LOOSE_SHAPES.read_text(encoding="utf-8")
    now, actor, payout, stored = stored_before_a_check(  # that release had no shape checks
        database, clock, calendar, tmp_path, monkeypatch, old_text, no_new_file_checks)
    step = stored.states["under_list_confirmation"].step
    assert step is not None and step.deadline_days == 1
    [approve] = stored.transitions_for("under_finance_review", "approve")
    assert approve.not_by_actors_of == ("confirm_list",)  # one action, not its letters

    # Whoever confirmed the list does not approve it, on the stored version too.
    both = make_user(now, "admin_and_finance", "sta_admin", "finance", department="finance_dept")
    view = now.act(payout.id, "confirm_list", actor=both)
    if view.state == "under_general_manager_approval":
        view = now.act(payout.id, "approve_over_budget", actor=actor("general_manager"))
    assert view.state == "under_finance_review"
    with pytest.raises(Forbidden) as refused:
        now.act(payout.id, "approve", actor=both)
    assert refused.value.message == "segregation_of_duties"
    now.act(payout.id, "approve", actor=actor("finance"))
    paid = now.act(payout.id, "confirm_payment", actor=actor("finance_2"),
                   data={"payment_reference": "PAY-2026-000778"})
    assert (paid.state, paid.definition_version) == ("paid", 1)
    assert_all_replay(now)

    # The same text as a file is refused: every loose shape on its line.
    cancel = line_of(old_text, 'requires_comment: "yes"')
    assert problems_on_check(tmp_path, old_text) == [
        f"{line_of(old_text, 'deadline_days: true')}: state 'under_list_confirmation' "
        "step: deadline_days must be a whole number of working days ≥ 1, got true",
        f"{cancel}: transition 'cancel': requires_comment must be true or false, got the "
        "text 'yes'",
        f"{cancel}: transition 'cancel': label: unknown language 'zh-CN' (en or zh)",
        f"{line_of(old_text, 'not_by_actors_of: confirm_list')}: transition 'approve': "
        "not_by_actors_of must be a list of action names, got the text 'confirm_list'",
    ]


PAYOUT_WITH_LOOSE_MEANINGS = (Path(__file__).parent / "stored_versions"
                              / "payout_with_loose_meanings.yaml")
"""payout.yaml as a release before the checks of meaning could store it: a reminder as many
working days before the deadline as the task has (``before_days: 5``), a copy to
``scope_from: departmnt`` (no such field) and to the auditor within a scope (never granted
in one), and a guard on the field ``yaer`` (no such field)."""


def test_versioning__a_version_stored_with_mistakes_of_meaning_still_loads_and_acts(
        database, clock, calendar, tmp_path, monkeypatch):
    old_text = PAYOUT_WITH_LOOSE_MEANINGS.read_text(encoding="utf-8")
    now, actor, payout, stored = stored_before_a_check(  # that release had no such checks
        database, clock, calendar, tmp_path, monkeypatch, old_text, no_new_file_checks)
    step = stored.states["under_finance_review"].step
    assert step is not None and [a.role for a in step.copy_to] == ["dept_head", "auditor"]

    view = to_awaiting_payment(now, actor, payout.id)
    assert (view.state, view.definition_version) == ("awaiting_payment", 1)
    paid = now.act(payout.id, "confirm_payment", actor=actor("finance_2"),
                   data={"payment_reference": "PAY-2026-000779"})
    assert (paid.state, paid.definition_version) == ("paid", 1)
    assert_all_replay(now)

    # The same text as a file is refused: every mistake on its line.
    review = "state 'under_finance_review' step copy_to"
    assert problems_on_check(tmp_path, old_text) == [
        f"{line_of(old_text, 'before_days: 5')}: state 'under_list_confirmation' step "
        "reminders: before_days 5 is not less than deadline_days 5: the reminder would fall on "
        "the day the task opens or before it",
        f"{line_of(old_text, 'role: auditor')}: {review}: role 'auditor' is granted "
        "without a scope; leave out scope 'finance_dept'",
        f"{line_of(old_text, 'departmnt')}: {review}: scope_from: no field 'departmnt' "
        "in this definition",
        f"{line_of(old_text, 'yaer')}: transition 'cancel': guard 'field_in': field: no "
        "field 'yaer' in this definition",
    ]
