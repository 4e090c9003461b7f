"""How a Change's diff reads (`regulatory.diffs`), on the decision page and
in emails alike. No database: a Change and its Decision in memory."""

from __future__ import annotations

from regulatory.diffs import DiffRow, change_diff_rows
from regulatory.models import Change, ChangeKind, Decision, Precision
from tracker.selectors import change_diff_lines


def change(kind: str, diff: dict, **decision) -> Change:
    return Change(kind=kind, diff=diff, decision=Decision(**decision))


def test_it_reads_dates_as_precisely_as_they_are_known():
    c = change(
        ChangeKind.CORRECT,
        {"target_on": ["2024-08-11", "2024-08-01"], "target_precision": [Precision.DAY, Precision.MONTH]},
    )

    assert change_diff_rows(c, c.decision) == [
        DiffRow("Target date", "11 Aug 2024", "Aug 2024"),
        DiffRow("Target date precision", "Day", "Month"),
    ]


def test_it_takes_a_date_s_precision_from_the_decision_when_the_diff_leaves_it_out():
    c = change(ChangeKind.AMEND, {"effective_on": ["2025-01-01", "2026-01-01"]}, effective_precision=Precision.YEAR)

    assert change_diff_rows(c, c.decision) == [DiffRow("Effective", "2025", "2026")]


def test_it_names_sources_added_and_removed_by_url():
    old = {"url": "https://a.example/1", "title": "Notice", "publisher": "Agency", "grade": "official"}
    new = {"url": "https://a.example/2", "title": "Letter", "publisher": "Agency", "grade": "sponsor"}
    c = change(ChangeKind.AMEND, {"sources": [[old], [new]]})

    assert change_diff_rows(c, c.decision) == [
        DiffRow("Source removed", "Agency: Notice (Official document) — https://a.example/1", "—"),
        DiffRow("Source added", "—", "Agency: Letter (Sponsor statement) — https://a.example/2"),
    ]


def test_a_new_decision_has_no_rows_and_malformed_pairs_are_skipped():
    assert change_diff_rows(change(ChangeKind.PUBLISH, {"title": ["", "New"]}), Decision()) == []
    c = change(ChangeKind.AMEND, {"title": ["Old", "New"], "summary": "not a pair"})
    assert change_diff_rows(c, c.decision) == [DiffRow("Title", "Old", "New")]


def test_an_email_reads_a_change_as_the_page_does():
    c = change(
        ChangeKind.CORRECT,
        {"title": ["Old", "New"], "status": ["under_review", "approved"], "target_on": ["2024-08-11", None]},
        target_precision=Precision.DAY,
    )

    assert change_diff_lines(c) == change_diff_rows(c, c.decision)


def test_an_email_cuts_long_values_and_leaves_retractions_to_the_note():
    c = change(ChangeKind.AMEND, {"summary": ["short", "x" * 1000]})

    [line] = change_diff_lines(c)
    assert line.before == "short"
    assert len(line.after) == 300 and line.after.endswith("…")
    assert change_diff_lines(change(ChangeKind.RETRACT, {"state": ["published", "retracted"]})) == []
