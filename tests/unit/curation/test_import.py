import json

import pytest

from curation.importers import detect_format, import_file, import_files
from curation.importers.formats import ImportContext, UnrecognisedRow
from schemas import Kind, SourceType
from tests.factories import chat_row, write_jsonl


def _count(store, sql):
    return store.con.execute(sql).fetchone()[0]


def test_field_files_are_detected_and_imported(store, workspace, field_files):
    report = import_files(workspace, field_files)
    by_file = {f.file.rsplit("/", 1)[-1]: f for f in report.files}
    assert {n: f.format for n, f in by_file.items()} == {
        "din_optimization_training_v2.jsonl": "alpaca",
        "farore_benchmark.jsonl": "benchmark",
        "farore_debugging_training.jsonl": "chat",
        "teacher_pilot_output.jsonl": "teacher",
        "veran_snes_hardware.jsonl": "alpaca",
    }
    assert report.malformed == []
    assert sum(f.rows for f in report.files) == 104 + 100 + 28 + 5 + 90
    assert report.new == _count(store, "SELECT count(*) FROM revisions")
    assert report.new + report.existing == 327
    kinds = dict(store.con.execute("SELECT kind, count(*) FROM revisions GROUP BY kind").fetchall())
    assert kinds["asm_explain"] == 90
    assert kinds["debug_dialogue"] == 128
    assert kinds["asm_generate"] == 4  # Nayru's teacher rows


def test_reimporting_adds_nothing(store, workspace, field_files):
    first = import_files(workspace, field_files)
    revisions = _count(store, "SELECT count(*) FROM revisions")
    provenance = _count(store, "SELECT count(*) FROM provenance")
    again = import_files(workspace, field_files)
    assert again.new == 0
    assert again.existing == first.new + first.existing
    assert _count(store, "SELECT count(*) FROM revisions") == revisions
    assert _count(store, "SELECT count(*) FROM provenance") == provenance
    assert _count(store, "SELECT count(*) FROM imports") == 2 * len(field_files)


def test_provenance_keeps_file_line_and_original_fields(store, workspace, field_dir):
    import_file(workspace, field_dir / "veran_snes_hardware.jsonl", source_name="veran-v1")
    row = store.con.execute(
        "SELECT p.source_type, p.source_name, p.source_file, p.source_line, p.original, r.metadata, r.category "
        "FROM provenance p JOIN revisions r ON r.id = p.revision_id WHERE p.source_line = 1"
    ).fetchone()
    source_type, name, file, line, original, metadata, category = row
    assert (source_type, name, line, category) == ("import", "veran-v1", 1, "ppu_control")
    assert file.endswith("veran_snes_hardware.jsonl")
    first_line = json.loads((field_dir / "veran_snes_hardware.jsonl").read_text().splitlines()[0])
    assert json.loads(original) == first_line
    assert json.loads(metadata)["domain"] == "snes_hardware"


def test_benchmark_rows_become_draft_dialogues_needing_an_answer_check(store, workspace, field_dir):
    import_file(workspace, field_dir / "farore_benchmark.jsonl")
    statuses = store.con.execute("SELECT DISTINCT status FROM samples").fetchall()
    assert statuses == [("draft",)]
    messages, metadata = store.con.execute(
        "SELECT messages, metadata FROM revisions WHERE json_extract_string(metadata, '$.benchmark_id') = ?",
        ["farore_basic_001"],
    ).fetchone()
    messages, metadata = json.loads(messages), json.loads(metadata)
    assert metadata["needs_answer_check"] is True
    assert "LDA #$1234" in messages[0]["content"]
    assert messages[1]["content"].startswith("**Bug: 16-bit immediate value with 8-bit accumulator mode**")
    assert "REP #$20" in messages[1]["content"]


def test_teacher_rows_name_their_model(store, workspace, field_dir):
    import_file(workspace, field_dir / "teacher_pilot_output.jsonl")
    names = {r[0] for r in store.con.execute("SELECT DISTINCT source_name FROM revisions").fetchall()}
    assert names == {"openai/gpt-5.2", "google/gemini-2.5-flash", "anthropic/claude-opus-4-5-20251101"}
    assert {r[0] for r in store.con.execute("SELECT DISTINCT source_type FROM revisions").fetchall()} == {"teacher"}


