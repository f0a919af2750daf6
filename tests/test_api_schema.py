"""Schemathesis drives every operation of the OpenAPI schema with generated requests (a bounded
number per operation) as an admin, so each route's validation is exercised: no input may cause a
5xx."""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from curation.importers import import_file
from curation.snapshots import create_snapshot
from curation.store import Store
from labeling.api import create_app
from labeling.api.keys import create_key
from labeling.api.service import SubmissionService


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, field_dir):
    home = tmp_path_factory.mktemp("api-schema")
    path = home / "triforge.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRIFORGE_HOME", str(home))
        with Store(path) as store:
            import_file(store, field_dir / "farore_debugging_training.jsonl")
            create_snapshot(store, "all")
            secret = create_key(store, "fuzzer", "admin")[1]
        app = create_app(path=path)
        app.state.service = SubmissionService(path)
        yield app, secret
        app.state.service.close()


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: schemathesis.SerializationContext, value: object) -> bytes:
    """The batch endpoint takes JSON lines; generated strings are sent as they are."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else json.dumps(value).encode()


def test_no_input_makes_the_server_fail(prepared):
    # Schemathesis' pytest plugin does not load under this pytest; its operations and hypothesis
    # strategies are driven directly instead, which runs the same generated cases and checks.
    app, secret = prepared
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"X-API-Key": secret}, checks=[not_a_server_error])

        exercise()
