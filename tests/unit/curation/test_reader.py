from pathlib import Path

from curation.importers import read_jsonl


def _rows(path: Path, **kw):
    return list(read_jsonl(path, **kw))


def test_each_problem_gets_its_line_number(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"a": 1}\n{not json\n\n[1, 2]\n{"bad": "\xff\xfe"}\n{"ok": true}\n')
    rows = _rows(path)
    assert [(r.line, r.value is not None) for r in rows] == [
        (1, True),
        (2, False),
        (4, False),
        (5, False),
        (6, True),
    ]
    errors = {r.line: r.error for r in rows if r.error}
    assert "malformed JSON" in errors[2]
    assert "expected a JSON object, found list" in errors[4]
    assert "UTF-8" in errors[5]


def test_oversized_row_is_rejected_without_losing_the_next_line(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text('{"x": "' + "y" * 5000 + '"}\n{"after": 1}\n', encoding="utf-8")
    rows = _rows(path, max_row_bytes=1000)
    assert rows[0].line == 1 and "over the 1,000-byte limit" in rows[0].error
    assert rows[1].line == 2 and rows[1].value == {"after": 1}


def test_empty_and_blank_files_are_an_error(tmp_path):
    for content in (b"", b"\n  \n"):
        path = tmp_path / "empty.jsonl"
        path.write_bytes(content)
        rows = _rows(path)
        assert len(rows) == 1 and rows[0].line == 0 and "empty" in rows[0].error


def test_utf8_bom_and_missing_final_newline_are_accepted(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": "\xc3\xa9"}\n{"b": 2}')
    assert [r.value for r in _rows(path)] == [{"a": "é"}, {"b": 2}]


def test_progress_reports_every_byte(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"a": 1}\n\n{"b": 2}\n', encoding="utf-8")
    seen = []
    _rows(path, on_progress=seen.append)
    assert sum(seen) == path.stat().st_size