def test_same_content_from_two_sources_is_one_revision_with_two_provenances(store, workspace, tmp_path):
    row = chat_row("Why does PLA crash?", "**Bug: stack imbalance**")
    a = write_jsonl(tmp_path / "a.jsonl", [row])
    b = write_jsonl(
        tmp_path / "b.jsonl",
        [{"instruction": "Why does PLA crash?", "output": "**Bug: stack imbalance**", "input": ""}],
    )
    assert import_file(workspace, a).new == 1
    result = import_file(workspace, b)
    assert (result.new, result.existing) == (0, 1)
    assert _count(store, "SELECT count(*) FROM provenance") == 2


def test_skip_lands_good_rows_and_lists_bad_ones(workspace, tmp_path):
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            chat_row("q1", "a1"),
            "{oops",
            {"instruction": "Explain", "output": 5},
            {"instruction": "Explain"},
            chat_row("q2", "a2"),
            {"hello": "world"},
        ],
    )
    result = import_file(workspace, path, on_error="skip")
    assert result.new == 2 and not result.aborted
    errors = {m.line: m.error for m in result.malformed}
    assert set(errors) == {2, 3, 4, 6}
    assert "malformed JSON" in errors[2]
    assert "field 'output'" in errors[3] and "string" in errors[3]
    assert "missing field 'output'" in errors[4]
    assert "unrecognised row format" in errors[6]
    assert all(m.file == str(path) for m in result.malformed)


def test_abort_writes_nothing_from_a_file_with_any_bad_row(store, workspace, tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [chat_row("q1", "a1"), "{oops", chat_row("q2", "a2")])
    result = import_file(workspace, path, on_error="abort")
    assert result.aborted and result.new == 0
    assert [m.line for m in result.malformed] == [2]
    assert _count(store, "SELECT count(*) FROM revisions") == 0
    assert _count(store, "SELECT count(*) FROM provenance") == 0
    assert _count(store, "SELECT count(*) FROM status_events") == 0
    assert _count(store, "SELECT count(*) FROM imports WHERE aborted") == 1


def test_abort_is_per_file(workspace, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [chat_row("q", "a")])
    bad = write_jsonl(tmp_path / "bad.jsonl", ["nope"])
    report = import_files(workspace, [bad, good], on_error="abort")
    assert [f.aborted for f in report.files] == [True, False]
    assert report.new == 1


def test_missing_and_empty_files_are_reported(workspace, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    report = import_files(workspace, [tmp_path / "nope.jsonl", empty])
    assert [(m.line, m.error) for m in report.malformed] == [
        (0, "no such file"),
        (0, "file is empty: no rows to import"),
    ]


def test_oversized_row_is_reported_by_line(workspace, tmp_path):
    path = write_jsonl(tmp_path / "big.jsonl", [chat_row("q", "a" * 3000), chat_row("q", "b")])
    result = import_file(workspace, path, max_row_bytes=1000)
    assert [m.line for m in result.malformed] == [1] and result.new == 1


def test_forced_kind_and_source(store, workspace, tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [chat_row("q", "a")])
    import_file(workspace, path, kind=Kind.quest_implementation, source_name="alice", source_type=SourceType.community)
    assert store.con.execute("SELECT kind, source_type, source_name FROM revisions").fetchone() == (
        "quest_implementation",
        "community",
        "alice",
    )


def test_eval_rows_are_refused_with_a_reason(field_dir):
    row = json.loads((field_dir / "router_debugging_eval.jsonl").read_text().splitlines()[0])
    with pytest.raises(UnrecognisedRow, match="eval case"):
        detect_format(row)


def test_sharegpt_rows_are_understood():
    row = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "**Bug: x**"}]}
    fmt = detect_format(row)
    rev = fmt.to_revision(row, ImportContext(source_file="/f.jsonl"), 1)
    assert fmt.name == "sharegpt" and rev.kind == Kind.debug_dialogue and rev.answer == "**Bug: x**"


def _generated_row(instruction: str, output: str, **columns: object) -> dict[str, object]:
    """An Alpaca row as the field's curriculum generator writes them (scawful/afs generated_data/)."""
    return {
        "instruction": instruction,
        "output": output,
        "input": "",
        "thinking": None,
        "domain": "din_advanced",
        "source": "curriculum_generated",
        "quality_score": 0.0,
        "embedding": None,
        "teacher_model": "",
        "teacher_prompt": "",
        "kg_entities": [],
        "_metadata": {"provider": "gemini", "model": "gemini-2.0-flash-exp", "difficulty": "advanced"},
        **columns,
    }


