"""Definition versions: stored with a content hash; running instances keep their version."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from tests.factories import actor_getter, copy_definitions, folder_engine, make_instance
from tests.replay import assert_all_replay
from workflow import Engine, InvalidAction
from workflow.errors import DefinitionError
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
