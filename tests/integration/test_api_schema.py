"""The OpenAPI document is the contract: schemathesis runs every check it has (status codes and
headers declared, responses valid against their schemas, schema-valid requests accepted and
invalid ones rejected, auth enforced, 405s with a right ``Allow``) over every operation, in all its
phases - examples, coverage, fuzzing and the stateful phase that chains operations through their
links - against the app in process, as an admin with the rate limit raised. It must find nothing.

The filter pattern is checked on its own too: every string it admits compiles and runs.
"""

import collections
import json
import os
import time
import typing

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import OperationConfig
from schemathesis.engine import events, from_schema

from curation.dedup.run import DedupConfig, run_dedup
from curation.filters import FIELDS, PREDICTED_TASKS
from curation.importers import import_file
from curation.resources.keys import ROLES
from curation.workspace import Workspace
from labeling.api import patterns
from labeling.api.app import create_app
from labeling.api.curator_models import Role, SampleStatus
from labeling.api.service import SubmissionService
from labeling.api.settings import ServiceSettings
from schemas.sample import SAMPLE_STATUSES

# A few dozen cases per operation keep the run near 20 s on 2 cores; set these to dig deeper or elsewhere.
EXAMPLES_PER_OPERATION = int(os.environ.get("TRIFORGE_SCHEMATHESIS_EXAMPLES", "25"))
SEED = int(os.environ.get("TRIFORGE_SCHEMATHESIS_SEED", "20261202"))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, field_dir):
    home = tmp_path_factory.mktemp("api-schema")
    with Workspace(home) as ws:
        import_file(ws, field_dir / "farore_debugging_training.jsonl")
        ws.snapshots.create("all")
        run_dedup(ws, config=DedupConfig(methods=("minhash",)))
        secret = ws.keys.create("fuzzer", "admin")[1]
    # The rate limit is raised for this test only: the run sends hundreds of requests with one key.
    app = create_app(home, ServiceSettings(requests_per_minute=10**7, burst=10**6))
    app.state.service = SubmissionService(Workspace(home))
    yield app, secret, home
    app.state.service.close()


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: schemathesis.SerializationContext, value: object) -> bytes:
    """The batch endpoint takes JSON lines; its document describes them as the array of its lines, so
    each generated item goes out as one line. A generated non-array (a negative case) has no
    JSON-lines form; it goes out as what a client with nothing to send sends, an empty body."""
    if not isinstance(value, list):
        return b""
    return "".join(json.dumps(item) + "\n" for item in value).encode("utf-8")


# The batch route's contract is partial acceptance: a line that does not fit comes back with its errors in a
# 200, beside the lines that were stored. Schemathesis's negative-data check expects the whole request refused,
# so it is off for that one operation; every other check runs on it, and test_batch_* cover the line errors.
def _batch_partial_acceptance() -> OperationConfig:
    operation = OperationConfig.from_dict({"include-path": "/v1/submissions/batch", "checks": {}})
    # Named as excluded (not just disabled) so it outranks the run-wide included_check_names=["all"].
    operation.checks.update(excluded_check_names=["negative_data_rejection"])
    return operation


def _run(
    app, secret: str, checks: tuple[str, ...] = ("all",), examples: int = EXAMPLES_PER_OPERATION
) -> dict[str, typing.Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.update(headers={"X-API-Key": secret})
    schema.config.checks.update(included_check_names=list(checks))
    # A body over the size limit is refused with 413 before it is parsed: a rejection as much as a 422.
    schema.config.checks.negative_data_rejection.expected_statuses.append("413")
    schema.config.operations.operations.append(_batch_partial_acceptance())
    schema.config.generation.update(max_examples=examples, database="none")
    schema.config.seed = SEED  # the same cases on every run: CI does not flake on a new draw
    operations = {op.ok().label for op in schema.get_all_operations()}
    cases = 0
    failures: dict[tuple[str, str, str], str] = {}
    errors: list[str] = []
    phases: dict[str, str] = {}
    statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    statuses[event.recorder.label][interaction.response.status_code] += 1
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    case = event.recorder.cases[case_id].value
                    request = f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:300]}"
                    key = (event.recorder.label, check.name, failure.title)
                    failures.setdefault(key, f"{failure.message[:500]}\n    {request}")
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            errors.append(str(event.info.format() if getattr(event, "info", None) else event))
        elif isinstance(event, events.PhaseFinished):
            skipped = event.phase.skip_reason
            phases[event.phase.name.value] = event.status.value + (f" ({skipped.value})" if skipped else "")
    return {
        "operations": operations,
        "cases": cases,
        "failures": failures,
        "errors": errors,
        "phases": phases,
        "statuses": statuses,
    }


