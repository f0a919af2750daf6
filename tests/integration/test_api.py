"""The community API over a real DuckDB store, through FastAPI's TestClient."""

import io
import json
import zipfile

import pytest
from fastapi.testclient import TestClient

from curation.dedup.run import run_dedup
from curation.importers import import_file
from curation.validators.profiles import profile_for
from curation.workspace import Workspace
from labeling.api.app import create_app
from labeling.api.settings import ServiceSettings
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION

GOOD = {"kind": "debug_dialogue", "category": "mode_mismatch", "prompt": GOOD_QUESTION, "answer": GOOD_ANSWER}


@pytest.fixture
def keys(home, field_dir):
    with Workspace(home) as ws:
        import_file(ws, field_dir / "farore_debugging_training.jsonl")
        made = {role: ws.keys.create(f"{role}-person", role)[1] for role in ("contributor", "curator", "admin")}
        made["other"] = ws.keys.create("someone-else", "contributor")[1]
    return made


def client_for(home, settings=None) -> TestClient:
    return TestClient(create_app(Workspace(home), settings))


def h(secret: str) -> dict[str, str]:
    return {"X-API-Key": secret}


def test_auth_and_roles(home, keys):
    with client_for(home) as c:
        assert c.get("/healthz").json()["samples"] == 28
        assert c.post("/v1/submissions", json=GOOD).status_code == 401
        bad = c.post("/v1/submissions", json=GOOD, headers=h("tf_not-a-real-key"))
        assert bad.status_code == 401 and bad.headers["WWW-Authenticate"] == "X-API-Key"
        forbidden = c.get("/v1/samples", headers=h(keys["contributor"]))
        assert forbidden.status_code == 403 and "curator" in forbidden.json()["detail"]
        assert c.get("/v1/samples", headers=h(keys["curator"])).json()["total"] == 28
        assert c.get("/v1/keys", headers=h(keys["curator"])).status_code == 403
        assert {k["role"] for k in c.get("/v1/keys", headers=h(keys["admin"])).json()} == {
            "contributor",
            "curator",
            "admin",
        }
        assert all("key_hash" not in k for k in c.get("/v1/keys", headers=h(keys["admin"])).json())


def test_submissions_get_instant_feedback(home, keys):
    with client_for(home) as c:
        first = c.post("/v1/submissions", json=GOOD, headers=h(keys["contributor"]))
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["status"] == "validated" and body["valid"] is True and body["duplicate_of"] is None
        assert {v["validator"] for v in body["validation"]} == set(profile_for("debug_dialogue").validators)

        again = c.post("/v1/submissions", json=GOOD, headers=h(keys["contributor"]))
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
        assert again.json()["duplicate_of"] == {"id": body["sample_id"], "similarity": 1.0}

        near = dict(GOOD, answer=GOOD_ANSWER.replace("swallows", "eats"))
        near_body = c.post("/v1/submissions", json=near, headers=h(keys["contributor"])).json()
        assert near_body["status"] == "duplicate" and near_body["duplicate_of"]["id"] == body["sample_id"]
        assert 0.55 <= near_body["duplicate_of"]["similarity"] < 1.0

        hedged = dict(GOOD, answer="I think maybe the stack is wrong? Please provide the full routine.")
        bad = c.post("/v1/submissions", json=hedged, headers=h(keys["contributor"]))
        assert bad.status_code == 201
        report = bad.json()
        assert report["status"] == "invalid" and report["valid"] is False
        codes = {i["code"] for v in report["validation"] for i in v["issues"]}
        assert {"hedging", "asks_for_code", "missing_bug_header"} <= codes
        hedge = next(i for v in report["validation"] for i in v["issues"] if i["code"] == "hedging")
        assert hedge["location"]["turn"] == 1 and hedge["location"]["line"] == 1

        # Provenance is community + contributor; invalid work never enters review.
        sample = c.get(f"/v1/samples/{report['sample_id']}", headers=h(keys["curator"])).json()
        assert sample["provenance"][0]["source_type"] == "community"
        assert sample["provenance"][0]["source_name"] == "contributor-person"
        assert sample["status"] == "draft"


