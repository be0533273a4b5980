"""PHI classification drives masking and the de-identified export; roles and session timeout."""
from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from core.governance.masking import MASK, display_name, mask_frame, mask_row
from core.governance.users import PERMISSIONS, Role, User, session_expired
from core.store import db, schema
from core.store.export import export_parquet
from core.store.schema import Phi

PATIENT = {"patient_id": "PT1", "family_name": "Doe", "given_name": "Jane", "mrn": "48213377",
           "birth_date": date(1961, 4, 12), "sex": "female", "diagnosis_date": date(2024, 3, 4)}


def test_masking_hides_every_direct_and_free_text_column():
    masked = mask_row("patients", PATIENT, mask=True)
    for col in schema.phi_columns("patients"):
        assert masked[col] == MASK, col
    assert masked["patient_id"] == "PT1" and masked["sex"] == "female"
    assert mask_row("patients", PATIENT, mask=False) == PATIENT
    df = mask_frame("notes", pl.DataFrame({"note_id": ["n1"], "text": ["MRN 48213377 ..."], "author": ["Dr X"]}),
                    mask=True)
    assert df.row(0) == ("n1", MASK, MASK)
    assert "Doe" not in display_name(PATIENT, mask=True) and "48213377" not in display_name(PATIENT, mask=True)
    assert "DOE" in display_name(PATIENT, mask=False)


def test_deidentified_export_drops_direct_and_free_text_and_shifts_dates(tmp_path):
    with db.evidence_writer(tmp_path / "store") as con:
        con.execute("INSERT INTO patients (patient_id, family_name, given_name, mrn, birth_date, sex, diagnosis_date) "
                    "VALUES ('PT1', 'Doe', 'Jane', '48213377', DATE '1961-04-12', 'female', DATE '2024-03-04')")
    con = db.connect_readonly(tmp_path / "store")
    try:
        export_parquet(con, tmp_path / "deid", deidentified=True)
        export_parquet(con, tmp_path / "full", deidentified=False)
    finally:
        con.close()
    for name, table in schema.EVIDENCE_TABLES.items():
        p = tmp_path / "deid" / f"{name}.parquet"
        if not p.exists():
            continue
        cols = set(pl.read_parquet_schema(p))
        dropped = {c.name for c in table.columns if c.phi in (Phi.DIRECT, Phi.FREE_TEXT)}
        assert not cols & dropped, (name, cols & dropped)
    deid = pl.read_parquet(tmp_path / "deid" / "patients.parquet")
    full = pl.read_parquet(tmp_path / "full" / "patients.parquet")
    assert "Doe" in full["family_name"].to_list()
    shift = (deid["diagnosis_date"][0] - full["diagnosis_date"][0]).days
    assert -180 <= shift <= 180
    raw = b"".join(p.read_bytes() for p in (tmp_path / "deid").glob("*.parquet"))
    assert b"48213377" not in raw and b"Doe" not in raw


def test_roles_map_to_permissions():
    assert not User("v", Role.VIEWER).can("view_phi") and not User("c", Role.COORDINATOR).can("view_phi")
    assert User("o", Role.ONCOLOGIST).can("decide") and not User("v", Role.VIEWER).can("decide")
    assert {r for r, perms in PERMISSIONS.items() if "audit" in perms} == {Role.ADMIN}
    assert set(PERMISSIONS) == set(Role)


@pytest.mark.parametrize("idle_s,expired", [(None, True), (10, False), (29 * 60, False), (31 * 60, True)])
def test_session_timeout(idle_s, expired):
    now = datetime(2025, 1, 1, 12).timestamp()
    last = None if idle_s is None else now - idle_s
    assert session_expired(last, 30, now=now) is expired
