"""The CLI as a user runs it: exit codes, --json shapes, and errors without tracebacks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories import chat_row, write_jsonl
from triforge.cli import app

runner = CliRunner()


def run(*args: str, ok: bool = True):
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def test_import_json_report_and_idempotence(home, field_files):
    out = json.loads(run("import", *map(str, field_files), "--json").stdout)
    assert out["new"] + out["existing"] == 327 and out["malformed"] == []
    again = json.loads(run("import", *map(str, field_files), "--json").stdout)
    assert again["new"] == 0 and again["existing"] == 327


def test_import_reports_bad_lines_with_file_and_line(home, tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [chat_row("q", "a"), "{broken", {"instruction": "x", "output": 3}])
    skipped = run("import", str(path), "--json")
    report = json.loads(skipped.stdout)
    assert report["new"] == 1
    assert [(m["line"], m["file"]) for m in report["malformed"]] == [(2, str(path)), (3, str(path))]
    human = run("import", str(path))
    assert f"{path}:2" in human.output and "malformed JSON" in human.output


def test_import_abort_exits_1_and_writes_nothing(home, tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [chat_row("q", "a"), "{broken"])
    result = run("import", str(path), "--on-error", "abort", "--json", ok=False)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["files"][0]["aborted"] is True
    assert json.loads(run("stats", "--json").stdout)["total"] == 0


def test_bad_options_get_a_clear_message(home, field_files):
    run("import", str(field_files[0]))
    for args, fragment in [
        (("import", str(field_files[0]), "--on-error", "explode"), "--on-error must be skip or abort"),
        (("samples", "list", "--where", "kind = nonsense"), "unknown kind"),
        (("snapshot", "show", "nope"), "no snapshot named"),
        (("export", "nope", "--out", "x"), "no snapshot named"),
        (("samples", "show", "abc"), "at least 6 characters"),
    ]:
        result = run(*args, ok=False)
        assert result.exit_code == 2, args
        assert fragment in result.output, (args, result.output)


def test_read_commands_on_a_missing_store_explain_what_to_do(home):
    result = run("stats", ok=False)
    assert result.exit_code == 2 and "import something first" in result.output


def test_samples_stats_snapshot_and_export_round_trip(home, field_files, tmp_path):
    run("import", *map(str, field_files))
    listing = json.loads(run("samples", "list", "--where", "category = stack_imbalance", "--json").stdout)
    assert listing["total"] == 4 and len(listing["samples"]) == 4
    sample_id = listing["samples"][0]["id"]
    shown = json.loads(run("samples", "show", sample_id[:10], "--json").stdout)
    assert shown["id"] == sample_id and shown["provenance"][0]["source_line"] >= 1
    assert "stack_imbalance" in run("samples", "show", sample_id).output

    stats = json.loads(run("stats", "--json", "--where", "kind = debug_dialogue").stdout)
    assert stats["total"] == 128 and stats["by_status"] == {"draft": 100, "proposed": 28}

    run("samples", "mark", sample_id, "--status", "approved", "--by", "alice")
    snap = json.loads(run("snapshot", "create", "approved", "--where", "status = approved", "--json").stdout)
    assert snap["member_count"] == 1
    run("snapshot", "create", "everything")
    assert "OK" in run("snapshot", "verify", "approved").output
    diff = json.loads(run("snapshot", "diff", "approved", "everything", "--json").stdout)
    assert diff["only_in_a"] == [] and diff["in_both"] == 1
    names = [s["name"] for s in json.loads(run("snapshot", "list", "--json").stdout)]
    assert names == ["approved", "everything"]

    out = tmp_path / "export"
    exported = json.loads(
        run(
            "export",
            "everything",
            "--format",
            "sharegpt",
            "--out",
            str(out),
            "--split",
            "0.8,0.1,0.1",
            "--seed",
            "3",
            "--json",
        ).stdout
    )
    assert sum(f["rows"] for f in exported["files"]) == 327
    assert (out / "README.md").exists()


def test_demo_runs_end_to_end_through_the_installed_entry_point(tmp_path, field_dir):
    env = {**os.environ, "TRIFORGE_HOME": str(tmp_path / "home"), "TRIFORGE_FIELD_DATA": str(field_dir)}
    exe = Path(sys.executable).with_name("triforge")
    # The training half (real SmolLM2 LoRA steps, minutes on 2 cores) is covered by tests/integration/test_trainer.py.
    for _ in range(2):  # idempotent: the second run imports nothing new and reuses the snapshot
        proc = subprocess.run([str(exe), "demo", "--no-train"], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    assert "0 new, 327 already present" in proc.stdout
    # The game step: the map from the checkout beside the field data, and quest pairs that pass its checks.
    assert "quest_templates: 6 pairs, 6 pass the hook, save-byte, convention and scenario checks" in " ".join(
        proc.stdout.split()
    )
    export = tmp_path / "home" / "exports" / "field-ready" / "chatml"
    assert (export / "train.jsonl").exists() and "snapshot id" in (export / "README.md").read_text()


@pytest.mark.parametrize("module", ["torch", "datasets", "argilla", "transformers", "trl", "peft", "openai"])
def test_cli_start_stays_light(module):
    """Not even ``triforge --help``, which imports every command's module, loads a heavy library."""
    code = (
        "import importlib, sys; from triforge.cli import COMMANDS\n"
        "for name, _ in COMMANDS.values(): importlib.import_module(name)\n"
        f"sys.exit(1 if {module!r} in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