def test_the_fields_extra_columns_are_metadata_filters_can_use_and_name_the_kind(store, workspace, tmp_path, field_dir):
    rows = [
        _generated_row("Optimize this:\nLDA #$00\nSTA $10", "STZ $10", quality_score=0.85),
        _generated_row("Optimize this:\nLDA #$00\nSTA $12", "STZ $12", quality_score=0.5, intent="optimization"),
        _generated_row(
            "Why does this crash?\nREP #$20\nLDA #$12",
            "REP #$20 makes A 16-bit, so LDA needs a 16-bit operand.",
            domain="asm", intent="debugging", quality_score=0.9, teacher_model="gpt-5.2", thinking="A is 16-bit.",
        ),
        _generated_row("Explain STA $2100", "Writes INIDISP.", domain="snes_hardware", quality_score="0.7"),
        _generated_row("Write code that stores $42 to $10", "LDA #$42\nSTA $10", domain="nayru_basic"),
        _generated_row("What is a good name for a label?", "MainLoop.", domain="asm"),
    ]  # fmt: skip
    import_file(workspace, write_jsonl(tmp_path / "din_training.jsonl", rows))
    kinds = [
        r[0]
        for r in store.con.execute(
            "SELECT kind FROM samples s JOIN provenance p ON p.revision_id = s.id ORDER BY p.source_line"
        ).fetchall()
    ]
    # domain din_advanced -> Din; an intent wins over a topic domain; snes_hardware -> Veran; nayru_basic -> Nayru.
    assert kinds == ["asm_optimize", "asm_optimize", "debug_dialogue", "asm_explain", "asm_generate", "other"]
    # Numeric comparisons compare numbers: "0.7" (text in the file) counts, 0.85 and 0.9 do, 0.5 and 0.0 do not.
    assert workspace.samples.count("metadata.quality_score >= 0.7") == 3
    assert workspace.samples.count("metadata.quality_score < 0.7") == 3
    assert workspace.samples.count("metadata.quality_score = 0.90") == 1  # 0.9 in the file
    assert workspace.samples.count("metadata.quality_score != 0.9") == 5
    assert workspace.samples.count("metadata.domain = din_advanced") == 2
    assert workspace.samples.count("metadata.domain = asm and metadata.intent = debugging") == 1
    assert workspace.samples.count("metadata.thinking is not null") == 1
    assert workspace.samples.count("metadata.teacher_model = 'gpt-5.2'") == 1
    # A row that names its teacher model is that teacher's proposal; the others stay imports of the file.
    sources = store.con.execute("SELECT source_type, source_name, count(*) FROM samples GROUP BY ALL").fetchall()
    assert sorted(sources) == [("import", "din_training.jsonl", 5), ("teacher", "gpt-5.2", 1)]
    metadata = json.loads(store.con.execute("SELECT metadata FROM samples WHERE source_type = 'teacher'").fetchone()[0])
    assert metadata["_metadata"]["model"] == "gemini-2.0-flash-exp" and metadata["thinking"] == "A is 16-bit."

    # The teacher dumps in the field: quality_score and domain are metadata too.
    import_file(workspace, field_dir / "teacher_pilot_output.jsonl")
    teacher = "metadata.format = teacher"
    assert workspace.samples.count(f"{teacher} and metadata.quality_score >= 0.7") == 4
    assert workspace.samples.count(f"{teacher} and metadata.domain = nayru and kind = asm_generate") == 4


def test_chat_and_teacher_rows_take_their_kind_and_teacher_from_the_same_columns():
    ctx = ImportContext(source_file="/f.jsonl")
    chat = chat_row("Make this faster: LDA $10", "ASL is faster.", intent="optimization", quality_score=0.75)
    rev = detect_format(chat).to_revision(chat, ctx, 1)
    assert rev.kind == Kind.asm_optimize and rev.metadata["quality_score"] == 0.75
    dump = {"prompt": "Explain STA $2100", "response": "Writes INIDISP.", "teacher_model": "gemini-2.5-flash",
            "domain": "veran_hardware", "quality_score": 0.9}  # fmt: skip
    rev = detect_format(dump).to_revision(dump, ctx, 1)
    assert rev.kind == Kind.asm_explain and rev.provenance.source_type == SourceType.teacher
    assert rev.provenance.source_name == "gemini-2.5-flash" and rev.metadata["domain"] == "veran_hardware"