def test_every_operation_keeps_its_contract(prepared):
    app, secret, _ = prepared
    started = time.monotonic()
    result = _run(app, secret)
    elapsed = time.monotonic() - started
    report = "\n".join(f"- {label} | {check} | {title}\n  {detail}" for (label, check, title), detail in
                       sorted(result["failures"].items()))  # fmt: skip
    print(
        f"schemathesis: {len(result['operations'])} operations, {result['cases']} cases, "
        f"{len(result['failures'])} unique failures, {elapsed:.0f} s; phases {result['phases']}"
    )
    assert not result["errors"], result["errors"]
    assert not result["failures"], report
    assert len(result["operations"]) >= 19
    assert result["phases"].get("stateful", "").startswith("success"), result["phases"]
    assert result["cases"] >= 19 * 10
    # The batch route is fuzzed with real submissions (each generated item one line), not only random strings.
    assert result["statuses"]["POST /v1/submissions/batch"][200] >= 5, result["statuses"]


DECLARED = ("status_code_conformance", "response_headers_conformance", "content_type_conformance",
            "response_schema_conformance")  # fmt: skip


def test_at_the_default_rate_limit_every_answer_is_still_declared(tmp_path_factory, field_dir):
    """The same operations at the service's default limits (60 requests a minute, bursts of 20): most
    answers are now 429s, and each must be one the document declares, with its Retry-After."""
    home = tmp_path_factory.mktemp("api-schema-limited")
    with Workspace(home) as ws:
        import_file(ws, field_dir / "farore_debugging_training.jsonl")
        secret = ws.keys.create("fuzzer", "admin")[1]
    app = create_app(home)
    app.state.service = SubmissionService(Workspace(home))
    try:
        result = _run(app, secret, checks=DECLARED, examples=4)
    finally:
        app.state.service.close()
    report = "\n".join(f"- {label} | {check} | {title}" for label, check, title in sorted(result["failures"]))
    assert not result["errors"], result["errors"]
    assert not result["failures"], report
    limited = sum(counter[429] for counter in result["statuses"].values())
    assert limited > 100, dict(result["statuses"])


def test_every_filter_the_pattern_admits_runs(prepared):
    samples = prepared[0].state.service.workspace.samples

    @given(st.from_regex(patterns.WHERE, fullmatch=True))
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def runs(where: str) -> None:
        samples.count(where)
        samples.list(where, limit=2)

    runs()


def test_patterns_cover_the_library_lists():
    # Adding a filter field means deciding how the API compares it; roles and statuses have one list each.
    placed = {*patterns.NUMBER_FIELDS, *patterns.TIME_FIELDS, *patterns.ENUM_FIELDS, *patterns.TEXT_FIELDS}
    predicted = {f"predicted.{task}{end}" for task in PREDICTED_TASKS for end in ("", "_score")}
    assert placed == set(FIELDS) | predicted
    assert typing.get_args(Role) == ROLES
    assert typing.get_args(SampleStatus) == SAMPLE_STATUSES


def test_the_document_states_limits_and_zoned_times(prepared):
    app, _, _ = prepared
    doc = app.openapi()
    where = next(p for p in doc["paths"]["/v1/samples"]["get"]["parameters"] if p["name"] == "where")
    text = next(alt for alt in where["schema"]["anyOf"] if alt.get("type") == "string")
    assert text["maxLength"] == patterns.WHERE_MAX_LENGTH and text["pattern"] == patterns.WHERE
    chat = doc["components"]["schemas"]["SubmissionIn"]["anyOf"][1]["properties"]["messages"]
    assert chat["maxItems"] == ServiceSettings.max_turns
    assert chat["items"]["properties"]["content"]["maxLength"] == ServiceSettings.max_chars_per_turn
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if operation.get("security"):
                assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
                assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert json.dumps(doc).count('"format": "date-time"') >= 5
    # Both submission routes document the Idempotency-Key header, the 409 for a reused key, the replay header.
    for path in ("/v1/submissions", "/v1/submissions/batch"):
        operation = doc["paths"][path]["post"]
        header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
        assert header["in"] == "header" and not header.get("required")
        assert "409" in operation["responses"]
        assert "Idempotent-Replayed" in operation["responses"]["200"]["headers"]
    assert "application/zip" in doc["paths"]["/v1/backups"]["post"]["responses"]["200"]["content"]
