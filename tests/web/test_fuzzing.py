"""Schema-driven fuzzing: schemathesis against the /openapi.json of a real gunicorn.

Every operation of the document, with data that fits it (positive) and data that
does not (negative), with a valid token and without one, sent over HTTP to the app
under gunicorn on PostgreSQL (gunicorn answers some requests itself). First the
cases of schemathesis's coverage phase (each constraint at and past its bounds,
required parts left out), then generated ones; positive cases include listings
with very long query strings (a long `q`, many `tag`s), past gunicorn's
request-line limit too. Each answer must pass schemathesis's checks: no server
error, a documented status code, the documented content type, a body that matches
the documented schema, invalid data refused, authentication enforced. On top, each
status must be documented *explicitly* on its operation (flask-smorest's catch-all
`default` response would otherwise cover anything).

Bounded: FUZZ_EXAMPLES generated cases per operation and mode (default 30).
PostgreSQL only (the production database), in the PostgreSQL pass of scripts/test.
Alone: `scripts/test tests/web/test_fuzzing.py -n 0 -s` prints the counts;
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
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.servers import gunicorn
from tests.support.users import User, bearer, make_token, new_user_id

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.no_pgbouncer("exercises HTTP, not the way to the database"),
]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]
RATE_LIMIT = "1000000/minute"  # the fuzzer is one very busy user
EXISTING = "00000000-0000-4000-8000-00000000feed"  # replaced by a fresh task's id


@pytest.fixture(scope="module")
def fuzz_app(make_app):
    """In this process, on the same database: makes the tasks cases aim at."""
    return make_app(API_RATE_LIMIT=RATE_LIMIT)


@pytest.fixture(scope="module")
def server_url(app, database_uri, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("fuzz") / "gunicorn.log"
    with gunicorn(database_uri, log_path, API_RATE_LIMIT=RATE_LIMIT) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def schema(server_url):
    return schemathesis.openapi.from_url(f"{server_url}/openapi.json")


def operations(schema):
    found = []
    for result in schema.get_all_operations():
        found.append(result.ok())
    return found


def explicitly_documented(operation, status: int) -> bool:
    codes = {str(code) for code in operation.responses.status_codes}
    return str(status) in codes or f"{str(status)[0]}XX" in codes


def with_long_query(case, name: str, length: int):
    """The case with about `length` more characters of query string: one long
    `q`, or many `tag`s. Lengths reach past gunicorn's request-line limit."""
    query = dict(case.query or {})
    if name == "q":
        query["q"] = "q" * length
    else:
        query["tag"] = [f"tag-{n:05}" for n in range(length // 14)]
    case.query = query
    return case


def long_queries(operation, mode):
    """Positive cases only: a negative case stays the one its marks describe."""
    names = {parameter.name for parameter in operation.query}
    return st.builds(
        with_long_query,
        operation.as_strategy(generation_mode=mode),
        st.sampled_from(sorted(names & {"q", "tag"})),
        st.sampled_from([2_000, 6_000, 8_100, 8_300, 12_000, 20_000]),
    )


def strategy_for(operation, mode, user_id):
    """Cases as schemathesis makes them; with a token, also cases aimed at the
    token's own user and at one of their real tasks, so the handlers are reached;
    in positive mode, also listings with very long query strings."""
    strategies = [operation.as_strategy(generation_mode=mode)]
    names = {parameter.name for parameter in operation.path_parameters}
    aimed = {"user_id": user_id, "task_id": EXISTING}
    aimed = {name: value for name, value in aimed.items() if name in names}
    if user_id is not None and aimed:
        strategies.append(
            operation.as_strategy(generation_mode=mode, path_parameters=aimed)
        )
    queried = {parameter.name for parameter in operation.query}
    if mode == schemathesis.GenerationMode.POSITIVE and queried & {"q", "tag"}:
        strategies.append(long_queries(operation, mode))
    return st.one_of(strategies)


def coverage_cases(schema, operation, mode, user_id):
    """The cases of schemathesis's coverage phase, which `schemathesis run` starts
    with: each constraint of the document at and past its bounds, required parts
    left out. With a token, those with a valid path are aimed like the others."""
    config = schema.config.generation_for(operation=operation, phase="coverage")
    cases = schema.iter_coverage_cases(
        operation, generation_modes=[mode], generation_config=config
    )
    names = {parameter.name for parameter in operation.path_parameters}
    aimed = {"user_id": user_id, "task_id": EXISTING}
    aimed = {name: value for name, value in aimed.items() if name in names}
    for case in cases:
        if user_id is not None and not case.meta.is_negative_at(ParameterLocation.PATH):
            case.path_parameters = {**(case.path_parameters or {}), **aimed}
        yield case


def fuzz(fuzz_app, server_url, schema, mode, with_token):
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
            response = case.call(base_url=server_url, headers=headers)
            statuses[response.status_code] += 1
            # (A coverage case with another method than the operation's is no
            # operation of the document: its 405 is the contract's.)
            same_method = case.method.upper() == case.operation.method.upper()
            if same_method and not explicitly_documented(
                case.operation, response.status_code
            ):
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
            except (AssertionError, FailureGroup) as error:
                for failure in getattr(error, "exceptions", [error]):
                    key = (case.operation.label, type(failure).__name__)
                    curl = case.as_curl_command()
                    curl = curl if len(curl) < 2000 else f"{curl[:2000]}... (cut)"
                    failures.setdefault(key, f"{failure}\n{curl}")

        for case in coverage_cases(schema, operation, mode, user_id):
            run = hypothesis.example(case=case)(run)
        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            if operation.label not in counts:  # not even a coverage case
                impossible.append(operation.label)
    return counts, statuses, failures, undocumented, impossible


MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


@pytest.mark.parametrize("with_token", [True, False], ids=["token", "no-token"])
@pytest.mark.parametrize("mode", MODES, ids=str)
def test_no_input_breaks_the_documented_contract(
    fuzz_app, server_url, schema, mode, with_token
):
    result = fuzz(fuzz_app, server_url, schema, mode, with_token)
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
