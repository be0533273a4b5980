"""Hostile input: mutated real files through every ingester never crash the batch and never vanish.

Each example mutates a real seed file (truncation, byte flips, junk lines) and ingests it
next to an intact file. Invariants: the call returns, the intact file lands, and the
mutated file is either ingested or has at least one row in ingest_errors naming it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pydicom.data
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ingest import run
from core.store import schema

FX = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
SEEDS = {
    "vcf": FX / "genomics" / "test_b38.vcf",
    "maf": FX / "genomics" / "test_b38_output.maf",
    "fhir": FX / "fhir" / "mcode_breast_cancer_patient.json",
    "ctml": FX / "ctml" / "matchminer_engine_trial.example.yml",
    "dicom": Path(pydicom.data.get_testdata_file("CT_small.dcm")),
}
NOTE = ("MRN: FUZZ-1\nPATIENT: DOE, JANE\nDOB: 1961-04-12\nNOTE TYPE: Pathology Report\n"
        "DATE OF SERVICE: 4 Mar 2025\nAUTHOR: Dr. A\n--------\nLung, RUL, biopsy: adenocarcinoma, TTF-1 positive. "
        "EGFR mutation was not detected. PD-L1 TPS 60%. No evidence of metastasis.\n")
EXAMPLES = 25
MANIFEST = ROOT / "data" / "manifests" / "shared_fixtures.csv"


def mutate(data: bytes, cut: int, flips: list[tuple[int, int]], junk: bytes, where: int) -> bytes:
    b = bytearray(data[: max(1, cut % (len(data) + 1))])
    for pos, val in flips:
        if b:
            b[pos % len(b)] = val
    w = where % (len(b) + 1)
    return bytes(b[:w]) + junk + bytes(b[w:])


mutations = st.tuples(st.integers(0, 1 << 20), st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)),
                                                        max_size=8),
                      st.binary(max_size=64) | st.sampled_from([b"\n#garbage\tline\n", b"\x00\x00", b"'; DROP TABLE variants; --",
                                                                b"<script>alert(1)</script>"]),
                      st.integers(0, 1 << 20))


def _check(tmp_path: Path, name: str, payload: bytes, intact: Path | None) -> None:
    d = tmp_path / "in"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    bad = d / name
    bad.write_bytes(payload)
    paths = [bad]
    if intact is not None:
        paths.append(intact)
    con = duckdb.connect()
    schema.migrate(con)
    try:
        s = run.ingest_paths(con, [MANIFEST, *paths])
        assert s.ingested + s.failed + s.skipped + s.unrecognised >= 2
        landed = {r[0] for r in con.execute("SELECT source_uri FROM sources").fetchall()}
        errs = {r[0] for r in con.execute("SELECT source_uri FROM ingest_errors WHERE severity = 'error'").fetchall()}
        uri = str(bad.resolve())
        if str(bad) not in s.unrecognised_files:
            assert uri in landed or uri in errs, "mutated file neither ingested nor reported"
        if intact is not None:
            assert str(intact.resolve()) in landed, "intact file did not land next to the hostile one"
    finally:
        con.close()


@pytest.mark.parametrize("kind", sorted(SEEDS))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=mutations)
def test_mutated_files_never_crash_or_vanish(tmp_path, kind, m):
    seed = SEEDS[kind]
    _check(tmp_path, "hostile" + seed.suffix, mutate(seed.read_bytes(), *m), intact=SEEDS["maf"] if kind != "maf" else None)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=mutations)
def test_mutated_notes_never_crash_or_vanish(tmp_path, m):
    _check(tmp_path, "hostile_note.txt", mutate(NOTE.encode(), *m), intact=None)


@pytest.mark.parametrize("target", ["/etc/tb-export", "/proc/self/x", "relative/../../escape", "/tmp/it's"])
def test_export_path_traversal_is_refused(target):
    from core.store.export import safe_output_dir

    with pytest.raises(ValueError):
        safe_output_dir(Path(target))


def test_symlink_escaping_an_ingest_folder_is_refused(tmp_path):
    from core.ingest.base import iter_files

    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "ok.txt").write_text("x")
    (folder / "evil.vcf").symlink_to("/etc/passwd")
    files, refused = iter_files([folder], with_refused=True)
    assert [f.name for f in files] == ["ok.txt"]
    assert [r.name for r in refused] == ["evil.vcf"]
