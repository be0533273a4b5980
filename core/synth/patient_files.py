"""Write every file of one synthetic patient and return the rows that go into shared files.

Runs in worker processes: it needs only the latent patient, the seed and the options,
and returns plain rows (specimen manifest, document manifest, labs, lesion
measurements, truth) that the parent writes in patient order, so the output is
identical whatever the number of workers.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from core.ingest.base import MRN_SYSTEM
from core.synth import catalog, fhir_out, genomics_writer, notes_writer
from core.synth.cohort import LatentPatient
from core.synth.course import Course, Study, build_course
from core.synth.genomics_writer import Call
from core.synth.imaging import LesionAnnotation, LesionSpec, StudyWritten, annotation_for, write_ct_study
from core.synth.notes_writer import NoteDoc

BUCKET = 1000  # patients per sub-folder
BODY_PART = {"lung": "chest", "breast": "breast", "colorectal": "abdomen"}


@dataclass(frozen=True)
class WriteOptions:
    demo_dir: Path
    seed: int
    images: bool = True   # write DICOM pixels
    lean: bool = False    # benchmarks: consult note, no imaging, baseline labs, grouped FHIR and MAF files


@dataclass
class PatientOutput:
    idx: int
    specimen: dict[str, str] | None = None
    documents: list[dict[str, str]] = field(default_factory=list)
    labs: list[dict[str, str]] = field(default_factory=list)
    annotations: list[LesionAnnotation] = field(default_factory=list)
    truth_studies: list[dict[str, Any]] = field(default_factory=list)
    truth_variants: list[dict[str, Any]] = field(default_factory=list)
    truth_discrepancies: list[dict[str, Any]] = field(default_factory=list)
    truth_course: dict[str, Any] = field(default_factory=dict)
    fhir_resources: list[dict[str, Any]] | None = None  # lean builds: grouped into shared bundles
    maf_rows: list[str] = field(default_factory=list)    # lean builds: one cohort MAF per bucket
    n_files: dict[str, int] = field(default_factory=dict)


def bucket(idx: int) -> str:
    return f"b{idx // BUCKET:03d}"


def patient_key(idx: int) -> str:
    return f"pt{idx:07d}"


def write_patient(p: LatentPatient, opt: WriteOptions) -> PatientOutput:
    """Write the notes, DICOM, FHIR bundle and VCF/MAF of ``p``; return rows for the shared files."""
    out = PatientOutput(p.idx)
    c = build_course(p, opt.seed)
    calls = genomics_writer.plan_calls(p, opt.seed) if p.sequenced else []
    key, b = patient_key(p.idx), bucket(p.idx)
    studies = [] if opt.lean else c.studies
    written = _imaging(p, c, studies, opt, out)
    _notes(p, c, calls, written, opt, out)
    if opt.lean:
        out.fhir_resources = [e["resource"] for e in fhir_out.patient_bundle(p, c)["entry"]]
    else:
        fhir_dir = opt.demo_dir / "fhir" / b
        fhir_dir.mkdir(parents=True, exist_ok=True)
        (fhir_dir / f"{key}.json").write_text(fhir_out.render_bundle(p, c))
        out.n_files["fhir"] = 1
    if p.sequenced and c.sequencing_report is not None:
        _genomics(p, c, calls, opt, out)
    out.labs = _labs(p, c, opt)
    out.truth_course = {
        "idx": p.idx, "treatment_start": c.treatment_start, "progression_date": c.progression,
        "death_date": c.death, "last_contact": c.last_contact, "sequencing_report_date": c.sequencing_report,
        "n_studies": len(studies), "lines": "; ".join(f"{ln.kind}:{ln.name}@{ln.start}" for ln in c.lines),
    }
    for call in ([] if opt.lean else calls):
        out.truth_variants.append({"idx": p.idx, "label": call.label, "kind": call.kind, "gene": call.gene,
                                   "genome_build": p.genome_build, "chrom": call.chrom, "pos": call.pos,
                                   "ref": call.ref, "alt": call.alt, "vaf": call.vaf, "depth": call.depth,
                                   "reported": call.reported, "origin": call.origin,
                                   "is_driver": call.label in p.drivers})
    return out


# ---- imaging --------------------------------------------------------------------------------

def _imaging(p: LatentPatient, c: Course, studies: list[Study], opt: WriteOptions,
             out: PatientOutput) -> list[StudyWritten | None]:
    written: list[StudyWritten | None] = []
    rng = np.random.default_rng([opt.seed, p.idx, 19])
    n = 0
    for i, s in enumerate(studies):
        lesion = None if s.size_mm is None else LesionSpec(size_mm=min(max(s.size_mm, 2.0), 150.0), margin=p.margin,
                                                            heterogeneity=p.heterogeneity, location=None)
        folder = opt.demo_dir / "dicom" / bucket(p.idx) / patient_key(p.idx) / f"study{i + 1:02d}"
        sw = write_ct_study(folder, mrn=p.mrn, patient_name=p.name_dicom, birth_date=p.birth_date, sex=p.sex,
                            study_date=s.when, lesion=lesion, body_part=BODY_PART[p.cancer_type],
                            seed=opt.seed * 1_000_003 + p.idx * 101 + i, with_pixels=opt.images)
        written.append(sw)
        n += len(sw.files)
        report_no_mass = p.disc_report_vs_image and i == 0
        annotated = opt.images and not report_no_mass and rng.random() < 0.85
        if annotated and lesion is not None:
            ann = annotation_for(sw, mrn=p.mrn, lesion_id="L1", margin=p.margin,
                                 measured_at=datetime.combine(s.when + timedelta(days=1), time(9, 30)))
            if ann is not None:
                out.annotations.append(ann)
        out.truth_studies.append({
            "idx": p.idx, "study_index": i, "study_uid": sw.study_uid, "series_uid": sw.series_uid,
            "study_date": s.when, "label": s.label, "size_mm": s.size_mm, "long_axis_mm": sw.long_axis_mm,
            "short_axis_mm": sw.short_axis_mm, "margin": p.margin if lesion else None,
            "heterogeneity": p.heterogeneity if lesion else None,
            "center_row": None if sw.lesion_center_rc is None else sw.lesion_center_rc[0],
            "center_col": None if sw.lesion_center_rc is None else sw.lesion_center_rc[1],
            "slice_index": sw.slice_index, "response": s.response, "new_lesion": s.new_lesion,
            "report_says_no_mass": report_no_mass, "pixels_written": bool(sw.files),
        })
    out.n_files["dicom"] = n
    return written


# ---- notes --------------------------------------------------------------------------------------

def _axes(sw: StudyWritten | None) -> tuple[float, float] | None:
    if sw is None or sw.long_axis_mm is None:
        return None
    return (sw.long_axis_mm, sw.short_axis_mm or sw.long_axis_mm * 0.8)


def _notes(p: LatentPatient, c: Course, calls: list[Call], written: list[StudyWritten | None], opt: WriteOptions,
           out: PatientOutput) -> None:
    rng = np.random.default_rng([opt.seed, p.idx, 13])
    docs: list[NoteDoc] = []
    studies = [] if opt.lean else c.studies
    for i, s in enumerate(studies):
        prior = studies[i - 1] if i > 0 else None
        docs.append(notes_writer.radiology(p, c, s, prior, _axes(written[i]), _axes(written[i - 1]) if i else None,
                                           p.disc_report_vs_image and i == 0, rng))
    if not opt.lean:  # benchmarks: the consult note only
        docs.append(notes_writer.pathology(p, c, rng))
        if p.sequenced and c.sequencing_report is not None:
            docs.append(notes_writer.molecular(p, c, calls, rng))
    cycle = 0
    for v in c.visits:
        if v.kind == "consult":
            docs.append(notes_writer.consult(p, c, v, calls, rng, _axes(written[0]) if written else None))
        elif opt.lean:
            continue
        elif v.kind == "board":
            docs.append(notes_writer.board(p, c, v, rng))
        elif v.kind == "progress":
            cycle += 1
            docs.append(notes_writer.progress(p, c, v, cycle, rng))
        elif v.kind == "progression":
            cycle = 0
            docs.append(notes_writer.progression(p, c, v, rng))
        elif v.kind == "death":
            docs.append(notes_writer.death(p, c, v, rng))
    docs.sort(key=lambda d: (d.when, d.kind))
    folder = opt.demo_dir / "notes" / bucket(p.idx) / patient_key(p.idx)
    folder.mkdir(parents=True, exist_ok=True)
    for k, d in enumerate(docs, start=1):
        name = f"{patient_key(p.idx)}_{k:03d}_{d.kind}.txt"
        headerless = p.headerless_notes and d.kind == "pathology"
        text = d.body if headerless else notes_writer.header(p, d, rng) + d.body
        data = text.encode("utf-8")
        (folder / name).write_bytes(data)
        if headerless:
            out.documents.append({"file_name": name, "file_sha256": hashlib.sha256(data).hexdigest(),
                                  "patient_system": MRN_SYSTEM, "patient_identifier": p.mrn,
                                  "note_type": d.note_type, "note_date": d.when.isoformat()})
        rel = str(Path("notes") / bucket(p.idx) / patient_key(p.idx) / name)
        if d.kind == "pathology" and p.disc_note_vs_vcf:
            out.truth_discrepancies.append({"idx": p.idx, "kind": "note_vs_vcf", "gene": p.disc_note_vs_vcf,
                                            "file_a": rel, "file_b": _genomics_rel(p), "when": d.when})
        if d.kind == "radiology" and p.disc_report_vs_image and d.when == (studies[0].when if studies else None):
            out.truth_discrepancies.append({"idx": p.idx, "kind": "report_vs_image", "gene": None, "file_a": rel,
                                            "file_b": str(Path("dicom") / bucket(p.idx) / patient_key(p.idx) / "study01"),
                                            "when": d.when})
    out.n_files["notes"] = len(docs)


# ---- genomics -------------------------------------------------------------------------------------

def _genomics_rel(p: LatentPatient) -> str:
    ext = "maf" if p.genomics_format == "maf" else "vcf"
    return str(Path("genomics") / bucket(p.idx) / f"{patient_key(p.idx)}.{ext}")


def _genomics(p: LatentPatient, c: Course, calls: list[Call], opt: WriteOptions, out: PatientOutput) -> None:
    if opt.lean:
        out.maf_rows = genomics_writer.maf_rows(p, calls)
    else:
        path = opt.demo_dir / _genomics_rel(p)
        path.parent.mkdir(parents=True, exist_ok=True)
        if p.genomics_format == "maf":
            path.write_text(genomics_writer.render_maf(p, calls))
        else:
            path.write_text(genomics_writer.render_vcf(p, calls, c.sequencing_report or c.biopsy))
        out.n_files["genomics"] = 1
    out.specimen = {"sample_id": genomics_writer.sample_id(p), "specimen_id": genomics_writer.specimen_id(p),
                    "patient_system": MRN_SYSTEM, "patient_identifier": p.mrn,
                    "specimen_type": "FFPE tumor tissue, " + ("core biopsy" if p.cancer_type != "colorectal"
                                                               else "endoscopic biopsy"),
                    "collected_date": c.biopsy.isoformat(), "panel_name": p.panel or "",
                    "genome_build": p.genome_build}


# ---- labs -------------------------------------------------------------------------------------------

def _labs(p: LatentPatient, c: Course, opt: WriteOptions) -> list[dict[str, str]]:
    if not p.has_labs:
        return []
    rng = np.random.default_rng([opt.seed, p.idx, 23])
    dates = c.lab_dates[:1] if opt.lean else c.lab_dates
    marker = "ca15_3" if p.cancer_type == "breast" else "cea"
    rows = []
    for k, d in enumerate(dates):
        prog = c.progression is not None and d >= c.progression
        factor = 1.0 + (0.6 if prog else 0.0)
        values = {
            "albumin": p.albumin - (0.3 if prog else 0.0) + rng.normal(0, 0.12),
            "ldh": p.ldh * factor * float(np.exp(rng.normal(0, 0.08))),
            marker: (p.cea if marker == "cea" else p.ca15_3) * factor * (0.6 if (k and not prog) else 1.0)
            * float(np.exp(rng.normal(0, 0.1))),
            "hgb": p.hgb - (0.5 if k else 0.0) + rng.normal(0, 0.35),
            "wbc": float(np.exp(rng.normal(np.log(6.8), 0.25))),
            "plt": float(np.exp(rng.normal(np.log(250), 0.25))),
            "creat": float(np.exp(rng.normal(np.log(0.9), 0.18))),
            "alt": float(np.exp(rng.normal(np.log(24), 0.35))),
        }
        if k > 0 and k % 3 != 0:  # routine visits: blood count and chemistry only
            values.pop("ldh")
            values.pop(marker)
        for name, val in values.items():
            lab = catalog.LABS[name]
            text = f"{val:.{lab.decimals}f}"
            if name == "cea" and val < 0.5:
                text = "<0.5"
            rng_txt = (f"{lab.ref_low:g}-{lab.ref_high:g}" if lab.ref_low not in (None, 0.0)
                       else f"<={lab.ref_high:g}")
            rows.append({"mrn": p.mrn, "loinc": lab.loinc, "test_name": lab.name, "value": text, "unit": lab.unit,
                         "reference_range": rng_txt, "collected_at": f"{d.isoformat()} {8 + k % 3:02d}:{15 * (k % 4):02d}"})
    return rows

