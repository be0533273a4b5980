"""Files the generator writes: deterministic by seed, discrepancies really in them, formats readable."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from core.synth import build, cohort, genomics_writer
from core.synth.patient_files import WriteOptions

N = 30
SEED = 42


def tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The same 30-patient cohort written twice (1 and 2 worker processes), and a few patients of another seed."""
    base = tmp_path_factory.mktemp("synth")
    out = {}
    for name, seed, workers, n in (("a", SEED, 1, N), ("b", SEED, 2, N), ("c", SEED + 1, 1, 10)):
        d = base / name
        d.mkdir()
        patients = cohort.draw_cohort(n, seed)
        opt = WriteOptions(demo_dir=d, seed=seed, images=name != "c")
        outs = build.write_files(patients, opt, workers=workers, progress=False)
        build.write_truth(d / "truth", patients, outs, {})
        out[name] = (d, patients, outs)
    return out


def test_same_seed_same_bytes(written):
    a, b, c = (tree_hashes(written[k][0]) for k in "abc")
    assert len(a) > 100
    assert a == b  # identical files whatever the number of worker processes
    assert a != c
    assert a["fhir/b000/pt0000005.json"] != c["fhir/b000/pt0000005.json"]
    kinds = {Path(k).parts[0] for k in a}
    assert {"notes", "dicom", "fhir", "genomics", "labs", "manifests", "imaging", "truth"} <= kinds


def test_note_vs_vcf_discrepancy_is_in_the_files(written):
    d, patients, outs = written["a"]
    found = 0
    for p, o in zip(patients, outs):
        for disc in o.truth_discrepancies:
            if disc["kind"] != "note_vs_vcf":
                continue
            found += 1
            note = (d / disc["file_a"]).read_text()
            assert ("EGFR negative (IHC)" if disc["gene"] == "EGFR" else "KRAS wild-type") in note
            seq = (d / disc["file_b"]).read_text()
            call = next(c for c in genomics_writer.plan_calls(p, SEED) if c.gene == disc["gene"] and c.kind == "snv")
            assert call.reported
            if disc["file_b"].endswith(".vcf"):
                assert f"\t{call.pos}\t.\t{call.ref}\t{call.alt}\t" in seq
            else:
                assert f"\t{disc['gene']}\t" in "\t" + seq or seq.splitlines()[2].startswith(disc["gene"])
    assert found >= 1


def test_report_vs_image_discrepancy_is_in_the_files(written):
    d, patients, outs = written["a"]
    found = 0
    for p, o in zip(patients, outs):
        for disc in o.truth_discrepancies:
            if disc["kind"] != "report_vs_image":
                continue
            found += 1
            assert "No measurable mass" in (d / disc["file_a"]).read_text()
            study = next(s for s in o.truth_studies if s["study_index"] == 0)
            assert study["report_says_no_mass"] and study["size_mm"] > 5
            files = sorted((d / disc["file_b"]).glob("*.dcm"))
            ds = pydicom.dcmread(files[study["slice_index"]])
            hu = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
            r, c = study["center_row"], study["center_col"]
            # soft tissue at the lesion centre, whatever the report says
            assert np.median(hu[r - 1:r + 2, c - 1:c + 2]) > -200
            assert ds.PatientID == p.mrn and ds.IssuerOfPatientID
    assert found >= 1


def test_vcf_follows_the_conventions(written):
    d, patients, _ = written["a"]
    vcfs = sorted((d / "genomics").rglob("*.vcf"))
    assert vcfs
    kinds = set()
    for path in vcfs:
        text = path.read_text()
        assert text.startswith("##fileformat=VCFv4.2")
        assert "##reference=GRCh3" in text
        header = next(ln for ln in text.splitlines() if ln.startswith("#CHROM"))
        assert header.split("\t")[8:] == ["FORMAT", header.split("\t")[9]] and header.endswith("-T1")
        kinds.add("ANN" if "ID=ANN" in text else "CSQ" if "ID=CSQ" in text else "none")
        for line in text.splitlines():
            if not line.startswith("#"):
                assert line.split("\t")[8] == "GT:AD:DP:AF"
    assert {"ANN", "none"} <= kinds


def test_panels_limit_what_is_reported(written):
    _, patients, outs = written["a"]
    for p, o in zip(patients, outs):
        for v in o.truth_variants:
            if v["reported"] and p.panel == "hotspot_50":
                assert v["kind"] not in ("fusion", "amp")


def test_fhir_bundle_and_manifests(written):
    d, patients, _ = written["a"]
    p = patients[0]
    bundle = json.loads((d / "fhir" / "b000" / "pt0000000.json").read_text())
    types = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "Condition", "Observation", "Procedure"} <= types
    ids = bundle["entry"][0]["resource"]["identifier"]
    assert ids[0]["value"] == p.mrn
    spec = (d / "manifests" / "specimens.csv").read_text().splitlines()
    assert spec[0].startswith("sample_id,specimen_id,patient_system,patient_identifier")
    assert len(spec) - 1 == sum(1 for q in patients if q.sequenced)
    labs = (d / "labs" / "lab_results_b000.csv").read_text().splitlines()
    assert labs[0] == "mrn,loinc,test_name,value,unit,reference_range,collected_at"


def test_notes_have_header_and_clinical_style(written):
    d, patients, _ = written["a"]
    notes = sorted((d / "notes").rglob("*.txt"))
    texts = [n.read_text() for n in notes]
    with_header = [t for t in texts if t.startswith(("MRN:", "PATIENT:", "DOB:", "NOTE TYPE:", "DATE OF SERVICE:",
                                                     "AUTHOR:"))]
    assert len(with_header) >= 0.9 * len(texts)
    joined = "\n".join(texts)
    for phrase in ("No evidence of distant metastasis", "cannot exclude", "ECOG", "was not detected",
                   "FAMILY HISTORY:", "smoker", "last "):
        assert phrase.lower() in joined.lower(), phrase
    # several date formats in headers
    dos = [ln.split(":", 1)[1].strip() for t in with_header for ln in t.splitlines() if ln.startswith("DATE OF SERVICE")]
    assert any("/" in x for x in dos) and any("-" in x and x[:4].isdigit() for x in dos) and any(" " in x for x in dos)
