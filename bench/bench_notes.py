"""Clinical-note NLP throughput (notes/s) against a plain regex sentence split of the same notes.

Usage: .venv/bin/python bench/bench_notes.py [--notes 600] [--repeat 3] [--workers 2] [--ingest]

Generates oncology notes in clinical style (header, sections, 1-3 KB; lung, breast and
colorectal; negations, family history, smoking, ECOG, biomarker results written after the
marker, dates in several formats), builds the medspaCy pipeline once, then measures, best
of ``--repeat``:
  * baseline: ``re.split`` of every note into sentences, nothing else;
  * nlp: ``core.nlp.extract_events`` on every note body (pipeline, ConText, sections, values, dates);
  * nlp xN: the same split over ``--workers`` processes (each builds its own pipeline first);
  * ingest (``--ingest``): ``core.ingest.run.ingest_paths`` of the note files into an in-memory
    store (hashing, header, patient link, events, one transaction per note).
Wall-clock and CPU-time rates are both printed: on a shared machine CPU time is the steadier one.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

_SPLIT = re.compile(r"(?<=[.!?])\s+")

NOTES_PER_PATIENT = 5  # several notes per patient, as in active care
DATE_FORMATS = ("%m/%d/%Y", "%d %b %Y", "%Y-%m-%d", "%B %d, %Y")
LUNG_MARKERS = (
    "EGFR L858R detected. ALK rearrangement was not detected. ROS1 negative. PD-L1 TPS {tps}%.",
    "EGFR exon 19 deletion identified by NGS. KRAS wild-type. PD-L1 (22C3) tumor proportion score of {tps}%.",
    "KRAS G12C detected. EGFR mutation was not detected. Negative for ALK rearrangement. PD-L1 TPS {tps}%.",
    "No EGFR, ALK or ROS1 alterations were identified. PD-L1 <1%. TMB {tmb} mut/Mb.",
    "BRAF V600E mutation detected; MET exon 14 skipping not detected. PD-L1 expression {tps}%.",
)
BREAST_MARKERS = (
    "ER positive ({er}%), PR negative, HER2 1+ (negative). Ki-67 {ki}%.",
    "ER/PR positive, HER2 3+ (positive). Ki-67 {ki}%.",
    "ER+/PR+/HER2- by IHC. PIK3CA H1047R detected on NGS.",
    "Triple negative: ER negative, PR negative, HER2 0. Germline BRCA1 pathogenic variant detected.",
    "ER positive (90%), PR positive (40%), HER2 2+ (equivocal), FISH not amplified.",
)
CRC_MARKERS = (
    "MMR proteins intact; microsatellite stable. KRAS G12D detected. NRAS and BRAF wild-type.",
    "Loss of MLH1 and PMS2 expression; tumor is MSI-high. BRAF V600E detected.",
    "KRAS wild-type, NRAS wild-type, BRAF negative. MSS. HER2 not amplified.",
    "KRAS G12C detected. dMMR not identified (pMMR). TMB {tmb} mut/Mb.",
)
DISEASES = {
    "lung": ("adenocarcinoma of the lung", "right upper lobe", LUNG_MARKERS,
             ("osimertinib", "carboplatin and pemetrexed", "pembrolizumab", "sotorasib", "alectinib")),
    "breast": ("invasive ductal carcinoma of the left breast", "left breast", BREAST_MARKERS,
               ("letrozole and palbociclib", "trastuzumab and pertuzumab", "tamoxifen", "paclitaxel")),
    "crc": ("adenocarcinoma of the sigmoid colon", "sigmoid colon", CRC_MARKERS,
            ("FOLFOX", "FOLFIRI and bevacizumab", "capecitabine", "pembrolizumab")),
}


def _d(rng: random.Random, day: date) -> str:
    return day.strftime(rng.choice(DATE_FORMATS))


def make_note(rng: random.Random, i: int) -> str:
    """One synthetic oncology note with a header (1-3 KB); notes i..i+4 share a patient."""
    kind = rng.choice(tuple(DISEASES))
    dx, site, markers, drugs = DISEASES[kind]
    visit = date(2024, 1, 1) + timedelta(days=rng.randint(0, 500))
    dx_day = visit - timedelta(days=rng.randint(30, 400))
    drug = rng.choice(drugs)
    size = round(rng.uniform(0.8, 6.5), 1)
    fill = {"tps": rng.choice((0, 5, 30, 60, 80, 95)), "tmb": rng.randint(1, 30), "er": rng.randint(50, 100),
            "ki": rng.randint(5, 60)}
    smoker = rng.choice(("Former smoker with a {py} pack-year history, quit in {y}.", "Never smoker.",
                         "Current smoker, 1 ppd.", "Denies tobacco use.")).format(py=rng.randint(5, 60),
                                                                                  y=rng.randint(1995, 2020))
    family = rng.choice(("Mother had breast cancer at age 52.", "Father with colon cancer in his 60s.",
                         "No family history of cancer.", "Sister diagnosed with ovarian cancer.",
                         "Maternal aunt with breast cancer. Father with stroke."))
    ecog = rng.randint(0, 2)
    pt = i // NOTES_PER_PATIENT
    response = rng.choice(("partial response", "stable disease", "progressive disease", "no evidence of disease"))
    parts = [
        f"MRN: {48000000 + pt}", f"PATIENT: TEST{pt}, PATIENT", f"DOB: {1940 + pt % 40}-0{1 + pt % 9}-1{pt % 9}",
        f"NOTE TYPE: {rng.choice(('Oncology Progress Note', 'Consult Note', 'Tumor Board Summary'))}",
        f"DATE OF SERVICE: {_d(rng, visit)}", "AUTHOR: Dr. A. Smith", "-" * 40,
        "Chief Complaint:", f"Follow-up of {dx}.", "",
        "History of Present Illness:",
        f"{rng.randint(45, 85)} year old with {dx} diagnosed on {_d(rng, dx_day)} after a CT-guided biopsy of a "
        f"{size} cm spiculated mass in the {site}. She started {drug} on {_d(rng, dx_day + timedelta(days=30))} and "
        f"has tolerated it well. She reports mild fatigue but denies hemoptysis, fever or weight loss. "
        f"Pain is controlled. Seen in clinic last Tuesday for cough.", "",
        "Oncologic History:",
        f"Stage {rng.choice(('IIIA', 'IV', 'IIB', 'IVA'))} disease, cT{rng.randint(1, 4)} N{rng.randint(0, 3)} "
        f"M{rng.randint(0, 1)}. History of hypertension and type 2 diabetes. Status post "
        f"{rng.choice(('lobectomy', 'lumpectomy', 'hemicolectomy', 'bronchoscopy'))} in {rng.randint(2010, 2022)}.",
        "", "Molecular Testing:", rng.choice(markers).format(**fill), "",
        "Imaging:",
        f"CT chest/abdomen/pelvis on {_d(rng, visit - timedelta(days=7))} shows a {round(size * 0.8, 1)} x "
        f"{round(size * 0.6, 1)} cm mass, previously {size} cm, consistent with {response}. No evidence of "
        f"metastasis to the liver. Possible small left pleural effusion. Cannot exclude a 4 mm nodule.", "",
        "Social History:", f"{smoker} Lives with her husband. No alcohol use.", "",
        "Family History:", family, "",
        "Physical Exam:", "ECOG performance status " + str(ecog) + ". Lungs clear. No lymphadenopathy.", "",
        "Assessment and Plan:",
        f"{dx.capitalize()} with {response} on {drug}. Continue {drug}. Plan to repeat CT in 3 months. "
        f"If progression, consider {rng.choice(drugs)} or clinical trial. Follow up in 2 weeks.",
    ]
    return "\n".join(parts) + "\n"


def _body(note: str) -> str:
    return note.split("-" * 40 + "\n", 1)[1]


def _extract_all(bodies: list[str]) -> int:
    from core.nlp import extract_events

    return sum(len(extract_events(b)) for b in bodies)


def _warm(_: int) -> None:
    from core.nlp.pipeline import note_pipeline

    note_pipeline()


def _timed(fn, repeat: int) -> tuple[float, float, object]:
    best_wall = best_cpu = float("inf")
    out = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        best_wall, best_cpu = min(best_wall, time.perf_counter() - w), min(best_cpu, time.process_time() - c)
    return best_wall, best_cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=600)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ingest", action="store_true", help="also time ingest_paths into an in-memory store")
    args = ap.parse_args()

    rng = random.Random(11)
    notes = [make_note(rng, i) for i in range(args.notes)]
    bodies = [_body(n) for n in notes]
    n = len(notes)
    size = sum(len(x) for x in notes) / n
    print(f"{n} notes, mean {size / 1024:.1f} KB")

    from core.nlp.pipeline import note_pipeline

    t = time.perf_counter()
    note_pipeline()
    print(f"pipeline build (once per process): {time.perf_counter() - t:.1f} s")

    wall, cpu, _ = _timed(lambda: sum(len(_SPLIT.split(x)) for x in notes), args.repeat)
    base = n / wall
    print(f"baseline regex split: {base:,.0f} notes/s (cpu {n / cpu:,.0f}/s)")
    wall, cpu, n_events = _timed(lambda: _extract_all(bodies), args.repeat)
    nlp_rate = n / wall
    print(f"nlp extract_events:   {nlp_rate:,.0f} notes/s (cpu {n / cpu:,.0f}/s), {n_events / n:.0f} events/note, "
          f"{nlp_rate / base:.4f} x baseline")
    if args.workers > 1:
        chunks = [bodies[i::args.workers] for i in range(args.workers)]
        with mp.get_context("fork").Pool(args.workers) as pool:
            pool.map(_warm, range(args.workers))
            wall, _, _ = _timed(lambda: pool.map(_extract_all, chunks), args.repeat)
        print(f"nlp x{args.workers} processes:     {n / wall:,.0f} notes/s (wall)")
    if args.ingest:
        _bench_ingest(notes, args.repeat)


def _bench_ingest(notes: list[str], repeat: int) -> None:
    import duckdb

    from core.ingest import notes as notes_ingest
    from core.ingest import run
    from core.store import schema

    run.ingesters = lambda: [notes_ingest.INGESTER]  # only the notes format, whatever else is installed
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i, text in enumerate(notes):
            (folder / f"note_{i:05d}.txt").write_text(text)
        rates = {}
        for workers in ("0", "auto"):  # inline NLP (baseline, same run) vs NLP in worker processes
            os.environ["TB_NLP_WORKERS"] = workers
            best = best_cpu = float("inf")
            for _ in range(repeat):
                con = duckdb.connect()
                schema.migrate(con)
                t, c = time.perf_counter(), time.process_time()
                summary = run.ingest_paths(con, [folder])
                best, best_cpu = min(best, time.perf_counter() - t), min(best_cpu, time.process_time() - c)
                con.close()
            rates[workers] = len(notes) / best
            print(f"ingest_paths (notes, nlp_workers={workers}): {len(notes) / best:,.0f} notes/s wall "
                  f"(parent cpu {len(notes) / best_cpu:,.0f}/s), {summary.line()}")
        print(f"ingest with NLP workers / inline: {rates['auto'] / rates['0']:.2f}x")


if __name__ == "__main__":
    main()
