"""The JSON API against API.md: shapes, statuses, error bodies, versions, idempotent payments."""

from __future__ import annotations

import re

import pytest

from tests.factories import act, make_instance, start_data, suggestion_to_committee

pytest_plugins = ["tests.web_fixtures"]

ISO_WITH_ZONE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)$")
INSTANCE_KEYS = {"id", "workflow", "definition_version", "state", "version", "data",
                 "created_by", "created_at", "tasks", "actions", "links"}


def _error(response, status, code):
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    return body["error"]


def test_api__workflows_list_each_definition(client, token):
    response = client.get("/api/v1/workflows", headers=token("demo_proposer"))
    assert response.status_code == 200
    names = {w["name"] for w in response.get_json()}
    assert {"suggestion", "project", "acceptance", "award", "payout"} <= names
    for workflow in response.get_json():
        assert {"name", "version", "title", "states"} <= set(workflow)


def test_api__workflow_detail_has_the_start_schema(client, token):
    body = client.get("/api/v1/workflows/suggestion", headers=token("demo_proposer")).get_json()
    assert body["start_schema"]["type"] == "object"
    assert "title" in body["start_schema"]["properties"]
    assert body["start_schema"]["properties"]["expected_benefit"]["type"] == "string"


def test_api__unknown_workflow_is_404(client, token):
    _error(client.get("/api/v1/workflows/nothing", headers=token("demo_proposer")), 404,
           "not_found")


def test_api__start_answers_201_with_the_instance(client, token, engine):
    response = client.post("/api/v1/instances", headers=token("demo_proposer"), json={
        "workflow": "suggestion", "data": start_data(engine, "suggestion")})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) >= INSTANCE_KEYS
    assert body["state"] == "draft" and body["version"] == 1
    assert body["created_by"] == "demo_proposer"
    assert ISO_WITH_ZONE.match(body["created_at"])
    assert body["data"]["expected_benefit"] == "120000.00"
    assert {a["name"] for a in body["actions"]} >= {"submit", "withdraw"}
    for action in body["actions"]:
        assert {"name", "label", "outcome", "requires_comment", "schema"} <= set(action)
        assert action["outcome"] in {"approve", "reject", "return", "withdraw", "submit",
                                     "other"}
    assert response.headers["Location"].endswith(f"/api/v1/instances/{body['id']}")


def test_api__invalid_data_is_422_with_fields_and_stores_nothing(client, token, engine, actor):
    headers = token("demo_proposer")
    data = start_data(engine, "suggestion", expected_benefit=12.5)
    error = _error(client.post("/api/v1/instances", headers=headers,
                               json={"workflow": "suggestion", "data": data}),
                   422, "validation_failed")
    assert "expected_benefit" in error["fields"]
    page = client.get("/api/v1/instances?mine=1", headers=headers).get_json()
    assert page["items"] == []


@pytest.mark.parametrize("body", [
    None, [], "text", {"data": {}}, {"workflow": 3}, {"workflow": "suggestion", "extra": 1},
    {"workflow": "suggestion", "data": []},
])
def test_api__malformed_start_bodies_are_400(client, token, body):
    response = client.post("/api/v1/instances", headers=token("demo_proposer"), json=body)
    _error(response, 400, "bad_request")


def test_api__no_token_is_401_and_a_bad_token_is_401(client):
    _error(client.get("/api/v1/tasks"), 401, "unauthenticated")
    _error(client.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"}), 401,
           "unauthenticated")
    _error(client.get("/api/v1/tasks", headers={"Authorization": "Basic abc"}), 401,
           "unauthenticated")


