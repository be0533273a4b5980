"""A patient's dated clinical course: imaging studies with lesion sizes, visits, treatment lines, labs.

Everything is derived from the latent patient and its own generator, so the files written
from a course (notes, DICOM, FHIR, labs) tell one consistent story. Times are days
relative to the board date unless said otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from core.synth.cohort import LatentPatient, reference_date

MONTH = 30.4375
MAX_STUDIES = 6          # imaging studies per patient (demo runtime)
MAX_PROGRESS_NOTES = 10  # oncology visit notes per patient
ORAL_CONTINUOUS = frozenset({"osimertinib", "alectinib", "lorlatinib", "crizotinib", "selpercatinib", "capmatinib",
                             "dabrafenib + trametinib", "sotorasib", "anastrozole", "tamoxifen", "letrozole",
                             "elacestrant"})
SURGICAL_WORDS = ("lobectomy", "lumpectomy", "mastectomy", "colectomy", "resection", "surgery")


@dataclass(frozen=True)
class Study:
    when: date
    label: str                   # diagnostic / staging / restaging / surveillance
    size_mm: float | None        # lesion equivalent diameter; None when there is no lesion (resected)
    response: str | None         # RECIST-like category vs baseline / nadir: PR, SD, PD, CR, NED
    new_lesion: bool = False


@dataclass(frozen=True)
class Line:
    kind: str                    # medication / surgery / radiation
    name: str                    # regimen or procedure
    start: date
    end: date | None
    line: int | None
    intent: str                  # curative / palliative


@dataclass(frozen=True)
class Visit:
    when: date
    kind: str                    # consult / progress / progression / board / death
    ecog: int
    on_treatment: str | None
    study: Study | None = None   # the most recent study discussed


@dataclass
class Course:
    diagnosis: date
    board: date
    biopsy: date
    sequencing_report: date | None
    treatment_start: date | None
    progression: date | None
    death: date | None
    last_contact: date
    data_cut: date
    studies: list[Study] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    lab_dates: list[date] = field(default_factory=list)


def _weekday(d: date) -> date:
    """Move a weekend date to the next Monday-Friday (clinics and scanners work weekdays)."""
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def _d(base: date, days: float) -> date:
    return base + timedelta(days=int(round(days)))


def build_course(p: LatentPatient, seed: int) -> Course:
    """The dated course of ``p`` (deterministic in ``seed`` and ``p.idx``)."""
    rng = np.random.default_rng([seed, p.idx, 11])
    ref = reference_date(seed)
    data_cut = ref - timedelta(days=3)
    B = p.board_date
    dx = p.diagnosis_date
    end_obs = B if p.is_current else min(_d(B, p.followup_months * MONTH), data_cut)
    progression = None if p.is_current or not p.pfs_event else _d(B, p.pfs_months * MONTH)
    death = None if p.is_current or not p.os_event else _d(B, p.os_months * MONTH)
    seq = None
    if p.sequenced:
        seq = _weekday(min(_d(dx, rng.uniform(8, 21)), B - timedelta(days=2)))
        seq = max(seq, dx + timedelta(days=1))
    start = None if p.is_current else _weekday(_d(B, rng.uniform(7, 20)))
    if start is not None and death is not None and start >= death:
        start = None
    last = death or end_obs
    c = Course(diagnosis=dx, board=B, biopsy=dx, sequencing_report=seq, treatment_start=start,
               progression=progression, death=death, last_contact=last, data_cut=data_cut)
    c.lines = _lines(p, c, rng)
    c.studies = _studies(p, c, rng) if p.has_imaging else []
    c.visits = _visits(p, c, rng)
    c.lab_dates = sorted({v.when for v in c.visits if v.kind in ("consult", "progress", "progression")})
    return c


def _lines(p: LatentPatient, c: Course, rng: np.random.Generator) -> list[Line]:
    if c.treatment_start is None:
        return []
    out: list[Line] = []
    stop = c.progression or c.death
    t1 = c.treatment_start
    if p.stage == "IV":
        out.append(Line("medication", p.line1, t1, stop, 1, "palliative"))
        if p.metastatic_sites and "brain" in p.metastatic_sites:
            out.append(Line("radiation", "stereotactic radiosurgery to brain metastasis", t1, t1 + timedelta(days=5), None,
                            "palliative"))
    else:
        plan = p.line1
        if plan.startswith("neoadjuvant"):
            neo, _, rest = plan.partition(", then ")
            surg_day = _weekday(t1 + timedelta(days=int(rng.integers(120, 150))))
            out.append(Line("medication", neo.removeprefix("neoadjuvant ").removesuffix(" with radiation"), t1,
                            surg_day - timedelta(days=28), None, "curative"))
            if "radiation" in neo:
                out.append(Line("radiation", "pelvic chemoradiation", t1, t1 + timedelta(days=38), None, "curative"))
            out.append(Line("surgery", rest.replace("surgery", _surgery_name(p)), surg_day, None, None, "curative"))
        elif any(w in plan.split(",")[0] for w in SURGICAL_WORDS):
            first, _, rest = plan.partition(", then ")
            surg = first.replace(" and radiation", "")
            out.append(Line("surgery", surg, t1, None, None, "curative"))
            if " and radiation" in first:
                out.append(Line("radiation", "whole-breast radiation", t1 + timedelta(days=42), t1 + timedelta(days=84),
                                None, "curative"))
            for i, part in enumerate([x for x in rest.split(", then ") if x]):
                drug = part.removeprefix("adjuvant ")
                s = t1 + timedelta(days=42 + 120 * i)
                dur = 5 * 365 if drug in ("tamoxifen", "anastrozole") else 3 * 365 if drug == "osimertinib" else 90
                e = min(s + timedelta(days=dur), stop) if stop else s + timedelta(days=dur)
                if c.death and s >= c.death:
                    break
                out.append(Line("medication", drug, s, e if e < c.data_cut else None, None, "curative"))
        else:  # definitive chemoradiation
            first, _, rest = plan.partition(" with ")
            out.append(Line("medication", first, t1, t1 + timedelta(days=49), None, "curative"))
            out.append(Line("radiation", "definitive thoracic radiation" if p.cancer_type == "lung" else "radiation",
                            t1, t1 + timedelta(days=45), None, "curative"))
            if "durvalumab" in plan:
                s = t1 + timedelta(days=70)
                e = s + timedelta(days=365)
                if stop and stop < e:
                    e = stop
                if not (c.death and s >= c.death):
                    out.append(Line("medication", "durvalumab", s, e if e < c.data_cut else None, None, "curative"))
    if c.progression is not None and (c.death is None or (c.death - c.progression).days > 21):
        s2 = _weekday(c.progression + timedelta(days=int(rng.integers(7, 21))))
        regimen = p.line2 if p.stage == "IV" or p.subgroup == "crc_braf" else p.metastatic_line1
        if p.stage != "IV" and p.subgroup == "lung_egfr_osimertinib" and any(
                ln.name == "osimertinib" for ln in out):
            regimen = "carboplatin + pemetrexed"
        if c.death is None or s2 < c.death:
            out.append(Line("medication", regimen, s2, c.death, 2 if p.stage == "IV" else 1, "palliative"))
    # lines that were still running at the data cut have no end date
    return [ln if (ln.end is None or ln.end <= c.data_cut) else
            Line(ln.kind, ln.name, ln.start, None, ln.line, ln.intent) for ln in out]


def _surgery_name(p: LatentPatient) -> str:
    if p.cancer_type == "breast":
        return "mastectomy with sentinel lymph node biopsy"
    if p.cancer_type == "colorectal":
        return "low anterior resection" if p.primary_site == "rectum" else "colectomy"
    return "lobectomy"


def size_at(p: LatentPatient, c: Course, when: date) -> float | None:
    """Lesion diameter (mm) on ``when``; None after resection until recurrence."""
    g = p.growth_per_month
    first = c.diagnosis - timedelta(days=21)
    t_pre = (when - first).days / MONTH
    if c.treatment_start is None or when <= c.treatment_start:
        return p.lesion_size_mm * math.exp(g * max(t_pre, 0.0))
    s_t1 = p.lesion_size_mm * math.exp(g * max((c.treatment_start - first).days / MONTH, 0.0))
    resected = next((ln.start for ln in c.lines if ln.kind == "surgery"), None)
    t = (when - c.treatment_start).days / MONTH
    prog = None if c.progression is None else (c.progression - c.treatment_start).days / MONTH
    if resected is not None:
        if when < resected:  # neoadjuvant shrinkage
            frac = min((when - c.treatment_start).days / max((resected - c.treatment_start).days, 1), 1.0)
            return s_t1 * (1 - p.response_depth * frac)
        if prog is None or t < prog - 0.3:
            return None
        return 12.0 * math.exp(g * max(t - prog + 0.3, 0.0))  # recurrence
    d = p.response_depth
    p_t = prog if prog is not None else 10 ** 6
    t_n = max(min(0.5 * p_t, 3.0), 0.5)
    nadir = s_t1 * (1 - d)
    if t <= t_n:
        return s_t1 * (1 - d * t / t_n)
    if prog is None or t <= p_t:
        if prog is None:
            return nadir
        rise = max(0.22 * nadir, 5.5)
        return nadir + rise * (t - t_n) / max(p_t - t_n, 0.1)
    at_prog = nadir + max(0.22 * nadir, 5.5)
    return at_prog * math.exp(g * (t - p_t))


def _studies(p: LatentPatient, c: Course, rng: np.random.Generator) -> list[Study]:
    dates: list[tuple[date, str]] = [(_weekday(c.diagnosis - timedelta(days=int(rng.integers(7, 26)))), "diagnostic")]
    if rng.random() < 0.45:
        staging = _weekday(c.diagnosis + timedelta(days=int(rng.integers(5, 14))))
        if staging < c.board - timedelta(days=1):
            dates.append((staging, "staging"))
    if c.treatment_start is not None:
        resected = any(ln.kind == "surgery" for ln in c.lines)
        step = int(rng.integers(42, 85)) if not resected else int(rng.integers(90, 180))  # every 6-12 weeks on therapy
        t = c.treatment_start + timedelta(days=step)
        stop = c.last_contact
        after_prog = 0
        while t <= stop and len(dates) < MAX_STUDIES:
            if c.progression is not None and t > c.progression:
                if after_prog == 0 and (c.progression - dates[-1][0]).days > 14:
                    dates.append((_weekday(c.progression), "restaging"))  # the scan that shows it
                after_prog += 1
                if after_prog > 1 or len(dates) >= MAX_STUDIES:
                    break
            dates.append((_weekday(t), "surveillance" if resected else "restaging"))
            t += timedelta(days=step)
        if (c.progression is not None and len(dates) < MAX_STUDIES
                and not any(abs((d - c.progression).days) <= 14 for d, _ in dates) and c.progression <= stop):
            dates.append((_weekday(c.progression), "restaging"))
    dates = sorted({d: lab for d, lab in dates if d <= c.last_contact}.items())
    out: list[Study] = []
    baseline: float | None = None
    nadir: float | None = None
    for when, label in dates:
        size = size_at(p, c, when)
        if size is not None:
            size = round(min(max(size, 3.0), 140.0), 1)
        new = bool(c.progression is not None and when >= c.progression and p.stage == "IV" and rng.random() < 0.35)
        resp = _response(size, baseline, nadir, new, started=c.treatment_start is not None and when > c.treatment_start)
        if label in ("diagnostic", "staging") or baseline is None:
            baseline = size
        if size is not None:
            nadir = size if nadir is None else min(nadir, size)
        out.append(Study(when, label, size, resp, new))
    return out


def _response(size: float | None, baseline: float | None, nadir: float | None, new: bool, started: bool) -> str | None:
    if not started:
        return None
    if size is None:
        return "NED"
    if new:
        return "PD"
    if baseline is None:
        return "PD"  # recurrence after resection
    if nadir is not None and size >= 1.2 * nadir and size - nadir >= 5:
        return "PD"
    if size <= 0.7 * baseline:
        return "PR"
    return "SD"


def _visits(p: LatentPatient, c: Course, rng: np.random.Generator) -> list[Visit]:
    consult = _weekday(c.diagnosis + timedelta(days=int(rng.integers(3, 9))))
    consult = min(consult, c.board - timedelta(days=1))
    out = [Visit(consult, "consult", p.ecog, None, _latest(c.studies, consult))]
    if not p.is_current:
        out.append(Visit(c.board, "board", p.ecog, None, _latest(c.studies, c.board)))
    if c.treatment_start is None:
        return out
    ecog = p.ecog
    t = c.treatment_start
    n = 0
    stop = c.last_contact
    while t < stop and n < MAX_PROGRESS_NOTES:
        active = _active_line(c, t)
        if c.progression is not None and t >= c.progression and not any(v.kind == "progression" for v in out):
            pv = _weekday(c.progression + timedelta(days=int(rng.integers(2, 7))))
            if pv < stop:
                ecog = min(ecog + int(rng.random() < 0.5), 4)
                out.append(Visit(pv, "progression", ecog, _active_line(c, pv), _latest(c.studies, pv)))
                t = pv + timedelta(days=21)
                continue
        out.append(Visit(t, "progress", ecog, active, _latest(c.studies, t)))
        n += 1
        t = _weekday(t + timedelta(days=_visit_gap(active, n, rng)))
    if c.death is not None:
        out.append(Visit(c.death, "death", 4, None, None))
    return sorted(out, key=lambda v: (v.when, v.kind))


def _visit_gap(active: str | None, n: int, rng: np.random.Generator) -> int:
    """Days to the next visit: every cycle early in infusional therapy, then every 6-8 weeks; monthly on oral
    targeted therapy; every 3 months in surveillance or on adjuvant endocrine therapy."""
    if active is None or active in ("anastrozole", "tamoxifen", "letrozole"):
        return int(rng.integers(84, 98))
    if active in ORAL_CONTINUOUS:
        return 28 if n < 4 else int(rng.integers(56, 70))
    return 21 if n < 6 else int(rng.integers(42, 57))


def _latest(studies: list[Study], when: date) -> Study | None:
    prior = [s for s in studies if s.when <= when]
    return prior[-1] if prior else None


def _active_line(c: Course, when: date) -> str | None:
    act = [ln for ln in c.lines if ln.kind == "medication" and ln.start <= when and (ln.end is None or ln.end >= when)]
    return act[-1].name if act else None
