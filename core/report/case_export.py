"""Case summary for the record: one self-contained HTML (static figures) and its PDF."""
from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import plotly.graph_objects as go
import polars as pl

from core.board.case_summary import CaseSummary, Fact, case_summary
from core.report.pdf import figure_png_tag, html_to_pdf
from core.store import queries
from core.ui.figures import timeline_figure

CSS = """
body{font-family:DejaVu Sans,Arial,sans-serif;font-size:12pt;margin:24px;color:#111}
h1{font-size:20pt;margin-bottom:4px} h2{font-size:15pt;border-bottom:1px solid #999;margin-top:18px}
table{border-collapse:collapse;width:100%;font-size:9.5pt} td,th{border:1px solid #ccc;padding:3px 5px;text-align:left}
.src{color:#555;font-size:8.5pt} .warn{color:#a00}
"""


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x))


def _fact_row(f: Fact) -> str:
    when = f"{f.observed_at:%Y-%m-%d}" if f.observed_at else ""
    return (f"<tr><td>{_e(f.label)}</td><td>{_e(f.value)}</td><td>{when}</td>"
            f"<td class='src'>{_e(Path(f.source_uri).name)} @ {_e(f.locator)}<br>sha256 {_e(f.source_sha256[:16])}…</td></tr>")


def case_html(s: CaseSummary, *, timeline: pl.DataFrame | None = None, extra_figures: list[go.Figure] | None = None,
              masked: bool = True, generated_by: str = "") -> str:
    """Self-contained HTML of a case summary. Every fact carries its source and locator."""
    facts = [f for f in [s.ecog, s.latest_imaging, s.current_therapy] if f] + s.drivers + s.biomarkers
    rows = "".join(_fact_row(f) for f in facts) or "<tr><td colspan=4>no facts on file</td></tr>"
    genes = "".join(f"<tr><td>{_e(g)}</td><td>{_e(v)}</td></tr>" for g, v in s.gene_status.items())
    pred = s.prediction
    pred_html = "<p>No model output stored.</p>"
    if pred:
        pred_html = (f"<p><b>12-month progression risk {pred['risk']:.2f}</b> (interval {pred['risk_low']:.2f}–"
                     f"{pred['risk_high']:.2f}); modalities used: {_e(', '.join(pred.get('modalities_used') or []))}; "
                     f"missing: {_e(', '.join(pred.get('modalities_missing') or []) or 'none')}.<br>"
                     f"<span class='src'>model {_e(pred.get('model_id'))} v{_e(pred.get('model_version'))}, training data "
                     f"{_e(str(pred.get('training_data_hash'))[:12])}, scored {_e(pred.get('scored_at'))}</span></p>")
    figs = ""
    if timeline is not None and timeline.height:
        figs += figure_png_tag(timeline_figure(timeline, height=380), height=380, alt="timeline")
    for f in extra_figures or []:
        figs += figure_png_tag(f, alt="figure")
    issues = "".join(f"<li class='warn'>{_e(q)}</li>" for q in s.open_questions)
    disc = "".join(f"<li class='warn'>{_e(d.get('description'))}</li>" for d in s.discrepancies)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    who = f"Patient {_e(s.patient_id)}" + (" (PHI masked)" if masked else "")
    return f"""<!doctype html><html><head><meta charset='utf-8'><title>Case summary {_e(s.patient_id)}</title>
<style>{CSS}</style></head><body>
<h1>{who}</h1>
<p>{_e(s.age_years)} y · {_e(s.sex)} · {_e(s.oncotree_code or s.cancer_type)} · stage {_e(s.stage)} · {_e(s.histology)}</p>
<h2>Key facts with sources</h2><table><tr><th>item</th><th>value</th><th>date</th><th>source</th></tr>{rows}</table>
<h2>Key genes</h2><table><tr><th>gene</th><th>status (not tested ≠ negative)</th></tr>{genes}</table>
<h2>Model output</h2>{pred_html}
<h2>Open questions and discrepancies</h2><ul>{issues}{disc}</ul>
<h2>Figures</h2>{figs}
<p class='src'>Generated {now} {_e(generated_by)}. Decision support only: model outputs explain the model, not the disease.</p>
</body></html>"""


def export_case(con: duckdb.DuckDBPyConnection, patient_id: str, out_dir: Path, *, masked: bool = True) -> tuple[Path, Path]:
    """Write ``case-<id>.html`` and ``case-<id>.pdf`` into ``out_dir``; returns both paths."""
    from core.store.export import safe_output_dir

    out_dir = safe_output_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    s = case_summary(con, patient_id)
    doc = case_html(s, timeline=queries.timeline(con, patient_id), masked=masked)
    h = out_dir / f"case-{patient_id}.html"
    h.write_text(doc, encoding="utf-8")
    p = html_to_pdf(doc, out_dir / f"case-{patient_id}.pdf")
    return h, p
