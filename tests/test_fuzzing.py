"""Schema-driven fuzzing: schemathesis against the app's own /openapi.json.

Every operation of the document, with data that fits it (positive) and data that
does not (negative), with a valid token and without one. Each answer must pass
schemathesis's checks: no server error, a documented status code, the documented
content type, a body that matches the documented schema. On top, each status must
be documented *explicitly* on its operation (flask-smorest's catch-all `default`
response would otherwise cover anything).

Bounded: FUZZ_EXAMPLES cases per operation and mode (default 40; a few seconds per
pass). PostgreSQL only (the production database), in the PostgreSQL pass of
scripts/test. Alone: `scripts/test tests/test_fuzzing.py -n 0 -s` prints the counts;
FUZZ_REPORT=path.json writes them to a file.
"""

import json
import os
from collections import Counter

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import User, bearer, make_token, new_user_id

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.no_pgbouncer("exercises HTTP, not the way to the database"),
]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXISTING = "00000000-0000-4000-8000-00000000feed"  # replaced by a fresh task's id


@pytest.fixture(scope="module")
def fuzz_app(make_app):
    return make_app(
        API_RATE_LIMIT="1000000/minute",  # the fuzzer is one very busy user
        OPENAPI_URL_PREFIX="/",  # /openapi.json, as served in production
    )


@pytest.fixture(scope="module")
def schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app)


def operations(schema):
    found = []
    for result in schema.get_all_operations():
        found.append(result.ok())
    return found


def explicitly_documented(operation, status: int) -> bool:
    codes = {str(code) for code in operation.responses.status_codes}
    return str(status) in codes or f"{str(status)[0]}XX" in codes


def strategy_for(operation, mode, user_id):
    """Cases as schemathesis makes them; with a token, also cases aimed at the
    token's own user and at one of their real tasks, so the handlers are reached."""
    free = operation.as_strategy(generation_mode=mode)
    if user_id is None:
        return free
    names = {parameter.name for parameter in operation.path_parameters}
    aimed = {"user_id": user_id, "task_id": EXISTING}
    aimed = {name: value for name, value in aimed.items() if name in names}
    if not aimed:
        return free
    return st.one_of(
        free, operation.as_strategy(generation_mode=mode, path_parameters=aimed)
    )


def fuzz(fuzz_app, schema, mode, with_token):
    user_id = new_user_id("fuzz") if with_token else None
    headers = bearer(make_token(user_id)) if with_token else {}
    owner = User(fuzz_app.test_client(), user_id or "nobody", prefix="/api")
    counts = Counter()
    statuses = Counter()
    failures = {}  # (operation, check) -> a curl command reproducing it
    undocumented = Counter()
    impossible = []  # operations with nothing to make invalid (negative mode)

    for operation in operations(schema):

        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(case=strategy_for(operation, mode, user_id))
        def run(case):
            if case.path_parameters and case.path_parameters.get("task_id") == EXISTING:
                case.path_parameters["task_id"] = owner.create()["id"]
            counts[case.operation.label] += 1
            response = case.call(headers=headers)
            statuses[response.status_code] += 1
            if not explicitly_documented(case.operation, response.status_code):
                undocumented[(case.operation.label, response.status_code)] += 1
            checks = CHECKS
            declared = {parameter.name for parameter in case.operation.query}
            if set(case.query or ()) - declared:
                # The contract: an unknown query parameter is ignored. A case made
                # "invalid" by one is valid to this API, so it need not be refused.
                checks = [
                    check for check in CHECKS if check is not negative_data_rejection
                ]
            try:
                case.validate_response(response, checks=checks, headers=headers)
            except AssertionError as error:
                for failure in getattr(error, "exceptions", [error]):
                    key = (case.operation.label, type(failure).__name__)
                    failures.setdefault(key, f"{failure}\n{case.as_curl_command()}")

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            impossible.append(operation.label)
    return counts, statuses, failures, undocumented, impossible


MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


@pytest.mark.parametrize("with_token", [True, False], ids=["token", "no-token"])
@pytest.mark.parametrize("mode", MODES, ids=str)
def test_no_input_breaks_the_documented_contract(fuzz_app, schema, mode, with_token):
    result = fuzz(fuzz_app, schema, mode, with_token)
    counts, statuses, failures, undocumented, impossible = result
    report = {
        "mode": str(mode),
        "token": with_token,
        "operations": len(counts),
        "cases": sum(counts.values()),
        "statuses": dict(sorted(statuses.items())),
        "failures": [f"{op}: {check}" for op, check in sorted(failures)],
        "undocumented": sorted({status for _, status in undocumented}),
        "no_negative_cases": impossible,
    }
    print(json.dumps(report))
    if os.environ.get("FUZZ_REPORT"):
        with open(os.environ["FUZZ_REPORT"], "a") as out:
            out.write(json.dumps(report) + "\n")

    assert len(counts) + len(impossible) == len(operations(schema))  # all of them
    if mode == schemathesis.GenerationMode.POSITIVE:
        assert not impossible
    assert statuses[500] == 0
    assert not failures, "\n\n".join(failures.values())
    assert not undocumented, (
        f"statuses not documented explicitly: {sorted(undocumented)}"
    )
