"""The review (verdict, table, drill-down, exports) on the hand-built pilot: numbers trace to decisions."""
from __future__ import annotations

import io
import shutil

import plotly.graph_objects as go
import polars as pl
import pytest

import pilot_store as ps
from core.pilot import drilldown, export, figures, report
from core.pilot.verdict import THRESHOLDS_PATH, Verdict


@pytest.fixture(scope="module")
def review(hand_stores):
    con, w = hand_stores
    return report.build_review(con, w.read(), *ps.WINDOW)


def test_threshold_table_and_verdict(review):
    tab = report.threshold_table(review)
    assert tab.height == len(review.config.thresholds)
    acc = tab.filter(pl.col("metric") == "acceptance_rate").row(0, named=True)
    assert (acc["n"], acc["value"]) == (4, pytest.approx(0.5)) and acc["estimate"].startswith("50% (")
    assert acc["status"] == "not enough data" and "below the minimum 30" in acc["reason"]
    assert review.outcome.verdict == Verdict.EXTEND  # 5 cases cannot decide a pilot


def test_unmatched_decisions_are_reported(review):
    assert review.cases.height == 5 and review.n_decisions_in_window == 6  # P6 is on no agenda
    assert any("1 of 6 decisions" in n for n in review.notes)


@pytest.mark.parametrize("metric,num,den,not_counted", [
    ("acceptance_rate", 2, 2, 1),        # P1, P2 accepted; P3, P5 not; P4 not used
    ("override_rate", 1, 3, 1),
    ("discordance_rate", 2, 2, 1),
    ("auroc", 1, 2, 2),                  # P1 event; P2, P5 no event; P3 unobserved, P4 no risk
    ("ece", 1, 2, 2),
    ("turnaround_reduction", 0, 5, 0),
    ("completeness_all_core", 1, 4, 0),  # only P2 has imaging, notes and sequencing
    ("subgroup_auroc_min", 0, 0, 5),     # no subgroup reaches 20 outcomes
])
def test_drilldown_counts_trace_every_number(review, metric, num, den, not_counted):
    d = drilldown.drilldown(review, metric)
    c = drilldown.drill_counts(d)
    assert (c["numerator"], c["denominator only"], c["not counted"]) == (num, den, not_counted)
    m = review.measured[metric]
    if metric != "subgroup_auroc_min":
        assert c["numerator"] + c["denominator only"] == m.n
    if metric.endswith("_rate") and m.value is not None:
        assert m.value == pytest.approx(num / (num + den))
    assert set(d["patient_id"]) == {"P1", "P2", "P3", "P4", "P5"}


def test_drilldown_says_why_a_case_is_not_counted(review):
    d = drilldown.drilldown(review, "auroc").filter(pl.col("patient_id").is_in(["P3", "P4"])).sort("patient_id")
    assert d["why"].to_list()[0].startswith("outcome not observable yet (follow-up 100")
    assert d["why"].to_list()[1] == "no model risk recorded"
    with pytest.raises(ValueError, match="no drill-down"):
        drilldown.drilldown(review, "magic")


def test_csv_exports_match_the_table(review):
    tab = report.threshold_table(review)
    csv = pl.read_csv(io.StringIO(export.metrics_csv(review)))
    assert csv["threshold_id"].to_list() == tab["threshold_id"].to_list()
    assert csv["n"].to_list() == tab["n"].to_list()
    assert csv["status"].to_list() == tab["status"].to_list()
    assert csv["estimate"].to_list() == tab["estimate"].to_list()
    assert set(csv["verdict"]) == {"extend"} and set(csv["thresholds_sha256"]) == {review.config.sha256}
    cases = pl.read_csv(io.StringIO(export.cases_csv(review)))
    assert cases["decision_id"].to_list() == review.cases["decision_id"].to_list()
    assert "reason_text" not in cases.columns and "attendees" not in cases.columns  # no free text / names


def test_html_report_and_summary(review):
    html = export.report_html(review)
    assert "Verdict: EXTEND" in html and review.config.sha256 in html
    assert all(t.id in html for t in review.config.thresholds)
    lines = export.summary_lines(review)
    assert lines[1] == "VERDICT: EXTEND" and any(l.startswith("acceptance") for l in lines)


def test_figures_render_with_and_without_cases(review, hand_stores):
    figs = figures.review_figures(review)
    assert len(figs) == 6 and all(isinstance(f, go.Figure) for f in figs.values())
    assert len(figs["Turnaround"].data[0].x) == 5
    con, w = hand_stores
    empty = report.build_review(con, w.read(), ps.WINDOW[0].replace(year=2020), ps.WINDOW[1].replace(year=2020))
    assert empty.cases.height == 0 and empty.outcome.verdict == Verdict.EXTEND
    for f in figures.review_figures(empty).values():
        assert isinstance(f, go.Figure)


def test_default_window_starts_at_the_first_decision(hand_stores, tmp_path):
    con, w = hand_stores
    win = report.default_window(w.read(), report.load_thresholds(), evidence_con=con)
    assert str(win.start) == "2025-06-04" and (win.end - win.start).days == 89
    # a decision left from another store's meeting does not move the start
    from datetime import datetime

    from core.board.decisions import record_decision
    from core.store import db

    other = db.BoardWriter(tmp_path / "b.duckdb")
    record_decision(other, ps._decision("OLD", "P1", datetime(2020, 1, 8, 8), "accepted", 0.5), {}, None)
    record_decision(other, ps.DECISIONS[0], {}, None)
    assert str(report.default_window(other.read(), report.load_thresholds(), evidence_con=con).start) == "2025-06-04"
    assert str(report.default_window(other.read(), report.load_thresholds()).start) == "2020-01-08"
    other.close()
    empty = db.BoardWriter(tmp_path / "e.duckdb")
    win = report.default_window(empty.read(), report.load_thresholds(), today=datetime(2026, 1, 1).date())
    assert str(win.end) == "2026-01-01" and "no decisions" in win.basis
    empty.close()


def test_thresholds_fixed_after_the_pilot_started_are_flagged(hand_stores, tmp_path):
    con, w = hand_stores
    p = tmp_path / "thresholds.toml"
    shutil.copy(THRESHOLDS_PATH, p)
    p.write_text(p.read_text().replace('fixed_on = "2025-05-01"', 'fixed_on = "2025-06-10"'))
    rv = report.build_review(con, w.read(), *ps.WINDOW, thresholds_path=p)
    assert any("not set in advance" in n for n in rv.notes)


def test_cli_report_prints_the_verdict_and_writes_csv(tmp_path, monkeypatch, capsys):
    from core.__main__ import main

    ps.build_evidence(tmp_path)
    ps.build_board(tmp_path).close()
    monkeypatch.setenv("TB_STORE_DIR", str(tmp_path))
    out = tmp_path / "csv"
    assert main(["pilot", "report", "--start", "2025-06-01", "--end", "2025-06-30", "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    assert "VERDICT: EXTEND" in text and "acceptance      50% (" in text
    csv = pl.read_csv(out / "pilot_metrics.csv")
    assert csv.filter(pl.col("threshold_id") == "acceptance")["n"].item() == 4
    assert pl.read_csv(out / "pilot_cases.csv").height == 5
