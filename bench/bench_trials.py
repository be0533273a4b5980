"""Trial matching on a synthetic 100k-patient store: match every patient against every trial arm.

Usage: .venv/bin/python bench/bench_trials.py [--patients 100000] [--store /tmp/bench_trials.duckdb]
        [--keep] [--threads 2]

The store is generated in seconds with DuckDB SQL (no files, no ingest), with frequencies
from ../shared/COHORT.md: lung 40% (LUAD / LUSC / SCLC), breast 35%, colorectal 25%; 65% of
patients sequenced on a 50-gene hotspot panel (no ALK / RET / ROS1 / BRCA1/2 / ESR1) or a
150-gene comprehensive panel; one driver at most per patient at published rates plus TP53 /
APC / STK11 and passenger calls; TMB, MSI, PD-L1 TPS, ER / PR / HER2 and ECOG biomarkers
measured for realistic subsets. Trials: every CTML file in data/trials/.

Printed: generation time, the time of a single SQL pass over the variants (baseline), the
time of matching 1k patients (x100 = linear extrapolation) and of the full 100k match, split
into facts loading / evaluation / frame building, and of writing trial_matches.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.ingest.base import SourceFile  # noqa: E402
from core.ingest.ctml import trial_row  # noqa: E402
from core.store.schema import migrate  # noqa: E402
from core.trials.catalog import load_trials  # noqa: E402
from core.trials.ctml import parse_trial, read_documents  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2025, 6, 1)

TRIAL_GENES = ["EGFR", "ALK", "KRAS", "BRAF", "MET", "RET", "ERBB2", "PIK3CA", "ESR1", "BRCA1", "BRCA2", "AKT1",
               "NRAS", "TP53", "STK11", "APC", "ROS1", "RB1", "PTEN", "CDKN2A"]
NOT_ON_HOTSPOT = ["ALK", "RET", "ROS1", "BRCA1", "BRCA2", "ESR1"]

# (cancer, driver gene, protein, category, classification, exon, cnv, partner, level, cumulative upper bound)
DRIVERS = """
('LUAD','EGFR','p.L858R','Mutation','Missense_Mutation',21,NULL,NULL,'1',0.060),
('LUAD','EGFR','p.E746_A750del','Mutation','In_Frame_Del',19,NULL,NULL,'1',0.128),
('LUAD','EGFR','p.G719A','Mutation','Missense_Mutation',18,NULL,NULL,'1',0.150),
('LUAD','KRAS','p.G12C','Mutation','Missense_Mutation',2,NULL,NULL,'1',0.270),
('LUAD','KRAS','p.G12D','Mutation','Missense_Mutation',2,NULL,NULL,'3B',0.330),
('LUAD','KRAS','p.G12V','Mutation','Missense_Mutation',2,NULL,NULL,'3B',0.405),
('LUAD','KRAS','p.G13D','Mutation','Missense_Mutation',2,NULL,NULL,'3B',0.450),
('LUAD','ALK',NULL,'Structural Variation','Fusion',NULL,NULL,'EML4','1',0.490),
('LUAD','BRAF','p.V600E','Mutation','Missense_Mutation',15,NULL,NULL,'1',0.510),
('LUAD','MET','p.X1010_splice','Mutation','Splice_Site',14,NULL,NULL,'1',0.540),
('LUAD','RET',NULL,'Structural Variation','Fusion',NULL,NULL,'KIF5B','1',0.555),
('LUAD','ERBB2','p.Y772_A775dup','Mutation','In_Frame_Ins',20,NULL,NULL,'2',0.575),
('LUAD','ROS1',NULL,'Structural Variation','Fusion',NULL,NULL,'CD74','1',0.590),
('LUSC','PIK3CA','p.E545K','Mutation','Missense_Mutation',10,NULL,NULL,'3B',0.08),
('LUSC','KRAS','p.G12C','Mutation','Missense_Mutation',2,NULL,NULL,'1',0.11),
('BRCA','PIK3CA','p.H1047R','Mutation','Missense_Mutation',21,NULL,NULL,'1',0.150),
('BRCA','PIK3CA','p.E545K','Mutation','Missense_Mutation',10,NULL,NULL,'1',0.230),
('BRCA','PIK3CA','p.E542K','Mutation','Missense_Mutation',10,NULL,NULL,'1',0.280),
('BRCA','ESR1','p.D538G','Mutation','Missense_Mutation',8,NULL,NULL,'1',0.340),
('BRCA','AKT1','p.E17K','Mutation','Missense_Mutation',3,NULL,NULL,'1',0.370),
('BRCA','BRCA1','p.E1836fs','Mutation','Frame_Shift_Del',24,NULL,NULL,'1',0.400),
('BRCA','BRCA2','p.S1982fs','Mutation','Frame_Shift_Del',11,NULL,NULL,'1',0.430),
('BRCA','ERBB2',NULL,'Copy Number Variation',NULL,NULL,'Amplification',NULL,'1',0.580),
('CRC','KRAS','p.G12D','Mutation','Missense_Mutation',2,NULL,NULL,'R1',0.140),
('CRC','KRAS','p.G12V','Mutation','Missense_Mutation',2,NULL,NULL,'R1',0.250),
('CRC','KRAS','p.G13D','Mutation','Missense_Mutation',2,NULL,NULL,'R1',0.350),
('CRC','KRAS','p.G12C','Mutation','Missense_Mutation',2,NULL,NULL,'1',0.380),
('CRC','KRAS','p.A146T','Mutation','Missense_Mutation',4,NULL,NULL,'R1',0.420),
('CRC','NRAS','p.Q61K','Mutation','Missense_Mutation',3,NULL,NULL,'R1',0.460),
('CRC','BRAF','p.V600E','Mutation','Missense_Mutation',15,NULL,NULL,'1',0.550),
('CRC','ERBB2',NULL,'Copy Number Variation',NULL,NULL,'Amplification',NULL,'2',0.580),
('CRC','PIK3CA','p.H1047R','Mutation','Missense_Mutation',21,NULL,NULL,'3B',0.700)
"""


def build_store(con: duckdb.DuckDBPyConnection, n: int) -> None:
    """Synthetic patients, specimens, panels, variants and biomarkers for ``n`` patients (SQL only)."""
    migrate(con)
    prov = ("'genomics', TIMESTAMP '2025-01-15', 'bench://synthetic', repeat('0', 64), 'synthetic', "
            "'bench', '1', TIMESTAMP '2025-06-01', 'bench-run'")
    genes = ", ".join(f"('{g}')" for g in TRIAL_GENES)
    con.execute(f"""
        CREATE TEMP TABLE u AS
        SELECT i, 'BP' || lpad(i::VARCHAR, 7, '0') AS pid,
               (hash(i, 1) % 1000000) / 1e6 AS r1, (hash(i, 2) % 1000000) / 1e6 AS r2,
               (hash(i, 3) % 1000000) / 1e6 AS r3, (hash(i, 4) % 1000000) / 1e6 AS r4,
               (hash(i, 5) % 1000000) / 1e6 AS r5, (hash(i, 6) % 1000000) / 1e6 AS r6,
               (hash(i, 7) % 1000000) / 1e6 AS r7, (hash(i, 8) % 1000000) / 1e6 AS r8
        FROM range({n}) t(i);
        CREATE TEMP TABLE pt AS
        SELECT *, CASE WHEN r1 < 0.40 THEN 'lung' WHEN r1 < 0.75 THEN 'breast' ELSE 'colorectal' END AS ctype
        FROM u;
        CREATE TEMP TABLE pt2 AS
        SELECT *,
          CASE ctype WHEN 'lung' THEN (CASE WHEN r2 < 0.60 THEN 'LUAD' WHEN r2 < 0.85 THEN 'LUSC' ELSE 'SCLC' END)
                     WHEN 'breast' THEN (CASE WHEN r2 < 0.80 THEN 'IDC' WHEN r2 < 0.95 THEN 'ILC' ELSE 'BRCA' END)
                     ELSE (CASE WHEN r2 < 0.70 THEN 'COAD' ELSE 'READ' END) END AS onco,
          CASE ctype WHEN 'lung' THEN 'LUNG' WHEN 'breast' THEN 'BRCA' ELSE 'CRC' END AS dgroup,
          CASE WHEN ctype = 'breast' THEN (CASE WHEN r3 < 0.99 THEN 'female' ELSE 'male' END)
               WHEN ctype = 'colorectal' THEN (CASE WHEN r3 < 0.55 THEN 'male' ELSE 'female' END)
               ELSE (CASE WHEN r3 < 0.5 THEN 'male' ELSE 'female' END) END AS sex,
          greatest(25, least(95, round((CASE ctype WHEN 'lung' THEN 70 WHEN 'breast' THEN 62 ELSE 67 END)
                                        + 11 * (r4 + r5 + r6 - 1.5) * 2))) AS age,
          r7 < 0.65 AS sequenced, CASE WHEN r8 < 0.5 THEN 'HOTSPOT50' ELSE 'COMP150' END AS panel
        FROM pt;
        INSERT INTO patients (patient_id, cancer_type, oncotree_code, sex, birth_date, age_at_diagnosis_years,
                              diagnosis_date, cohort, created_at)
        SELECT pid, ctype, onco, sex,
               CASE WHEN r6 < 0.95 THEN DATE '{AS_OF}' - to_days(CAST(age * 365.25 + r5 * 300 AS INTEGER)) END,
               age - 1, DATE '{AS_OF}' - to_days(CAST(r4 * 700 AS INTEGER)), 'current', now()
        FROM pt2;
        CREATE TEMP TABLE panels (panel VARCHAR, gene VARCHAR);
        INSERT INTO panels SELECT 'COMP150', g FROM (VALUES {genes}) v(g);
        INSERT INTO panels SELECT 'COMP150', 'GENE' || lpad(i::VARCHAR, 3, '0')
            FROM range({150 - len(TRIAL_GENES)}) t(i);
        INSERT INTO panels SELECT 'HOTSPOT50', g FROM (VALUES {genes}) v(g)
            WHERE g NOT IN ({", ".join(f"'{g}'" for g in NOT_ON_HOTSPOT)});
        INSERT INTO panels SELECT 'HOTSPOT50', 'GENE' || lpad(i::VARCHAR, 3, '0')
            FROM range({50 - len(TRIAL_GENES) + len(NOT_ON_HOTSPOT)}) t(i);
        INSERT INTO specimens SELECT pid || '-S1', pid || '-T', 'tumor', panel, 'GRCh38', pid, {prov}
        FROM pt2 WHERE sequenced;
        INSERT INTO tested_genes SELECT pid || '-S1', p.gene, p.panel, pid, {prov}
        FROM pt2 JOIN panels p ON p.panel = pt2.panel WHERE sequenced;
        CREATE TEMP TABLE drivers (dgroup VARCHAR, gene VARCHAR, protein VARCHAR, cat VARCHAR, cls VARCHAR,
                                   exon INTEGER, cnv VARCHAR, partner VARCHAR, lvl VARCHAR, upto DOUBLE);
        INSERT INTO drivers VALUES {DRIVERS};
        CREATE TEMP TABLE dr AS
        SELECT d.*, lag(upto, 1, 0) OVER (PARTITION BY dgroup ORDER BY upto) AS lo FROM drivers d;
        CREATE TEMP TABLE cand AS
        SELECT pt2.pid, pt2.panel, dr.gene, dr.protein, dr.cat, dr.cls, dr.exon, dr.cnv, dr.partner, dr.lvl, 1 AS k
        FROM pt2 JOIN dr ON dr.dgroup = (CASE WHEN pt2.onco = 'LUSC' THEN 'LUSC' WHEN pt2.dgroup = 'LUNG'
                                              AND pt2.onco = 'LUAD' THEN 'LUAD' ELSE pt2.dgroup END)
                        AND (hash(pt2.i, 9) % 1000000) / 1e6 >= dr.lo
                        AND (hash(pt2.i, 9) % 1000000) / 1e6 < dr.upto
        WHERE pt2.sequenced
        UNION ALL
        SELECT pid, panel, 'TP53', 'p.R' || (170 + (hash(i, 10) % 110))::VARCHAR || 'H', 'Mutation',
               'Missense_Mutation', 5, NULL, NULL, NULL, 2
        FROM pt2 WHERE sequenced AND (hash(i, 11) % 100) < (CASE WHEN onco = 'SCLC' THEN 95 ELSE 50 END)
        UNION ALL
        SELECT pid, panel, 'APC', 'p.R' || (1000 + (hash(i, 12) % 500))::VARCHAR || '*', 'Mutation',
               'Nonsense_Mutation', 16, NULL, NULL, NULL, 3
        FROM pt2 WHERE sequenced AND dgroup = 'CRC' AND (hash(i, 13) % 100) < 75
        UNION ALL
        SELECT pid, panel, 'STK11', 'p.Q37*', 'Mutation', 'Nonsense_Mutation', 1, NULL, NULL, NULL, 4
        FROM pt2 WHERE sequenced AND dgroup = 'LUNG' AND (hash(i, 14) % 100) < 15
        UNION ALL
        SELECT pid, panel, 'GENE' || lpad((hash(i, 20 + j) % 140)::VARCHAR, 3, '0'),
               'p.A' || (10 + hash(i, 30 + j) % 900)::VARCHAR || 'T',
               'Mutation', CASE WHEN j = 0 THEN 'Silent' ELSE 'Missense_Mutation' END, NULL, NULL, NULL, NULL, 5 + j
        FROM pt2, range(4) t(j) WHERE sequenced;
        INSERT INTO variants (variant_id, specimen_id, sample_id, genome_build, hugo_symbol, variant_category,
                              variant_classification, protein_change, exon, cnv_call, sv_partner, vaf, depth, filter,
                              origin, actionability_level, patient_id, modality, observed_at, source_uri,
                              source_sha256, locator, extractor, extractor_version, ingested_at, ingest_run_id)
        SELECT c.pid || '-V' || c.k::VARCHAR, c.pid || '-S1', c.pid || '-T', 'GRCh38', c.gene, c.cat, c.cls,
               c.protein, c.exon, c.cnv, c.partner, 0.3, 500, 'PASS',
               CASE WHEN c.gene IN ('BRCA1', 'BRCA2') THEN 'germline' ELSE 'somatic' END, c.lvl,
               c.pid, {prov.replace("'bench://synthetic'", "'bench://synthetic.vcf'")}
        FROM cand c SEMI JOIN panels p ON p.panel = c.panel AND p.gene = c.gene;
    """)
    bio = f"""
        INSERT INTO biomarkers (biomarker_id, name, value_num, value_text, unit, status, method, patient_id, modality,
                                observed_at, source_uri, source_sha256, locator, extractor, extractor_version,
                                ingested_at, ingest_run_id)
    """
    con.execute(f"""
        CREATE TEMP TABLE msi AS
        SELECT pid, (hash(i, 40) % 1000) < (CASE WHEN dgroup = 'CRC' THEN 60 ELSE 15 END) AS high
        FROM pt2;
        {bio} SELECT pid || '-TMB', 'TMB', CASE WHEN m.high THEN 25 + (hash(i, 41) % 40)
               ELSE round((CASE dgroup WHEN 'LUNG' THEN 8 WHEN 'BRCA' THEN 2.5 ELSE 4 END)
                          * exp(0.8 * ((hash(i, 42) % 1000) / 1000.0 - 0.5) * 3), 1) END, NULL, 'mut/Mb', NULL, 'NGS',
               pid, {prov}
        FROM pt2 JOIN msi m USING (pid) WHERE sequenced;
        {bio} SELECT pid || '-MSI', 'MSI', NULL, CASE WHEN m.high THEN 'MSI-H' ELSE 'MSS' END, NULL,
               CASE WHEN m.high THEN 'positive' ELSE 'negative' END, 'NGS', pid, {prov}
        FROM pt2 JOIN msi m USING (pid) WHERE sequenced AND (dgroup = 'CRC' OR (hash(i, 43) % 100) < 30);
        {bio} SELECT pid || '-PDL1', 'PD-L1 TPS', CASE WHEN r < 0.33 THEN 0 WHEN r < 0.70 THEN 1 + round(r * 60)
               ELSE 50 + round((r - 0.7) * 160) END, NULL, '%', NULL, 'IHC 22C3', pid, {prov}
        FROM (SELECT *, (hash(i, 44) % 1000) / 1000.0 AS r FROM pt2) WHERE dgroup = 'LUNG' AND (hash(i, 45) % 100) < 70;
        {bio} SELECT pid || '-' || m.name, m.name, NULL, NULL, NULL, m.st, 'IHC', pid, {prov}
        FROM (SELECT pid, i, (hash(i, 46) % 1000) / 1000.0 AS r,
                     (hash(i, 9) % 1000000) / 1e6 BETWEEN 0.43 AND 0.58 AS her2  -- the ERBB2-amplified driver draw
              FROM pt2 WHERE dgroup = 'BRCA' AND (hash(i, 47) % 100) < 95) b,
             LATERAL (SELECT * FROM (VALUES
                ('ER', CASE WHEN (b.her2 AND b.r < 0.5) OR (NOT b.her2 AND b.r < 0.84) THEN 'positive'
                            ELSE 'negative' END),
                ('PR', CASE WHEN b.r < 0.45 OR (NOT b.her2 AND b.r < 0.7) THEN 'positive' ELSE 'negative' END),
                ('HER2', CASE WHEN b.her2 THEN 'positive' WHEN b.r > 0.985 THEN 'equivocal'
                              ELSE 'negative' END)) v(name, st)) m;
        {bio} SELECT pid || '-ECOG', 'ECOG',
               CASE WHEN r < 0.35 THEN 0 WHEN r < 0.80 THEN 1 WHEN r < 0.95 THEN 2 ELSE 3 END,
               NULL, NULL, NULL, 'clinician', pid, {prov}
        FROM (SELECT *, (hash(i, 48) % 1000) / 1000.0 AS r FROM pt2) WHERE (hash(i, 49) % 100) < 80;
        {bio} SELECT pid || '-TOB', 'tobacco_signature', NULL,
               CASE WHEN (hash(i, 50) % 100) < 60 THEN 'Yes' ELSE 'No' END,
               NULL, NULL, 'NGS', pid, {prov}
        FROM pt2 WHERE sequenced AND dgroup = 'LUNG';
    """)


def load_demo_trials(con: duckdb.DuckDBPyConnection) -> int:
    from core.ingest.base import insert_rows

    rows = []
    for f in sorted((ROOT / "data" / "trials").glob("*.yml")):
        src = SourceFile.from_path(f)
        for doc in read_documents(f.read_bytes(), f.name):
            trial, _ = parse_trial(doc, fallback_id=f.stem)
            rows.append(trial_row(trial, src, trial.trial_id, None))
    insert_rows(con, "trials", rows)
    return len(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--store", type=Path, default=Path("/tmp/bench_trials.duckdb"))
    ap.add_argument("--keep", action="store_true", help="reuse the store file if it exists")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="  %(name)s: %(message)s")
    os.environ.setdefault("POLARS_MAX_THREADS", str(args.threads))
    from core.trials.bulk import match_all, write_trial_matches

    fresh = not (args.keep and args.store.exists())
    if fresh:
        args.store.unlink(missing_ok=True)
    con = duckdb.connect(str(args.store))
    con.execute(f"SET threads = {args.threads}")
    if fresh:
        t = time.perf_counter()
        build_store(con, args.patients)
        n_trials = load_demo_trials(con)
        con.execute("CHECKPOINT")
        print(f"generated {args.patients} patients + {n_trials} trials in {time.perf_counter() - t:.1f}s")
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("patients", "specimens", "tested_genes", "variants", "biomarkers", "trials")}
    print("store:", ", ".join(f"{k} {v}" for k, v in counts.items()))
    trials = load_trials(con)
    n_arms = sum(len(t.arms) for t in trials)

    t = time.perf_counter()
    con.execute("SELECT hugo_symbol, count(DISTINCT patient_id) FROM variants GROUP BY 1").fetchall()
    baseline = time.perf_counter() - t
    ids = [r[0] for r in con.execute("SELECT patient_id FROM patients ORDER BY patient_id").fetchall()]
    match_all(con, patient_ids=ids[:100], trials=trials, as_of=AS_OF)  # warm-up (imports, regex compilation)
    t = time.perf_counter()
    small = match_all(con, patient_ids=ids[:1000], trials=trials, as_of=AS_OF)
    t_1k = time.perf_counter() - t
    t = time.perf_counter()
    full = match_all(con, trials=trials, as_of=AS_OF)
    t_full = time.perf_counter() - t
    t = time.perf_counter()
    written = write_trial_matches(con, full)
    t_write = time.perf_counter() - t

    print(f"\n{len(ids)} patients x {n_arms} arms ({len(trials)} trials) = {full.height} (patient, arm) results")
    print(f"baseline: one SQL pass over {counts['variants']} variants (count patients per gene): {baseline:.2f}s")
    print(f"match 1k patients: {t_1k:.2f}s ({small.height} rows); x{len(ids) / 1000:.0f} extrapolated: "
          f"{t_1k * len(ids) / 1000:.1f}s")
    print(f"match all {len(ids)} patients: {t_full:.1f}s  (target < 30 s on 2 cores)")
    print(f"  ratio full / 1k-extrapolated: {t_full / (t_1k * len(ids) / 1000):.2f}; "
          f"ratio full / baseline SQL pass: {t_full / baseline:.0f}x")
    print(f"write trial_matches ({written} rows): {t_write:.1f}s")
    print("status counts:", dict(full.group_by("status").len().iter_rows()))
    print("met per trial:", dict(full.filter(full["status"] == "met").group_by("trial_id").len().sort("trial_id")
                                 .iter_rows()))
    con.close()
    if not args.keep:
        args.store.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