def test_api__openapi_needs_no_login_and_describes_every_path(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert set(spec["paths"]) == {
        "/workflows", "/workflows/{name}", "/instances", "/instances/{instance_id}",
        "/instances/{instance_id}/actions", "/instances/{instance_id}/history", "/tasks",
        "/reports/summary"}
    assert "Error" in spec["components"]["schemas"]


def test_api__instance_of_someone_else_is_404(client, token, engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    _error(client.get(f"/api/v1/instances/{view.id}", headers=token("head_power")), 404,
           "not_found")
    _error(client.get(f"/api/v1/instances/{view.id}/history", headers=token("power_engineer")),
           404, "not_found")
    _error(client.post(f"/api/v1/instances/{view.id}/actions", headers=token("head_power"),
                       json={"action": "approve"}), 404, "not_found")
    assert engine.get(view.id, actor=actor("demo_proposer")).version == view.version


def test_api__act_and_stale_version_conflict(client, token, engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    headers = token("head_smelting")
    response = client.post(f"/api/v1/instances/{view.id}/actions", headers=headers, json={
        "action": "approve", "comment": "好", "expected_version": view.version})
    assert response.status_code == 200
    body = response.get_json()
    assert body["state"] == "under_expert_review"
    assert body["version"] == view.version + 1
    again = client.post(f"/api/v1/instances/{view.id}/actions", headers=headers, json={
        "action": "approve", "expected_version": view.version})
    _error(again, 409, "version_conflict")
    history = client.get(f"/api/v1/instances/{view.id}/history", headers=headers).get_json()
    assert [e["seq"] for e in history] == list(range(1, len(history) + 1))
    assert history[-1]["action"] == "approve" and history[-1]["comment"] == "好"
    assert history[-1]["prev_hash"] == history[-2]["hash"]
    for event in history:
        assert {"seq", "at", "actor", "on_behalf_of", "action", "from_state", "to_state",
                "comment", "data", "hash", "prev_hash"} <= set(event)


def test_api__action_not_available_is_409_and_not_allowed_is_403(client, token, engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    _error(client.post(f"/api/v1/instances/{view.id}/actions", headers=token("head_smelting"),
                       json={"action": "adopt"}), 409, "invalid_action")
    _error(client.post(f"/api/v1/instances/{view.id}/actions", headers=token("auditor"),
                       json={"action": "approve"}), 403, "forbidden")


def test_api__missing_comment_where_required_is_422(client, token, engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    definition = engine.catalog.newest("suggestion").definition
    needs = [t.action for t in definition.transitions
             if t.source == view.state and t.requires_comment]
    assert needs, "reject and return at department review always require a comment"
    _error(client.post(f"/api/v1/instances/{view.id}/actions", headers=token("head_smelting"),
                       json={"action": needs[0]}), 422, "validation_failed")


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_api__non_finite_numbers_are_422_by_field_and_change_nothing(client, token, engine,
                                                                      actor, number):
    # Python's JSON parser accepts these words; no schema keyword refuses the number.
    view = act(engine, make_instance(engine, actor("demo_proposer"), "suggestion"), "approve",
               actor("head_smelting"))
    body = ('{"action": "score", "data": {"innovation": ' + number
            + ', "feasibility": 80, "benefit": 80}}')
    error = _error(client.post(f"/api/v1/instances/{view.id}/actions",
                               headers=token("expert_smelting_1"), data=body,
                               content_type="application/json"), 422, "validation_failed")
    assert error["fields"] == {"innovation": "must be a finite number"}
    assert engine.get(view.id, actor=actor("demo_proposer")).version == view.version


def test_api__list_pages_with_next(client, token, engine, actor):
    proposer = actor("demo_proposer")
    ids = [make_instance(engine, proposer, "suggestion", submit=False).id for _ in range(5)]
    headers = token("demo_proposer")
    page = client.get("/api/v1/instances?mine=1&limit=2", headers=headers).get_json()
    seen = [i["id"] for i in page["items"]]
    while page["next"]:
        page = client.get(page["next"], headers=headers).get_json()
        seen += [i["id"] for i in page["items"]]
    assert seen == sorted(ids, reverse=True)
    _error(client.get("/api/v1/instances?limit=0", headers=headers), 400, "bad_request")
    _error(client.get("/api/v1/instances?mine=maybe", headers=headers), 400, "bad_request")
    filtered = client.get("/api/v1/instances?workflow=project", headers=headers).get_json()
    assert filtered["items"] == []


def test_api__tasks_are_the_callers_inbox(client, token, engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    tasks = client.get("/api/v1/tasks", headers=token("head_smelting")).get_json()
    assert [t["instance_id"] for t in tasks] == [view.id]
    assert {"instance_id", "workflow", "state", "step", "due_at", "overdue"} <= set(tasks[0])
    assert ISO_WITH_ZONE.match(tasks[0]["due_at"])
    assert client.get("/api/v1/tasks", headers=token("head_power")).get_json() == []


def test_api__tasks_leave_out_items_naming_the_caller(client, token, engine, actor):
    proposer = actor("demo_proposer")
    plain = make_instance(engine, proposer, "suggestion")
    make_instance(engine, proposer, "suggestion", team=[
        {"username": "demo_proposer", "share": 50}, {"username": "head_smelting", "share": 50}])
    tasks = client.get("/api/v1/tasks", headers=token("head_smelting")).get_json()
    assert [t["instance_id"] for t in tasks] == [plain.id]


def _paid_payout(client, token, engine, actor, second_admin):
    view = suggestion_to_committee(engine, actor)
    view = act(engine, view, "adopt", actor("committee_office"))
    view = act(engine, view, "report_completion", actor("head_smelting"))
    view = act(engine, view, "verify_benefit", actor("finance"))
    view = act(engine, view, "decide_reward", actor("sta_admin"))
    payout = engine.get(view.links["payout"][0], actor=actor(second_admin))
    payout = engine.act(payout.id, "confirm_list", actor=actor(second_admin))
    payout = engine.act(payout.id, "approve", actor=actor("finance"))
    return payout


def test_api__confirm_payment_is_idempotent_by_reference(client, token, engine, actor,
                                                         second_admin):
    payout = _paid_payout(client, token, engine, actor, second_admin)
    headers = token("finance_2")
    path = f"/api/v1/instances/{payout.id}/actions"
    body = {"action": "confirm_payment", "data": {"payment_reference": "PAY-1"}}
    first = client.post(path, headers=headers, json=body)
    assert first.status_code == 200 and first.get_json()["state"] == "paid"
    again = client.post(path, headers=headers, json=body)
    assert again.status_code == 200
    assert again.get_json()["version"] == first.get_json()["version"]
    _error(client.post(path, headers=headers, json={
        "action": "confirm_payment", "data": {"payment_reference": "PAY-2"}}), 409,
        "invalid_action")
    summary = client.get("/api/v1/reports/summary?year=2026", headers=token("auditor"))
    assert summary.status_code == 200
    body = summary.get_json()
    assert body["reward_money"] == {"decided": "3000.00", "paid": "3000.00"}
    assert body["adopted_suggestions"] == 1
    assert body["by_workflow"]["payout"] == {"paid": 1}


def test_api__summary_is_for_reporting_roles_only(client, token):
    _error(client.get("/api/v1/reports/summary", headers=token("demo_proposer")), 403,
           "forbidden")
    _error(client.get("/api/v1/reports/summary?year=1999", headers=token("auditor")), 400,
           "bad_request")
    body = client.get("/api/v1/reports/summary?year=2026", headers=token("auditor")).get_json()
    assert body["reward_money"] == {"decided": "0.00", "paid": "0.00"}


def test_api__unknown_paths_and_methods_answer_json(client, token):
    headers = token("demo_proposer")
    _error(client.get("/api/v1/nothing", headers=headers), 404, "not_found")
    response = client.delete("/api/v1/tasks", headers=headers)
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
