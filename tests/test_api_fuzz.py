"""Schemathesis over the whole REST API, as national, as a coach and as a relais admin.

Every operation of /api/v1/openapi.json gets generated requests, valid and invalid (positive
and negative modes), against the app (WSGI) with the real PostgreSQL and Redis, in a small
seeded world. A run fails on any 5xx and on any response that the document does not describe
(status code, content type, body schema). Then the stateful phase follows the document's
links from created objects. Each role sends at least `MIN_REQUESTS` requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from relais_platform.accounts.models import User
from relais_platform.extensions import db
from tests.factories import bearer
from tests.isolation_world import build_world

pytestmark = pytest.mark.fuzz

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
ROLES = {"national": "national", "coach": "coach_b", "relais_admin": "admin_a"}
MIN_REQUESTS = 1_000
EXAMPLES = {GenerationMode.POSITIVE: 7, GenerationMode.NEGATIVE: 5}
STATEFUL_SCENARIOS = 10
STATEFUL_STEPS = 8
# Operations that end the token the fuzzer signs in with: fuzzed last would be pointless.
SIGN_OUT = {("DELETE", "/api/v1/auth/tokens/current")}


def _fuzz_operation(operation: Any, mode: GenerationMode, headers: dict[str, str],
                    record: Callable[[str], None]) -> int:
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        nonlocal sent
        sent += 1
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except Exception as exc:  # collect every failure, then report them all
            record(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")

    try:
        run()
    except Exception as exc:  # a failure hypothesis re-raised after its own search
        record(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    return sent


def _stateful(schema: Any, headers: dict[str, str], record: Callable[[str], None]) -> int:
    """Scenarios chaining operations through the links schemathesis infers (an id created by a
    POST reused by its GET, PATCH, DELETE…). Returns the number of steps answered signed in."""
    steps = 0
    scenarios = schema.exclude(method="DELETE", path="/api/v1/auth/tokens/current")

    class Machine(scenarios.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            nonlocal steps
            steps += response.status_code != 401
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except Exception as exc:
                record(f"{case.operation.label} [stateful]: {str(exc)[:1500]}")

    try:
        run_state_machine_as_test(Machine, settings=settings(
            max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS, deadline=None,
            database=None, derandomize=True, phases=[Phase.generate],
            suppress_health_check=list(HealthCheck)))
    except Exception as exc:
        record(f"stateful: {str(exc)[:1500]}")
    return steps


@pytest.mark.parametrize("role", list(ROLES))
def test_api_fuzz(app, role):
    with app.app_context():
        world = build_world()
    headers = world.headers[ROLES[role]]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    sent = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (op.method.upper(), op.path) in SIGN_OUT)
    for operation in operations:
        for mode in EXAMPLES:
            sent += _fuzz_operation(operation, mode, headers, failures.append)
    with app.app_context():  # the stateless phase signed out (DELETE /auth/tokens/current)
        headers = bearer(db.session.get(User, getattr(world, ROLES[role])))
    stateful = _stateful(schema, headers, failures.append)
    distinct = sorted(set(failures))
    assert not distinct, f"{len(distinct)} failures as {role}:\n\n" + "\n\n".join(distinct)
    assert sent >= MIN_REQUESTS, sent
    assert stateful > 0
    print(f"{role}: {sent} requests over {len(operations)} operations, {stateful} stateful steps")


