"""Truth tables of the synthetic cohort (Parquet, for tests and model evaluation; never ingested as evidence)."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import polars as pl

from core.synth.cohort import LatentPatient
from core.synth.patient_files import PatientOutput


def write_truth(truth_dir: Path, patients: list[LatentPatient], outs: list[PatientOutput],
                ids: dict[str, str]) -> list[Path]:
    """Truth tables for tests and model evaluation (Parquet; not evidence, never ingested)."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    courses = {o.idx: o.truth_course for o in outs}
    rows = []
    for p in patients:
        d = asdict(p)
        terms = d.pop("lp_terms")
        d.update({f"lp_{k}": v for k, v in terms.items()})
        d["lp_total"] = round(sum(terms.values()), 4)
        for k in ("drivers", "passengers", "symptoms", "comorbidities", "home_medications", "metastatic_sites"):
            d[k] = list(d[k])
        d["vus"] = [f"{g}:{c}" for g, c in d["vus"]]
        d["family_history"] = [f"{r}|{c}|{a}" for r, c, a in d["family_history"]]
        d["patient_id"] = ids.get(p.mrn)
        d.update({k: v for k, v in courses.get(p.idx, {}).items() if k != "idx"})
        rows.append(d)
    written = []
    tables = {
        "patients": rows,
        "studies": [r for o in outs for r in o.truth_studies],
        "variants": [r for o in outs for r in o.truth_variants],
        "discrepancies": [r for o in outs for r in o.truth_discrepancies],
    }
    for name, data in tables.items():
        path = truth_dir / f"{name}.parquet"
        frame = pl.DataFrame(data, infer_schema_length=None) if data else pl.DataFrame()
        frame.write_parquet(path)
        written.append(path)
    return written