@pytest.mark.parametrize(
    "payload, loc",
    [
        ({"prompt": "q"}, ["body"]),
        (dict(GOOD, colour="red"), ["body", "colour"]),
        (dict(GOOD, category="Stack Imbalance!"), ["body", "category"]),
        (dict(GOOD, kind="poem"), ["body", "kind"]),
        (
            {"messages": [{"role": "user", "content": "q"}, {"role": "robot", "content": "a"}]},
            ["body", "messages", 1, "role"],
        ),
        (
            {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": 7}]},
            ["body", "messages", 1, "content"],
        ),
    ],
)
def test_schema_errors_are_422_with_the_field_path(home, keys, payload, loc):
    with client_for(home) as c:
        response = c.post("/v1/submissions", json=payload, headers=h(keys["contributor"]))
    assert response.status_code == 422
    assert any(err["loc"][: len(loc)] == loc for err in response.json()["detail"]), response.json()


def test_limits(home, keys):
    settings = ServiceSettings(
        max_body_bytes=4000, max_turns=3, max_chars_per_turn=2000, max_batch=2, requests_per_minute=60, burst=100
    )
    with client_for(home, settings) as c:
        turns = [{"role": r, "content": "x"} for r in ("user", "assistant") * 2]
        many = c.post("/v1/submissions", json={"messages": turns}, headers=h(keys["contributor"]))
        assert many.status_code == 422 and many.json()["detail"][0]["loc"] == ["body", "messages"]
        long = c.post("/v1/submissions", json=dict(GOOD, answer="A" * 2500, prompt="q"), headers=h(keys["contributor"]))
        assert long.status_code == 422 and long.json()["detail"][0]["loc"] == ["body", "answer"]
        huge = c.post(
            "/v1/submissions",
            content=b"{" + b" " * 5000 + b"}",
            headers={**h(keys["contributor"]), "Content-Type": "application/json"},
        )
        assert huge.status_code == 413
        streamed = c.post(
            "/v1/submissions",
            content=iter([b"{", b" " * 3000, b" " * 3000, b"}"]),
            headers={**h(keys["contributor"]), "Content-Type": "application/json"},
        )
        assert streamed.status_code == 413
        batch = "\n".join(json.dumps({"prompt": "q", "answer": "a"}) for _ in range(3))
        assert c.post("/v1/submissions/batch", content=batch, headers=h(keys["contributor"])).status_code == 413


def test_rate_limit_answers_429_with_retry_after(home, keys):
    with client_for(home, ServiceSettings(requests_per_minute=1, burst=2)) as c:
        codes = [c.get("/v1/contributors/me", headers=h(keys["contributor"])).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = c.get("/v1/contributors/me", headers=h(keys["contributor"]))
        assert int(limited.headers["Retry-After"]) >= 1
        # Limits are per key.
        assert c.get("/v1/contributors/me", headers=h(keys["other"])).status_code == 200


def test_batch_reports_each_line(home, keys):
    lines = [
        json.dumps(GOOD),
        "{not json",
        json.dumps({"prompt": "only a prompt"}),
        "",
        json.dumps(dict(GOOD, answer=GOOD_ANSWER + "\n\nDone.")),
    ]
    with client_for(home) as c:
        out = c.post("/v1/submissions/batch", content="\n".join(lines), headers=h(keys["contributor"])).json()
    assert (out["accepted"], out["rejected"]) == (2, 2)
    by_line = {r["line"]: r for r in out["results"]}
    assert set(by_line) == {1, 2, 3, 5}
    assert by_line[1]["submission"]["status"] == "validated"
    assert by_line[2]["errors"][0]["loc"][:2] == ["line", 2]
    assert by_line[3]["errors"][0]["loc"][:2] == ["line", 3]
    assert by_line[5]["submission"]["status"] == "duplicate"


def test_status_follows_review_and_contributors_see_their_rate(home, keys):
    with client_for(home) as c:
        sub = c.post("/v1/submissions", json=GOOD, headers=h(keys["contributor"])).json()
        assert c.get(f"/v1/submissions/{sub['id']}", headers=h(keys["other"])).status_code == 404
        assert c.get(f"/v1/submissions/{sub['id']}", headers=h(keys["curator"])).status_code == 200
        service = c.app.state.service
        with service.lock:
            service.workspace.samples.set_status([sub["sample_id"]], "approved", actor="expert")
        assert c.get(f"/v1/submissions/{sub['id']}", headers=h(keys["contributor"])).json()["status"] == "approved"
        me = c.get("/v1/contributors/me", headers=h(keys["contributor"])).json()
        assert (me["submissions"], me["approved"], me["acceptance_rate"]) == (1, 1, 1.0)
        assert me["recent"][0]["id"] == sub["id"]


def test_curator_resources(home, keys):
    with client_for(home) as c:
        cur = h(keys["curator"])
        assert c.get("/v1/samples", params={"where": "kind = nonsense"}, headers=cur).status_code == 422
        made = c.post("/v1/snapshots", json={"name": "all"}, headers=cur)
        assert made.status_code == 201 and made.json()["member_count"] == 28
        c.post("/v1/submissions", json=GOOD, headers=h(keys["contributor"]))
        c.post("/v1/snapshots", json={"name": "more"}, headers=cur)
        assert [s["name"] for s in c.get("/v1/snapshots", headers=cur).json()] == ["all", "more"]
        assert len(c.get("/v1/snapshots/all/diff/more", headers=cur).json()["only_in_b"]) == 1
        assert c.get("/v1/snapshots/nope", headers=cur).status_code == 404
        taken = c.post("/v1/snapshots", json={"name": "all"}, headers=cur)
        assert taken.status_code == 409 and "never reused" in taken.json()["detail"]
        export = c.get("/v1/snapshots/all/export", params={"format": "alpaca", "seed": 3}, headers=cur)
        assert export.status_code == 200 and export.headers["content-type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(export.content)).namelist()
        assert {"README.md", "manifest.json", "train.jsonl"} <= set(names)
        # Shares are valid and test, each under a half: every pair the schema admits is a split.
        assert c.get("/v1/snapshots/all/export", params={"valid": 0.5}, headers=cur).status_code == 422
        leak = c.post(
            "/v1/contamination",
            headers=cur,
            json={"snapshot": "more", "evals": [{"id": "e1", "prompt": GOOD_QUESTION}]},
        ).json()
        assert leak["leaked_evals"] == 1
        with c.app.state.service.lock:
            run = run_dedup(c.app.state.service.workspace)
        assert [r["id"] for r in c.get("/v1/dedup/runs", headers=cur).json()] == [run.id]
        page = c.get(f"/v1/dedup/runs/{run.id}/report", params={"format": "html"}, headers=cur)
        assert page.status_code == 200 and page.text.startswith("<!doctype html>")


def test_submission_page(home, keys):
    with client_for(home) as c:
        assert "<form" in c.get("/submit").text
        form = {
            "api_key": keys["contributor"],
            "kind": "debug_dialogue",
            "category": "mode_mismatch",
            "prompt": GOOD_QUESTION,
            "answer": "I think it is maybe the stack.",
        }
        page = c.post("/submit", data=form)
        assert page.status_code == 200
        assert "Needs work" in page.text and "hedging" in page.text and "turn 1, line 1" in page.text
        assert c.post("/submit", data=dict(form, api_key="tf_wrong")).status_code == 401
        assert "Valid: queued for expert review" in c.post("/submit", data=dict(form, answer=GOOD_ANSWER)).text


def test_conversation_shape_errors_are_422_not_500(home, keys):
    # Found by schemathesis: two user turns used to reach the sample model and fail with a 500.
    payload = {"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "q"}]}
    with client_for(home) as c:
        response = c.post("/v1/submissions", json=payload, headers=h(keys["contributor"]))
    assert response.status_code == 422
    assert "must end with an assistant turn" in response.json()["detail"][0]["msg"]


def test_an_idempotency_key_replays_the_first_answer_and_writes_nothing(home, keys):
    with client_for(home) as c:
        once = {**h(keys["contributor"]), "Idempotency-Key": "3f0c-retry-me"}
        first = c.post("/v1/submissions", json=GOOD, headers=once)
        assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
        # Same key, same body (key order and spacing do not matter): the first answer, byte for byte.
        reordered = json.dumps(dict(reversed(GOOD.items())), indent=2)
        again = c.post("/v1/submissions", content=reordered, headers={**once, "Content-Type": "application/json"})
        assert (again.status_code, again.content) == (201, first.content)
        assert again.headers["Idempotent-Replayed"] == "true" and again.headers["Location"] == first.headers["Location"]
        assert c.get("/v1/contributors/me", headers=h(keys["contributor"])).json()["submissions"] == 1
        # The same key with another body is a client bug, not a retry.
        other = c.post("/v1/submissions", json=dict(GOOD, category="stack_imbalance"), headers=once)
        assert other.status_code == 409 and "different body" in other.json()["detail"]
        batch = c.post("/v1/submissions/batch", content=json.dumps(GOOD), headers=once)
        assert batch.status_code == 409 and "POST /v1/submissions" in batch.json()["detail"]
        # Keys are per API key: another contributor's identical key is its own request.
        theirs = c.post("/v1/submissions", json=GOOD, headers={**h(keys["other"]), "Idempotency-Key": "3f0c-retry-me"})
        assert theirs.status_code == 200 and theirs.json()["status"] == "duplicate"
        # Batches replay too; the key must be printable ASCII.
        lines = "\n".join(json.dumps(dict(GOOD, prompt=f"{GOOD_QUESTION} ({i})")) for i in range(2))
        b1 = c.post("/v1/submissions/batch", content=lines, headers={**h(keys["other"]), "Idempotency-Key": "b-1"})
        b2 = c.post("/v1/submissions/batch", content=lines, headers={**h(keys["other"]), "Idempotency-Key": "b-1"})
        assert b1.status_code == b2.status_code == 200 and b1.content == b2.content
        assert b2.headers["Idempotent-Replayed"] == "true"
        assert c.get("/v1/contributors/me", headers=h(keys["other"])).json()["submissions"] == 3
        spaced = c.post("/v1/submissions", json=GOOD, headers={**h(keys["other"]), "Idempotency-Key": "a b"})
        assert spaced.status_code == 422 and spaced.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_a_submission_and_its_idempotency_record_land_together_or_not_at_all(home, keys, monkeypatch):
    """A failure after the submission's rows are written but before COMMIT (here: while its idempotency
    record is stored) leaves neither, and not even the in-memory duplicate index remembers it."""
    import labeling.api.service as service_module

    def crash(*args, **kwargs):
        raise RuntimeError("the process dies here")

    lines = "\n".join(json.dumps(dict(GOOD, prompt=f"{GOOD_QUESTION} ({i})")) for i in range(3))
    with TestClient(create_app(Workspace(home)), raise_server_exceptions=False) as c:
        once = {**h(keys["contributor"]), "Idempotency-Key": "k-1"}
        batch = {**h(keys["contributor"]), "Idempotency-Key": "k-2"}
        with monkeypatch.context() as patched:
            patched.setattr(service_module, "remember", crash)
            assert c.post("/v1/submissions", json=GOOD, headers=once).status_code == 500
            assert c.post("/v1/submissions/batch", content=lines, headers=batch).status_code == 500
        ws = c.app.state.service.workspace
        with c.app.state.service.lock:
            counts = [ws.submissions.count(), ws.submissions.answer_count(), ws.samples.total()]
        assert counts == [0, 0, 28]
        retried = c.post("/v1/submissions", json=GOOD, headers=once)
        assert retried.status_code == 201 and retried.json()["status"] == "validated"  # not a duplicate of a ghost
        assert "Idempotent-Replayed" not in retried.headers
        assert c.post("/v1/submissions/batch", content=lines, headers=batch).json()["accepted"] == 3
        assert c.get("/v1/contributors/me", headers=h(keys["contributor"])).json()["submissions"] == 4


def test_library_errors_answer_by_their_kind(home, keys):
    """NotFound, Conflict and Invalid map to 404, 409 and 422 wherever they are raised; the message is
    the detail, and a 422 has the field-error shape every 422 of the document has."""
    from curation.errors import Conflict, Invalid, NotFound, StoreError
    from labeling.api.errors import store_error_response

    with client_for(home) as c:
        admin, cur = h(keys["admin"]), h(keys["curator"])
        unknown = c.delete("/v1/keys/tf_abcdefgh", headers=admin)
        assert (unknown.status_code, unknown.json()) == (404, {"detail": "no API key tf_abcdefgh"})
        sample = c.get("/v1/samples", params={"limit": 1}, headers=cur).json()["samples"][0]
        same = c.post(f"/v1/samples/{sample['id']}/corrections", json={"answer": sample["answer"]}, headers=cur)
        assert same.status_code == 409 and "changes nothing" in same.json()["detail"]
    bodies = {kind: store_error_response(kind("why")) for kind in (NotFound, Conflict, Invalid, StoreError)}
    assert {kind.__name__: r.status_code for kind, r in bodies.items()} == {
        "NotFound": 404, "Conflict": 409, "Invalid": 422, "StoreError": 400,
    }  # fmt: skip
    assert json.loads(bodies[Invalid].body) == {"detail": [{"loc": [], "msg": "why", "type": "invalid"}]}


def test_the_service_reads_only_its_workspace(home, keys, tmp_path, monkeypatch, field_dir):
    """The app serves the workspace it is given: a different $TRIFORGE_HOME is never read or written
    (the duplicate index comes from beside the store), and a near-duplicate of an imported sample is
    found at once."""
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("TRIFORGE_HOME", str(elsewhere))
    with Workspace(home) as ws:
        run_dedup(ws)
        first = ws.samples.list(limit=1)[0]
        detail = ws.samples.get(first["id"])
    turns = [{"role": m.role.value, "content": m.content} for m in detail.revision.messages]
    turns[-1]["content"] += "\n\nThat is all."
    body = {"kind": detail.revision.kind.value, "messages": turns}
    with client_for(home) as c:
        out = c.post("/v1/submissions", json=body, headers=h(keys["contributor"])).json()
    assert out["status"] == "duplicate" and out["duplicate_of"]["id"] == first["id"]
    assert not elsewhere.exists()


def test_an_asgi_server_factory_serves_triforge_home(home, keys, monkeypatch):
    from labeling.api.app import create_app_from_environ

    monkeypatch.setenv("TRIFORGE_HOME", str(home))
    with TestClient(create_app_from_environ()) as c:
        assert c.get("/healthz").json()["samples"] == 28


def test_the_submission_page_escapes_what_it_shows(home, keys):
    """The page echoes the contributor's text back into the form and the report: as text, never markup."""
    script = "<script>alert('x')</script>"
    form = {"api_key": keys["contributor"], "kind": "debug_dialogue", "prompt": GOOD_QUESTION + script,
            "answer": "I think it is maybe the stack. " + script}  # fmt: skip
    with client_for(home) as c:
        page = c.post("/submit", data=form)
        refused = c.post("/submit", data=dict(form, api_key="tf_wrong"))
    for response in (page, refused):
        assert "<script>" not in response.text and "&lt;script&gt;" in response.text
    assert "Needs work" in page.text and refused.status_code == 401


def test_a_correction_with_an_explicit_null_is_refused_as_the_document_says(home, keys):
    # Found by schemathesis's stateful phase: the document states category as a string one may leave
    # out, and a null one was accepted.
    with client_for(home) as c:
        cur = h(keys["curator"])
        sample = c.get("/v1/samples", params={"limit": 1}, headers=cur).json()["samples"][0]
        nulled = c.post(f"/v1/samples/{sample['id']}/corrections", json={"answer": "x", "category": None}, headers=cur)
    assert nulled.status_code == 422 and nulled.json()["detail"][0]["loc"] == ["body", "category"]


def test_the_cli_client_raises_the_kind_the_service_answered(home, keys):
    """What ``triforge`` sends through a running service comes back as the library's own error kind,
    so a command fails the same way whether it ran locally or through the API."""
    from curation.errors import Conflict, NotFound
    from labeling.api.client import ServiceClient
    from labeling.api.discovery import ServiceInfo
    from tests.local_http import serve_in_thread

    with serve_in_thread(create_app(Workspace(home)), health_path="/healthz") as base:
        client = ServiceClient(ServiceInfo(url=base, pid=0, started_at=""), keys["admin"])
        with client:
            assert {k.name for k in client.list_keys()} >= {"admin-person", "someone-else"}
            with pytest.raises(NotFound, match="no API key tf_abcdefgh"):
                client.revoke_key("tf_abcdefgh")
            client.create_snapshot("everything", None, parent=None)
            with pytest.raises(Conflict, match="already holds exactly these samples"):
                client.create_snapshot("again", None, parent=None)
