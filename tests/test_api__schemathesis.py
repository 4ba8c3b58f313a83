"""Schemathesis against /api/v1/openapi.json as each role: no 5xx, every answer fits the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from tests.factories import make_instance

pytest_plugins = ["tests.web_fixtures"]

ROLES = ["demo_proposer", "head_smelting", "expert_smelting_1", "chair_smelting",
         "committee_office", "committee_member", "finance", "sta_admin", "general_manager",
         "auditor"]
"""One user per role (the proposer stands for every user without one)."""
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance]
EXAMPLES = 15


@pytest.mark.parametrize("username", ROLES)
def test_api__fuzzed_requests_never_fail_the_server_or_the_schema(app, engine, actor, token,
                                                                  username):
    make_instance(engine, actor("demo_proposer"), "suggestion")
    headers = token(username)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 9
    for operation in operations:
        _fuzz(operation, headers)


def _fuzz(operation, headers):
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
