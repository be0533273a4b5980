"""Every page renders on the demo store (Streamlit AppTest), and key elements are there."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p.name for p in (ROOT / "pages").glob("[0-9]_*.py"))


def _app(page: str | None = None, role: str = "oncologist") -> AppTest:
    import time

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["user"] = role
    at.session_state["role"] = role
    at.session_state["last_activity"] = time.time()
    if page:
        at.switch_page(f"pages/{page}")
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(demo_store, page):
    role = "admin" if page.startswith(("8_", "9_")) else "oncologist"
    at = _app(page, role=role).run()
    assert not at.exception, [e.value for e in at.exception]


def test_agenda_lists_the_upcoming_cases(demo_store):
    at = _app().run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    n_cases = demo_store.execute("SELECT count(*) FROM board_cases c JOIN board_meetings m USING (meeting_id) "
                                 "WHERE m.scheduled_at >= now()").fetchone()[0]
    assert n_cases >= 5
    assert sum(1 for b in at.button if b.key and b.key.startswith("prep_")) == n_cases
    assert "imaging" in text and "sequencing" in text


def test_patient_page_masks_phi_by_default(demo_store):
    name = demo_store.execute("SELECT family_name FROM patients WHERE family_name IS NOT NULL AND cohort = 'current' "
                              "LIMIT 1").fetchone()[0]
    at = _app("2_Patient.py").run()
    assert not at.exception
    rendered = " ".join(str(x.value) for x in list(at.markdown) + list(at.title) + list(at.caption))
    assert name.upper() not in rendered.upper()


def test_decision_capture_writes_decision_snapshot_and_audit(demo_store, demo_env):
    at = _app("6_Present.py").run()
    assert not at.exception
    at.text_input(key="dec_attendees").input("oncology, radiology, pathology")
    at.text_area(key="dec_text").input("Start osimertinib")
    at.button[[b.label for b in at.button].index("Save decision")].click().run()
    assert not at.exception
    from core.store import db

    b = db.board_writer().read()
    try:
        d = b.execute("SELECT patient_id, snapshot_sha256, snapshot_id, recommendation_text FROM decisions "
                      "ORDER BY decided_at DESC LIMIT 1").fetchone()
        assert d is not None and len(d[1]) == 64 and d[3] == "Start osimertinib"
        assert b.execute("SELECT count(*) FROM evidence_snapshots WHERE snapshot_id = ? AND sha256 = ?",
                         [d[2], d[1]]).fetchone()[0] == 1
        assert b.execute("SELECT count(*) FROM audit_log WHERE action = 'decision.record'").fetchone()[0] >= 1
    finally:
        b.close()


def test_login_form_and_roles(demo_store):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert any("sign in" in t.value.lower() for t in at.title)
    at.text_input(key="login_user").input("viewer")
    at.text_input(key="login_password").input("wrong-password")
    at.button[0].click().run()
    assert any("wrong password" in e.value for e in at.error)
    at.text_input(key="login_user").input("viewer")
    at.text_input(key="login_password").input("viewer-demo")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["role"] == "board viewer" and at.session_state["mask_phi"] is True
    assert not [t for t in at.toggle if t.key == "mask_phi"]  # a viewer cannot unmask


@pytest.mark.parametrize("page", PAGES)
def test_a_page_reached_without_app_py_still_requires_sign_in(demo_store, page):
    """Streamlit can run a pages/ script on its own (its pages/ folder handling): each page guards itself."""
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120).run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["Sign in first."]
    assert not at.dataframe and not at.metric and not at.title  # nothing of the store was shown


def test_admin_pages_refuse_other_roles_on_their_own(demo_store):
    import time

    for page in ("8_Data.py", "9_Audit.py"):
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
        at.session_state["user"], at.session_state["role"] = "viewer", "board viewer"
        at.session_state["last_activity"] = time.time()
        at.run()
        assert [w.value for w in at.warning] == ["Your role cannot open this page."] and not at.dataframe


def test_patient_picker_lists_board_patients_and_opens_any_other_by_id(demo_store):
    current = {r[0] for r in demo_store.execute("SELECT patient_id FROM patients WHERE cohort = 'current'").fetchall()}
    other = demo_store.execute("SELECT patient_id FROM patients WHERE cohort = 'historical' LIMIT 1").fetchone()[0]
    at = _app("2_Patient.py").run()
    assert not at.exception
    assert set(at.selectbox(key="patient_select").options) == current  # not the whole store
    at.text_input(key="open_patient_id").input(other).run()
    assert not at.exception
    assert at.selectbox(key="patient_select").value == other
    assert other in at.title[0].value
    at.text_input(key="open_patient_id").input("PT-NO-SUCH").run()
    assert "No patient with that id" in " ".join(c.value for c in at.caption)
