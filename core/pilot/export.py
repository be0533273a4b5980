"""Exports of the pilot review: CSV (metrics, cases), HTML/PDF for the steering committee, CLI text."""
from __future__ import annotations

import html
import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from core.pilot import metrics
from core.pilot.report import PilotReview, threshold_table

def metrics_csv(review: PilotReview) -> str:
    """The threshold table as CSV, preceded by comment-free header columns (window, verdict, file hash)."""
    t = threshold_table(review).with_columns(
        pl.lit(str(review.window.start)).alias("window_start"), pl.lit(str(review.window.end)).alias("window_end"),
        pl.lit(str(review.outcome.verdict)).alias("verdict"), pl.lit(review.config.sha256).alias("thresholds_sha256"))
    buf = io.StringIO()
    t.write_csv(buf)
    return buf.getvalue()


def cases_csv(review: PilotReview) -> str:
    """Every decided case of the window with what each metric used (pseudonymous ids, no free text)."""
    buf = io.StringIO()
    metrics.with_age_band(review.cases).write_csv(buf)
    return buf.getvalue()


CSS = """
body{font-family:DejaVu Sans,Arial,sans-serif;font-size:11pt;margin:22px;color:#111}
h1{font-size:19pt;margin-bottom:2px} h2{font-size:14pt;border-bottom:1px solid #999;margin-top:16px}
table{border-collapse:collapse;width:100%;font-size:9pt} td,th{border:1px solid #ccc;padding:3px 5px;text-align:left}
.go{background:#e3f4e1} .no-go{background:#f9e0de} .extend{background:#fff4d6} .small{color:#555;font-size:8.5pt}
.banner{padding:8px 12px;border-radius:4px;font-size:14pt;margin:8px 0}
"""


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x))


def report_html(review: PilotReview, figures: dict[str, object] | None = None) -> str:
    """Self-contained HTML for the steering committee (figures as static PNG when given)."""
    from core.report.pdf import figure_png_tag

    v = review.outcome.verdict
    reasons = "".join(f"<li>{_e(r)}</li>" for r in review.outcome.reasons)
    tab = threshold_table(review)
    head = ("<tr><th>Threshold</th><th>Estimate (95% CI)</th><th>n</th><th>Required</th><th>min n</th>"
            "<th>Status</th><th>Reason</th></tr>")
    body = "".join(
        f"<tr><td>{_e(r['threshold_id'])}{' (critical)' if r['critical'] else ''}<br>"
        f"<span class='small'>{_e(r['description'])}</span></td><td>{_e(r['estimate'])}</td><td>{r['n']}</td>"
        f"<td>{_e(r['threshold'])}</td><td>{r['min_n']}</td><td>{_e(r['status'])}</td><td>{_e(r['reason'])}"
        f"<br><span class='small'>{_e(r['detail'])}</span></td></tr>" for r in tab.iter_rows(named=True))
    notes = "".join(f"<li>{_e(n)}</li>" for n in review.notes)
    figs = "".join(f"<h2>{_e(name)}</h2>{figure_png_tag(fig, alt=name)}" for name, fig in (figures or {}).items())
    meta = review.config.meta
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html><html><head><meta charset='utf-8'><title>Pilot review</title><style>{CSS}</style>
</head><body><h1>Pilot go / no-go review</h1>
<p class='small'>Window {_e(review.window.text())} · {review.cases.height} decided cases
({review.n_decisions_in_window} decisions in the window) · generated {now}</p>
<div class='banner {_e(v)}'><b>Verdict: {_e(str(v).upper())}</b><ul>{reasons}</ul></div>
{f"<h2>Governance notes</h2><ul>{notes}</ul>" if notes else ""}
<h2>Thresholds</h2>
<p class='small'>data/pilot/thresholds.toml · sha256 {_e(review.config.sha256)} · fixed on {_e(meta.get('fixed_on'))}
by {_e(meta.get('approved_by'))} · version {_e(meta.get('version'))}. A threshold is met only when the whole 95%
interval is on the right side and n reaches its minimum; otherwise "not enough data".</p>
<table>{head}{body}</table>{figs}
<p class='small'>Every number traces to the decisions listed in the cases export (pseudonymous patient ids).</p>
</body></html>"""


_EXPORT_LOCK = threading.Lock()


@contextmanager
def _image_session() -> Iterator[None]:
    """One Chromium for every figure of the export (kaleido starts one per image otherwise: ~10 s each)."""
    try:
        import kaleido
    except ImportError:  # pragma: no cover - plotly then reports the missing engine itself
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "kopts ignored when using a server"
        kaleido.start_sync_server(silence_warnings=True)
        try:
            yield
        finally:
            kaleido.stop_sync_server(silence_warnings=True)


def export_pdf(review: PilotReview, out: Path, figures: dict[str, object] | None = None) -> Path:
    """The review as PDF (headless Chromium); exports are serialised (one shared image server)."""
    from core.report.pdf import html_to_pdf

    with _EXPORT_LOCK:
        with _image_session():
            doc = report_html(review, figures)
        return html_to_pdf(doc, out)


def summary_lines(review: PilotReview) -> list[str]:
    """Plain-text verdict and threshold table (CLI)."""
    out = [f"Pilot window {review.window.text()}: {review.cases.height} decided cases",
           f"VERDICT: {str(review.outcome.verdict).upper()}"]
    out += [f"  - {r}" for r in review.outcome.reasons]
    out += [f"  ! {n}" for n in review.notes]
    tab = threshold_table(review)
    w = max([len(x) for x in tab["threshold_id"].to_list()] + [9])
    out.append(f"{'threshold':<{w}}  {'estimate (95% CI)':<22} {'n':>4}  {'required':<10} status")
    for r in tab.iter_rows(named=True):
        out.append(f"{r['threshold_id']:<{w}}  {r['estimate']:<22} {r['n']:>4}  {r['threshold']:<10} {r['status']}"
                   f" — {r['reason']}")
    out.append(f"thresholds sha256 {review.config.sha256[:16]}…, fixed on {review.config.meta.get('fixed_on')}")
    return out
