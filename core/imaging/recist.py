"""RECIST 1.1-style tumour response from lesion measurements across imaging studies.

Rules, after Eisenhauer EA et al., "New response evaluation criteria in solid tumours: revised
RECIST guideline (version 1.1)", Eur J Cancer 2009;45:228-247:

* **target lesions**: lesions measurable at baseline (long axis >= 10 mm on CT), the largest first,
  at most 5 in total and at most 2 per organ (the organ limit applies only where the organ is known);
* **sum of diameters**: sum of the target lesions' long axes at one study;
* **nadir**: the smallest sum so far (baseline included), over studies where every target was measured;
* **CR**: every target lesion has disappeared (sum 0 mm) and no new lesion;
* **PR**: sum at least 30 % below the baseline sum;
* **PD**: sum at least 20 % above the nadir *and* at least 5 mm above it; or any new lesion;
* **SD**: neither PR nor PD;
* **NE** (not evaluable): a target lesion was not measured at this study, unless the measured
  ones or a new lesion already make it PD (missing lesions can only add to the sum).

Baseline is the last measured study on or before the first systemic therapy or radiotherapy
(``THERAPY_KINDS``), else the first measured study. A lesion id measured after baseline that was
not measured at baseline is a new lesion (reported once, at the study where it first appears);
a radiology report of a "new" lesion / mass / nodule / metastasis (not negated, uncertain,
hypothetical, historical or about family) counts as a new lesion at the study of that date.

Not assessed here, so nobody reads more into the label: non-target progression, the lymph-node
short-axis rule, confirmation of CR / PR after >= 4 weeks, and a new baseline after a change of
treatment (the series keeps the first baseline and nadir). This is a decision aid computed from the
measurements on file, not a radiologist's read.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum

import duckdb
import polars as pl

from core.store.queries import frame

logger = logging.getLogger(__name__)

EXTRACTOR = "core.imaging.recist"
EXTRACTOR_VERSION = "1.0"
TRACK = "response"

PR_DECREASE_FROM_BASELINE = 0.30   # PR: sum <= baseline x (1 - 0.30)            (RECIST 1.1, sec. 4.3.1)
PD_INCREASE_FROM_NADIR = 0.20      # PD: sum >= nadir x (1 + 0.20) ...             (RECIST 1.1, sec. 4.3.1)
PD_MIN_ABSOLUTE_INCREASE_MM = 5.0  # ... and sum - nadir >= 5 mm                   (RECIST 1.1, sec. 4.3.1)
MAX_TARGET_LESIONS = 5             # at most 5 target lesions in total              (RECIST 1.1, sec. 4.2)
MAX_TARGETS_PER_ORGAN = 2          # at most 2 per organ                            (RECIST 1.1, sec. 4.2)
MIN_MEASURABLE_MM = 10.0           # measurable: long axis >= 10 mm on CT           (RECIST 1.1, sec. 3.1.1)
REPORT_MATCH_DAYS = 3              # a radiology report belongs to the study within this many days
THERAPY_KINDS = ("drug", "radiation")  # treatments.kind values that start the response clock
_EPS = 1e-9                        # boundaries are inclusive: 10 -> 12 mm is exactly +20 %
_NEW_WORD = re.compile(r"\bnew(ly)?\b", re.IGNORECASE)
_NEW_WINDOW_CHARS = 40


class Response(StrEnum):
    BASELINE = "baseline"
    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"


SERIES_SCHEMA: dict[str, pl.DataType] = {
    "study_uid": pl.Utf8, "observed_at": pl.Datetime("us"), "response": pl.Utf8, "reason": pl.Utf8,
    "sum_mm": pl.Float64, "baseline_mm": pl.Float64, "nadir_mm": pl.Float64,
    "change_from_baseline_pct": pl.Float64, "change_from_nadir_pct": pl.Float64, "change_from_nadir_mm": pl.Float64,
    "n_targets": pl.Int64, "n_targets_measured": pl.Int64, "new_lesions": pl.List(pl.Utf8),
    "source_table": pl.Utf8, "source_uri": pl.Utf8, "source_sha256": pl.Utf8, "locator": pl.Utf8,
    "ingested_at": pl.Datetime("us"), "ingest_run_id": pl.Utf8, "evidence_locators": pl.List(pl.Utf8),
}
_PROV = ("source_uri", "source_sha256", "locator", "ingested_at", "ingest_run_id")


@dataclass(frozen=True)
class _Lesion:
    lesion_id: str
    size_mm: float
    organ: str | None
    prov: dict


@dataclass(frozen=True)
class _Point:
    at: datetime
    study_uid: str | None
    lesions: dict[str, _Lesion]
    reports: tuple[dict, ...]


# ---- pure rules ---------------------------------------------------------------------------------

def select_targets(lesions: dict[str, _Lesion]) -> list[str]:
    """Target lesion ids: measurable, largest first, <= 5 in total and <= 2 per known organ."""
    per_organ: dict[str, int] = {}
    out: list[str] = []
    for les in sorted(lesions.values(), key=lambda x: (-x.size_mm, x.lesion_id)):
        if les.size_mm < MIN_MEASURABLE_MM - _EPS or len(out) >= MAX_TARGET_LESIONS:
            continue
        if les.organ is not None:
            if per_organ.get(les.organ, 0) >= MAX_TARGETS_PER_ORGAN:
                continue
            per_organ[les.organ] = per_organ.get(les.organ, 0) + 1
        out.append(les.lesion_id)
    return out


def sum_is_progression(sum_mm: float, nadir_mm: float) -> bool:
    """PD by size: >= 20 % above the nadir and >= 5 mm above it (both bounds inclusive)."""
    return (sum_mm - nadir_mm >= PD_MIN_ABSOLUTE_INCREASE_MM - _EPS
            and sum_mm >= nadir_mm * (1 + PD_INCREASE_FROM_NADIR) - _EPS)


def classify(sum_mm: float | None, baseline_mm: float, nadir_mm: float, *, complete: bool,
             new_lesions: list[str]) -> tuple[Response, str]:
    """Response at one follow-up and the reason in words (thresholds: module constants)."""
    if new_lesions:
        return Response.PD, "new lesion: " + ", ".join(new_lesions)
    if sum_mm is not None and sum_is_progression(sum_mm, nadir_mm):
        nadir_txt = f"{_pct(sum_mm, nadir_mm)} ({sum_mm - nadir_mm:+.1f} mm) from nadir {nadir_mm:.1f} mm"
        return Response.PD, (f"sum {sum_mm:.1f} mm is {nadir_txt}: PD needs >= +{PD_INCREASE_FROM_NADIR:.0%} "
                             f"and >= +{PD_MIN_ABSOLUTE_INCREASE_MM:.0f} mm")
    if not complete or sum_mm is None:
        return Response.NE, ""  # the caller says which target lesions were not measured
    if sum_mm <= _EPS:
        return Response.CR, "all target lesions disappeared (sum 0 mm)"
    base_txt = f"{_pct(sum_mm, baseline_mm)} from baseline {baseline_mm:.1f} mm"
    if sum_mm <= baseline_mm * (1 - PR_DECREASE_FROM_BASELINE) + _EPS:
        return Response.PR, f"sum {sum_mm:.1f} mm is {base_txt}: PR needs <= -{PR_DECREASE_FROM_BASELINE:.0%}"
    why_not_pd = (f"only {sum_mm - nadir_mm:+.1f} mm (< {PD_MIN_ABSOLUTE_INCREASE_MM:.0f} mm)"
                  if sum_mm >= nadir_mm * (1 + PD_INCREASE_FROM_NADIR) - _EPS else
                  f"{_pct(sum_mm, nadir_mm)} from nadir {nadir_mm:.1f} mm (< +{PD_INCREASE_FROM_NADIR:.0%})")
    return Response.SD, f"sum {sum_mm:.1f} mm is {base_txt} (not PR) and {why_not_pd} (not PD)"


def _pct(value: float, ref: float) -> str:
    return f"{(value - ref) / ref * 100:+.1f}%" if ref > _EPS else "n/a (reference 0 mm)"


def assess_response(measurements: pl.DataFrame, studies: pl.DataFrame | None = None,
                    reported_new: pl.DataFrame | None = None,
                    baseline_on_or_before: datetime | None = None) -> pl.DataFrame:
    """RECIST 1.1-style response at each follow-up of one patient (pure).

    Args:
        measurements: one row per lesion per study: lesion_id, study_uid, observed_at, long_axis_mm
            (0 mm = the lesion disappeared); optional organ, source_uri, source_sha256, locator,
            ingested_at, ingest_run_id.
        studies: study_uid, observed_at of every imaging study (a study without measurements after
            baseline is a not-evaluable timepoint); optional; with the provenance columns, such a
            timepoint points at its imaging_studies row.
        reported_new: new lesions read from radiology reports: observed_at, label and the provenance
            columns; optional.
        baseline_on_or_before: the baseline is the last measured study on or before this time
            (treatment start); None: the first measured study.

    Returns:
        ``SERIES_SCHEMA`` frame, one row per timepoint from baseline on, ordered by date; response is
        a ``Response`` value; percentages are signed percent; empty when nothing was measured.
    """
    lesions_at, dates = _lesions_by_study(measurements, studies)
    measured = sorted((u for u in lesions_at if u in dates), key=lambda u: (dates[u], u))
    if not measured:
        return pl.DataFrame(schema=SERIES_SCHEMA)
    before = [u for u in measured if baseline_on_or_before is not None and dates[u] <= baseline_on_or_before]
    base_uid = before[-1] if before else measured[0]
    base, base_at = lesions_at[base_uid], dates[base_uid]
    targets = select_targets(base)
    baseline_mm = sum(base[t].size_mm for t in targets)
    points = _follow_ups(lesions_at, dates, base_at, _report_rows(reported_new))
    study_prov = _study_provenance(studies)
    rows = [_baseline_row(base_uid, base_at, base, targets, baseline_mm)]
    nadir, seen = baseline_mm, set(base)
    for p in points:
        measured_t = [t for t in targets if t in p.lesions]
        missing = [t for t in targets if t not in p.lesions]
        new = [f"{k} ({v.size_mm:.1f} mm)" for k, v in sorted(p.lesions.items()) if k not in seen and v.size_mm > _EPS]
        new += [r["label"] for r in p.reports]
        seen |= {k for k, v in p.lesions.items() if v.size_mm > _EPS}
        sum_mm = sum(p.lesions[t].size_mm for t in measured_t) if (targets and measured_t) else None
        if targets and not p.lesions and not p.reports:
            response, reason = Response.NE, "no lesion measurements at this study"
        elif not targets:
            response, reason = classify(None, 0.0, 0.0, complete=False, new_lesions=new)
            reason = reason or f"no measurable target lesion at baseline (all < {MIN_MEASURABLE_MM:.0f} mm)"
        else:
            response, reason = classify(sum_mm, baseline_mm, nadir, complete=not missing, new_lesions=new)
            if response == Response.NE:
                reason = "target lesion(s) not measured at this study: " + ", ".join(missing)
            elif missing:
                reason += "; target lesion(s) not measured at this study: " + ", ".join(missing)
        # a partial sum is shown only when it alone proves PD (missing lesions can only add to it)
        shown = sum_mm if not missing or (sum_mm is not None and sum_is_progression(sum_mm, nadir)) else None
        rows.append(_row(p, response, reason, shown, baseline_mm, nadir, targets, measured_t, new,
                         study_prov.get(p.study_uid)))
        if not missing and sum_mm is not None and targets:
            nadir = min(nadir, sum_mm)
    return pl.DataFrame(rows, schema=SERIES_SCHEMA, orient="row")


def _lesions_by_study(measurements: pl.DataFrame, studies: pl.DataFrame | None
                      ) -> tuple[dict[str, dict[str, _Lesion]], dict[str, datetime]]:
    dates: dict[str, datetime] = {}
    if studies is not None:
        dates = {u: at for u, at in zip(studies["study_uid"], studies["observed_at"], strict=True)
                 if u is not None and at is not None}
    lesions_at: dict[str, dict[str, _Lesion]] = {}
    n_undated = 0
    for r in measurements.iter_rows(named=True):
        uid, size = r["study_uid"], r["long_axis_mm"]
        if uid is None or r["lesion_id"] is None or size is None:
            continue
        if uid not in dates:
            if r["observed_at"] is None:
                n_undated += 1
                continue
            dates[uid] = r["observed_at"]
        les = _Lesion(r["lesion_id"], float(size), r.get("organ"),
                      {k: r.get(k) for k in _PROV} | {"source_table": "lesion_measurements"})
        prev = lesions_at.setdefault(uid, {}).get(les.lesion_id)
        if prev is None or les.size_mm > prev.size_mm:  # two reads of one lesion: the larger (conservative)
            lesions_at[uid][les.lesion_id] = les
    if n_undated:
        logger.warning("recist: %d lesion measurement(s) without a study date were left out", n_undated)
    return lesions_at, dates


def _report_rows(reported_new: pl.DataFrame | None) -> list[dict]:
    if reported_new is None or reported_new.height == 0:
        return []
    return [r for r in reported_new.iter_rows(named=True) if r["observed_at"] is not None]


def _follow_ups(lesions_at: dict[str, dict[str, _Lesion]], dates: dict[str, datetime], base_at: datetime,
                reports: list[dict]) -> list[_Point]:
    """Studies after baseline, with the reports matched to them; unmatched reports stand alone."""
    later = sorted((u for u in dates if dates[u] > base_at), key=lambda u: (dates[u], u))
    matched: dict[str | None, list[dict]] = {}
    loose: list[_Point] = []
    window = timedelta(days=REPORT_MATCH_DAYS)
    for r in reports:
        at = r["observed_at"]
        if at.date() <= base_at.date():
            continue  # a lesion reported at or before baseline is not new
        near = [u for u in later if abs(dates[u].date() - at.date()) <= window]
        if near:
            best = min(near, key=lambda u: (abs(dates[u].date() - at.date()), abs(dates[u] - at)))
            matched.setdefault(best, []).append(r)
        else:
            loose.append(_Point(at, None, {}, (r,)))
    pts = [_Point(dates[u], u, lesions_at.get(u, {}), tuple(matched.get(u, ()))) for u in later] + loose
    return sorted(pts, key=lambda p: (p.at, p.study_uid or ""))


def _study_provenance(studies: pl.DataFrame | None) -> dict[str, dict]:
    """study_uid -> provenance of its imaging_studies row (empty without provenance columns)."""
    if studies is None or not set(_PROV) <= set(studies.columns):
        return {}
    return {r["study_uid"]: {k: r[k] for k in _PROV} | {"source_table": "imaging_studies"}
            for r in studies.iter_rows(named=True) if r["study_uid"] is not None}


def _representative(lesions: dict[str, _Lesion], ids: list[str], reports: tuple[dict, ...],
                    study: dict | None = None) -> dict:
    """The row a timepoint's "open the source" lands on: the largest measured target, else any
    lesion, else the report naming a new lesion, else the imaging study itself."""
    pool = [lesions[i] for i in ids] or list(lesions.values())
    if pool:
        return max(pool, key=lambda x: (x.size_mm, x.lesion_id)).prov
    if reports:
        return {k: reports[0].get(k) for k in (*_PROV, "source_table")}
    return study or {k: None for k in (*_PROV, "source_table")}


def _locators(lesions: dict[str, _Lesion], reports: tuple[dict, ...]) -> list[str]:
    out = [f"lesion_measurements {v.prov.get('locator')}" for _, v in sorted(lesions.items())]
    return out + [f"{r.get('source_table')} {r.get('locator')}" for r in reports]


def _baseline_row(uid: str, at: datetime, base: dict[str, _Lesion], targets: list[str], baseline_mm: float) -> tuple:
    listed = ", ".join(f"{t} {base[t].size_mm:.1f} mm" for t in targets)
    reason = (f"baseline: {len(targets)} target lesion(s) ({listed}), sum {baseline_mm:.1f} mm" if targets else
              f"baseline: no measurable target lesion (all < {MIN_MEASURABLE_MM:.0f} mm)")
    if len(base) > len(targets):
        reason += f"; {len(base) - len(targets)} non-target"
    prov = _representative(base, targets, ())
    return (uid, at, str(Response.BASELINE), reason, baseline_mm if targets else None, baseline_mm, baseline_mm,
            0.0 if targets else None, 0.0 if targets else None, 0.0 if targets else None, len(targets), len(targets),
            [], prov["source_table"], *(prov[k] for k in _PROV), _locators(base, ()))


def _row(p: _Point, response: Response, reason: str, sum_mm: float | None, baseline_mm: float, nadir: float,
         targets: list[str], measured_t: list[str], new: list[str], study: dict | None = None) -> tuple:
    def pct(ref: float) -> float | None:
        return None if sum_mm is None or ref <= _EPS else (sum_mm - ref) / ref * 100

    prov = _representative(p.lesions, measured_t, p.reports, study)
    return (p.study_uid, p.at, str(response), reason, sum_mm, baseline_mm if targets else None,
            nadir if targets else None, pct(baseline_mm), pct(nadir),
            None if sum_mm is None else sum_mm - nadir, len(targets), len(measured_t), new,
            prov["source_table"], *(prov[k] for k in _PROV),
            _locators(p.lesions, p.reports) or ([f"imaging_studies {study['locator']}"] if study else []))


# ---- store reads --------------------------------------------------------------------------------

def _measurements(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    return frame(con, """SELECT lesion_id, study_uid, observed_at, long_axis_mm, CAST(NULL AS VARCHAR) AS organ,
                                source_uri, source_sha256, locator, ingested_at, ingest_run_id
                         FROM lesion_measurements WHERE patient_id = ? ORDER BY observed_at, lesion_id""", [patient_id])


def reported_new_lesions(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    """New lesions stated in radiology reports (affirmed mentions with "new" just before them).

    Returns columns: observed_at (report date), label, source_table, source_uri, source_sha256,
    locator, ingested_at, ingest_run_id. One row per report at most. The note text is read
    here only to find the word "new"; it is never returned.
    """
    ev = frame(con, """
        SELECT e.note_id, coalesce(n.observed_at, e.observed_at) AS observed_at, e.concept, e.span_start,
               n.text, e.source_uri, e.source_sha256, e.locator, e.ingested_at, e.ingest_run_id
        FROM note_events e JOIN notes n ON n.note_id = e.note_id AND n.patient_id = e.patient_id
        WHERE e.patient_id = ? AND e.concept_type IN ('imaging_finding', 'metastasis')
          AND lower(coalesce(n.note_type, '')) LIKE '%radiolog%'
          AND NOT coalesce(e.is_negated, false) AND NOT coalesce(e.is_uncertain, false)
          AND NOT coalesce(e.is_hypothetical, false) AND NOT coalesce(e.is_historical, false)
          AND NOT coalesce(e.is_family, false) AND e.span_start IS NOT NULL
        ORDER BY observed_at, e.note_id, e.span_start""", [patient_id])
    rows, done = [], set()
    for r in ev.iter_rows(named=True):
        if r["note_id"] in done or not r["text"]:
            continue
        before = re.split(r"[.;:\n]", r["text"][max(0, r["span_start"] - _NEW_WINDOW_CHARS):r["span_start"]])[-1]
        if _NEW_WORD.search(before):
            done.add(r["note_id"])
            rows.append({"observed_at": r["observed_at"], "label": f"{r['concept']} reported as new (radiology report)",
                         "source_table": "note_events", **{k: r[k] for k in _PROV}})
    schema = {"observed_at": pl.Datetime("us"), "label": pl.Utf8, "source_table": pl.Utf8, "source_uri": pl.Utf8,
              "source_sha256": pl.Utf8, "locator": pl.Utf8, "ingested_at": pl.Datetime("us"), "ingest_run_id": pl.Utf8}
    return pl.DataFrame(rows, schema=schema)


def therapy_start(con: duckdb.DuckDBPyConnection, patient_id: str) -> datetime | None:
    """Start of the first systemic therapy or radiotherapy (``THERAPY_KINDS``), or None."""
    rows = con.execute("SELECT min(start_date) FROM treatments WHERE patient_id = ? AND kind IN (SELECT unnest(?))",
                       [patient_id, list(THERAPY_KINDS)]).fetchall()
    d = rows[0][0] if rows else None
    return None if d is None else datetime.combine(d, datetime.max.time()).replace(microsecond=0)


def response_series(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    """RECIST 1.1-style response at each follow-up of a patient, from the store.

    Returns the ``SERIES_SCHEMA`` frame of ``assess_response`` (baseline row first); empty when the
    patient has no lesion measurements.
    """
    studies = frame(con, """SELECT study_uid, observed_at, source_uri, source_sha256, locator, ingested_at, ingest_run_id
                            FROM imaging_studies WHERE patient_id = ?""", [patient_id])
    return assess_response(_measurements(con, patient_id), studies, reported_new_lesions(con, patient_id),
                           therapy_start(con, patient_id))


def progression_since(series: pl.DataFrame, since: datetime | None) -> bool | None:
    """True if any follow-up after ``since`` is PD; False if some were assessed and none is PD;
    None if there is no assessed (non-NE) follow-up after ``since`` (pure; ``since`` None: all)."""
    fu = series.filter(pl.col("response") != str(Response.BASELINE))
    if since is not None:
        fu = fu.filter(pl.col("observed_at") > since)
    if (fu["response"] == str(Response.PD)).any():
        return True
    return False if (fu["response"] != str(Response.NE)).any() else None


def new_progression_since(con: duckdb.DuckDBPyConnection, patient_id: str, since: datetime | None) -> bool | None:
    """Whether the patient progressed (RECIST PD) at a study after ``since`` (e.g. the last board).

    Returns True / False, or None when nothing after ``since`` could be assessed.
    """
    return progression_since(response_series(con, patient_id), since)


def response_summary(row: dict) -> str:
    """One line for a series row: "RECIST PR: sum 31.0 mm, -35% vs baseline, +0% (+0.0 mm) vs nadir"."""
    parts = []
    if row["sum_mm"] is not None:
        parts.append(f"sum {row['sum_mm']:.1f} mm")
    if row["response"] == str(Response.BASELINE):
        parts.append(f"{row['n_targets']} target lesion(s)")
    elif row["change_from_baseline_pct"] is not None:
        parts.append(f"{row['change_from_baseline_pct']:+.0f}% vs baseline")
        if row.get("change_from_nadir_pct") is not None and row.get("change_from_nadir_mm") is not None:
            parts.append(f"{row['change_from_nadir_pct']:+.0f}% ({row['change_from_nadir_mm']:+.1f} mm) vs nadir")
    if row["new_lesions"]:
        parts.append("new: " + "; ".join(row["new_lesions"]))
    if row["response"] == str(Response.NE):
        parts.append("not evaluable")
    return f"RECIST {row['response']}: " + ", ".join(parts)


def response_timeline_rows(con: duckdb.DuckDBPyConnection, patient_id: str) -> pl.DataFrame:
    """The response series as rows of ``queries.timeline`` (track ``"response"``), ready to concat.

    summary is ``response_summary`` and the reason ("RECIST PR: sum 26.0 mm, -35% vs baseline, ... —
    sum 26.0 mm is -35.0% from baseline 40.0 mm: PR needs <= -30%"); value is the response category.

    Each row points at the largest measured target lesion of that study (or the report that named a
    new lesion), so "open the source" lands on a real stored row; extractor is this module.
    """
    s = response_series(con, patient_id)
    return s.select(
        pl.col("source_table").fill_null("lesion_measurements"),
        pl.lit("response", dtype=pl.Utf8).alias("kind"),
        pl.Series("summary", [f"{response_summary(r)} — {r['reason']}" if r["reason"] else response_summary(r)
                              for r in s.iter_rows(named=True)], dtype=pl.Utf8),
        pl.col("response").alias("value"),
        pl.lit("imaging", dtype=pl.Utf8).alias("modality"),
        "observed_at", "source_uri", "source_sha256", "locator",
        pl.lit(EXTRACTOR, dtype=pl.Utf8).alias("extractor"),
        pl.lit(EXTRACTOR_VERSION, dtype=pl.Utf8).alias("extractor_version"),
        "ingested_at", "ingest_run_id",
        pl.lit(TRACK, dtype=pl.Utf8).alias("track"),
    )


# ---- what the views show ------------------------------------------------------------------------

THRESHOLDS_TEXT = (
    f"Thresholds (RECIST 1.1): PR = sum of target diameters at least {PR_DECREASE_FROM_BASELINE:.0%} below the "
    f"baseline sum; PD = sum at least {PD_INCREASE_FROM_NADIR:.0%} and at least {PD_MIN_ABSOLUTE_INCREASE_MM:.0f} mm "
    f"above the nadir (smallest sum so far), or any new lesion; CR = every target lesion gone (sum 0 mm); "
    f"SD = neither PR nor PD; NE = a target lesion not measured. Targets: up to {MAX_TARGET_LESIONS} measurable "
    f"lesions (long axis >= {MIN_MEASURABLE_MM:.0f} mm), at most {MAX_TARGETS_PER_ORGAN} per organ, chosen at "
    f"baseline (the last study before the first systemic therapy or radiotherapy)."
)
CAVEAT = ("Decision aid computed from the lesion measurements on file, not a radiologist's read: non-target "
          "lesions, the lymph-node short-axis rule, confirmation scans and re-baselining after a change of "
          "treatment are not assessed.")

TABLE_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date, "response": pl.Utf8, "sum_mm": pl.Float64, "vs_baseline_pct": pl.Float64,
    "vs_nadir_pct": pl.Float64, "vs_nadir_mm": pl.Float64, "targets_measured": pl.Utf8, "new_lesions": pl.Utf8,
    "reason": pl.Utf8, "source": pl.Utf8,
}


def response_table(series: pl.DataFrame) -> pl.DataFrame:
    """The series as a table for people: one row per timepoint (baseline first), no PHI (pure).

    Returns ``TABLE_SCHEMA`` columns: date, response, sum_mm, vs_baseline_pct / vs_nadir_pct (signed
    percent), vs_nadir_mm, targets_measured ("2/3"), new_lesions ("; "-joined), reason, source
    (file name and locator of the row that "open the source" lands on).
    """
    if series.height == 0:
        return pl.DataFrame(schema=TABLE_SCHEMA)
    return series.sort("observed_at", maintain_order=True).select(
        pl.col("observed_at").dt.date().alias("date"), "response", pl.col("sum_mm").round(1),
        pl.col("change_from_baseline_pct").round(1).alias("vs_baseline_pct"),
        pl.col("change_from_nadir_pct").round(1).alias("vs_nadir_pct"),
        pl.col("change_from_nadir_mm").round(1).alias("vs_nadir_mm"),
        pl.format("{}/{}", "n_targets_measured", "n_targets").alias("targets_measured"),
        pl.col("new_lesions").list.join("; ").alias("new_lesions"), "reason",
        pl.format("{} @ {}", pl.col("source_uri").fill_null("").str.split("/").list.last(),
                  pl.col("locator").fill_null("")).alias("source"),
    ).cast(TABLE_SCHEMA)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ResponseHeadline:
    """What a board sees first about response: the latest follow-up and any progression since the last board."""
    latest: str | None               # Response value of the latest follow-up (NE included); None: no follow-up
    latest_at: datetime | None
    line: str                        # one line for the shared screen, no PHI
    new_progression: bool | None     # ``progression_since(series, last_board_at)``
    progression_at: datetime | None  # the first PD after the last board
    last_board_at: datetime | None

    @property
    def flag(self) -> str | None:
        """The red flag text, or None when there is no new progression."""
        if not self.new_progression:
            return None
        pd_on = f": PD on {self.progression_at:%Y-%m-%d}" if self.progression_at is not None else ""
        if self.last_board_at is None:
            return f"Progression (RECIST PD) on file, not yet discussed at a board{pd_on}"
        return f"New progression since last board ({self.last_board_at:%Y-%m-%d}){pd_on}"


def response_headline(series: pl.DataFrame, last_board_at: datetime | None) -> ResponseHeadline:
    """The latest response and whether the patient progressed since ``last_board_at`` (pure).

    Args:
        series: ``response_series`` frame.
        last_board_at: when the patient was last discussed at a board (``last_board_discussion``);
            None: never, so any PD on file counts as new.
    """
    prog = progression_since(series, last_board_at) if series.height else None
    pd_at = None
    if prog:
        pds = series.filter(pl.col("response") == str(Response.PD))
        if last_board_at is not None:
            pds = pds.filter(pl.col("observed_at") > last_board_at)
        pd_at = pds["observed_at"].min()
    fu = series.filter(pl.col("response") != str(Response.BASELINE)).sort("observed_at", maintain_order=True)
    if series.height == 0:
        return ResponseHeadline(None, None, "no lesion measurements on file", prog, pd_at, last_board_at)
    if fu.height == 0:
        base = series.row(0, named=True)
        size = f"sum {base['sum_mm']:.1f} mm" if base["sum_mm"] is not None else "no measurable target lesion"
        line = f"RECIST baseline only ({size}, {base['observed_at']:%Y-%m-%d}): no follow-up study yet"
        return ResponseHeadline(None, None, line, prog, pd_at, last_board_at)
    last = fu.row(-1, named=True)
    line = f"{response_summary(last)} ({last['observed_at']:%Y-%m-%d})"
    if last["response"] == str(Response.NE):
        line = f"{response_summary(last)} ({last['observed_at']:%Y-%m-%d}: {last['reason']})"
        assessed = fu.filter(pl.col("response") != str(Response.NE))
        if assessed.height:
            prev = assessed.row(-1, named=True)
            line += f"; last evaluable: {prev['response']} on {prev['observed_at']:%Y-%m-%d}"
    return ResponseHeadline(last["response"], last["observed_at"], line, prog, pd_at, last_board_at)


def last_board_discussion(evidence_con: duckdb.DuckDBPyConnection, board_cur: duckdb.DuckDBPyConnection,
                          patient_id: str, *, meeting_id: str | None = None,
                          before: datetime | None = None) -> datetime | None:
    """When the patient was last discussed at a board: the latest earlier meeting listing the case,
    or the latest decision recorded for them, whichever is later (as ``core.board.urgency`` counts it).

    Args:
        evidence_con: evidence store (board_meetings, board_cases).
        board_cur: board store cursor (decisions).
        meeting_id: the meeting being prepared or presented: it does not count, and ``before``
            defaults to its scheduled time.
        before: only discussions strictly before this (naive UTC); default: the meeting's time, else now.

    Returns:
        Naive datetime, or None if the patient was never discussed.
    """
    if before is None and meeting_id is not None:
        hit = evidence_con.execute("SELECT scheduled_at FROM board_meetings WHERE meeting_id = ?",
                                   [meeting_id]).fetchall()
        before = hit[0][0] if hit else None
    if before is None:
        before = datetime.now(timezone.utc).replace(tzinfo=None)
    listed = evidence_con.execute("""
        SELECT max(m.scheduled_at) FROM board_cases c JOIN board_meetings m USING (meeting_id)
        WHERE c.patient_id = ? AND m.scheduled_at < ? AND (CAST(? AS VARCHAR) IS NULL OR c.meeting_id <> ?)""",
                                  [patient_id, before, meeting_id, meeting_id]).fetchall()[0][0]
    decided = board_cur.execute("""
        SELECT max(decided_at) FROM decisions
        WHERE patient_id = ? AND decided_at < ? AND (CAST(? AS VARCHAR) IS NULL OR meeting_id <> ?)""",
                                [patient_id, before, meeting_id, meeting_id]).fetchall()[0][0]
    return max([d for d in (listed, decided) if d is not None], default=None)


def board_response_headline(evidence_con: duckdb.DuckDBPyConnection, board_cur: duckdb.DuckDBPyConnection,
                            patient_id: str, *, meeting_id: str | None = None) -> ResponseHeadline:
    """``response_headline`` against the patient's last board, as the agenda's urgency counts it.

    Args:
        meeting_id: the meeting being presented: it does not count as "last board", and only studies
            up to its scheduled time count (what is known at the meeting). None: as of now.
    """
    at = None
    if meeting_id is not None:
        hit = evidence_con.execute("SELECT scheduled_at FROM board_meetings WHERE meeting_id = ?",
                                   [meeting_id]).fetchall()
        at = hit[0][0] if hit else None
    series = response_series(evidence_con, patient_id)
    if at is not None:
        series = series.filter(pl.col("observed_at") <= at)
    last = last_board_discussion(evidence_con, board_cur, patient_id, meeting_id=meeting_id, before=at)
    return response_headline(series, last)
