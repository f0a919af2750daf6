"""The review side's own rules, without an Argilla server: agreement arithmetic, the push order, the
per-reviewer stats over stored responses, and the batch limit checked before anything is sent."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

from curation.errors import Invalid
from curation.importers import import_file
from curation.resources.reviews import Candidate
from curation.workspace import Workspace
from labeling.argilla.order import OrderFacts, ordered
from labeling.argilla.push import MAX_BATCH, push
from labeling.argilla.stats import krippendorff_alpha_nominal, review_stats
from tests.factories import chat_row, write_jsonl
from triforge.cli import app


def test_krippendorff_alpha_nominal_by_hand():
    assert krippendorff_alpha_nominal([["a", "a"], ["a", "b"], ["b", "b"], ["b", "b"]]) == pytest.approx(
        1 - 7 * 2 / 30, abs=1e-4
    )
    assert krippendorff_alpha_nominal([["a", "a"], ["b", "b", "b"], ["a", "a", "a"]]) == 1.0
    assert krippendorff_alpha_nominal([["a", "b"], ["b", "a"]]) < 0  # they disagree more than chance would
    assert (
        krippendorff_alpha_nominal([["a", "a"], ["a", "a"]]) is None
        and krippendorff_alpha_nominal([["a", "b"]]) is None
        and krippendorff_alpha_nominal([["a"], ["b"]]) is None
    )


def _candidate(rid: str, *, validation: str = "passed", category: str | None = "mode_mismatch"):
    return Candidate(rid, "debug_dialogue", category, [], "import", "t", 1.0, validation)


def test_the_push_order_puts_the_most_useful_records_first():
    """Failing with a repair beats a big cluster's representative, which beats a rare category; each
    single-rule order applies only its rule, then id order."""
    rows = [
        _candidate("a-common"),
        _candidate("b-rare", category="dma_setup"),
        _candidate("c-cluster-of-5"),
        _candidate("d-failed-with-repair", validation="failed"),
        _candidate("e-failed-no-repair", validation="failed"),
        _candidate("f-cluster-of-3", category="dma_setup"),
    ]
    facts = OrderFacts(
        repairs={"d-failed-with-repair": ("r", "repair@1", "fixed")},
        clusters={"c-cluster-of-5": 5, "f-cluster-of-3": 3},
        category_counts={("debug_dialogue", "mode_mismatch"): 40, ("debug_dialogue", "dma_setup"): 2},
    )

    def ids(order: str) -> list[str]:
        return [c.id for c in ordered(rows, facts, order)]

    assert ids("useful") == [
        "d-failed-with-repair", "c-cluster-of-5", "f-cluster-of-3", "b-rare", "a-common", "e-failed-no-repair",
    ]  # fmt: skip
    assert ids("repairs")[0] == "d-failed-with-repair" and ids("repairs")[1:] == sorted(ids("repairs")[1:])
    assert ids("clusters")[:2] == ["c-cluster-of-5", "f-cluster-of-3"]
    assert ids("rare")[:2] == ["b-rare", "f-cluster-of-3"]
    assert ids("id") == sorted(ids("id"))
    with pytest.raises(Invalid, match="unknown review order"):
        ordered(rows, facts, "random")


def test_review_stats_per_reviewer_per_day_with_time_per_record(home, tmp_path):
    """Submissions are counted per reviewer per UTC day; the time per record is the median gap between
    a reviewer's consecutive submissions, leaving out pauses longer than ten minutes."""

    rows = [chat_row(f"Why does routine {i} crash after JSR?", f"Because of {i}.") for i in range(4)]
    with Workspace(home) as ws:
        import_file(ws, write_jsonl(tmp_path / "s.jsonl", rows), source_name="stats")
        ids = ws.samples.all_ids()
        day1, day2 = datetime(2026, 3, 2, 9, 0, 0), datetime(2026, 3, 3, 14, 0, 0)
        stamps = {  # ada: 0 s, +90 s, +150 s, then a 40-minute pause; bo: one record the next day
            ("ada", ids[0]): day1,
            ("ada", ids[1]): day1.replace(minute=1, second=30),
            ("ada", ids[2]): day1.replace(minute=4),
            ("ada", ids[3]): day1.replace(minute=44),
            ("bo", ids[0]): day2,
        }
        pulled = datetime(2026, 3, 4)
        with ws.store.transaction():
            ws.reviews.save_responses([
                [rid, who, "submitted", "approve", None, None, None, None, None, when, pulled]
                for (who, rid), when in stamps.items()
            ] + [[ids[1], "bo", "draft", None, None, None, None, None, None, day2, pulled]])  # fmt: skip
        stats = review_stats(ws)
    days = {(d.reviewer, d.day): d for d in stats.days}
    assert set(days) == {("ada", "2026-03-02"), ("bo", "2026-03-03")}  # drafts do not count
    ada = days[("ada", "2026-03-02")]
    assert (ada.submitted, ada.first, ada.last) == (4, "2026-03-02T09:00:00", "2026-03-02T09:44:00")
    assert ada.seconds_per_record == 120.0 and ada.timed_records == 2  # median of 90 s and 150 s
    assert days[("bo", "2026-03-03")].seconds_per_record is None
    shown = CliRunner().invoke(app, ["review", "stats"])
    assert shown.exit_code == 0, shown.output
    assert "per reviewer per day" in shown.output and "120 s" in shown.output
    as_json = json.loads(CliRunner().invoke(app, ["review", "stats", "--json"]).stdout)
    assert as_json["days"][0]["seconds_per_record"] == 120.0 and as_json["reviewers"][0]["last"].startswith("2026")


def test_push_refuses_a_batch_argilla_server_would_refuse(workspace):
    with pytest.raises(Invalid, match="1 to 500 records"):
        push(workspace, client=None, batch_size=MAX_BATCH + 1)
    result = CliRunner().invoke(app, ["review", "push", "--batch-size", "501"])
    assert result.exit_code == 2 and "less than or equal to 500" in result.output
