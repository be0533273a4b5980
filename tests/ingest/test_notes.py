"""Clinical notes ingester and its NLP: real fixture, hand-written clinical sentences, batch behaviour."""
from __future__ import annotations

import hashlib
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from core.ingest import notes, run
from core.ingest.base import MRN_SYSTEM
from core.nlp import extract_events
from core.nlp.dates import find_dates
from core.nlp.pipeline import note_pipeline, sentence_starts
from core.store import schema

FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "notes" / "medspacy_discharge_summary.txt"
NOTE_DATE = datetime(2025, 3, 6)  # a Thursday

try:  # the lead's manifest ingester; the notes tests do not depend on it
    from core.ingest import manifest
except ImportError:  # pragma: no cover - only while the manifest module is missing
    manifest = None


@pytest.fixture
def con(monkeypatch):
    """An in-memory store whose batch driver knows only the notes (and manifest) formats."""
    registry = [i for i in (getattr(manifest, "INGESTER", None), notes.INGESTER) if i is not None]
    monkeypatch.setattr(run, "ingesters", lambda: sorted(registry, key=lambda i: i.priority))
    c = duckdb.connect()
    schema.migrate(c)
    yield c
    c.close()


def rows(con, sql: str, *params) -> list[dict]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def link_document(con, *, file_name: str, sha: str | None, patient_id: str = "PTFIXTURE01",
                  note_date: str = "2573-07-01", note_type: str = "Discharge Summary") -> None:
    con.execute("INSERT INTO patients (patient_id, cohort) VALUES (?, 'external')", [patient_id])
    con.execute("INSERT INTO document_links VALUES (?, ?, ?, ?, ?, 'manifest.csv', now())",
                [file_name, sha, patient_id, note_type, note_date])


HEADER = ("MRN: {mrn}\nPATIENT: DOE, JANE\nDOB: 1961-04-12\nNOTE TYPE: Pathology Report\n"
          "DATE OF SERVICE: {date}\nAUTHOR: Dr. A. Smith\n--------\n")
PATH_BODY = ("Final Diagnosis:\nRight upper lobe, CT-guided biopsy on 03/01/2025: invasive adenocarcinoma, "
             "TTF-1 positive.\n\nMolecular Testing:\nEGFR L858R detected. ALK rearrangement was not detected. "
             "PD-L1 TPS 60%.\n")


# ---- the real fixture, linked through a document manifest row --------------------------------------------------

@pytest.fixture
def discharge(con):
    sha = hashlib.sha256(FIXTURE.read_bytes()).hexdigest()
    link_document(con, file_name=FIXTURE.name, sha=sha)
    summary = run.ingest_paths(con, [FIXTURE])
    assert (summary.ingested, summary.failed) == (1, 0), [str(e) for e in summary.errors]
    return rows(con, "SELECT e.*, n.text AS note_text FROM note_events e JOIN notes n USING (note_id) "
                     "ORDER BY span_start")


def find(events: list[dict], **match) -> dict:
    hits = [e for e in events if all(e[k] == v for k, v in match.items())]
    assert hits, f"no event with {match}"
    return hits[0]


def test_fixture_note_row_and_provenance(con, discharge):
    note = rows(con, "SELECT * FROM notes")[0]
    assert note["text"] == FIXTURE.read_text()
    assert note["patient_id"] == "PTFIXTURE01" and note["locator"] == "note"
    assert note["note_type"] == "Discharge Summary" and note["modality"] == "notes"
    assert note["observed_at"] == datetime(2573, 7, 1)
    assert note["extractor"] == "core.ingest.notes" and len(note["source_sha256"]) == 64
    for e in discharge:  # every span points at the mention inside the stored text, and the locator says so
        mention = e["note_text"][e["span_start"]:e["span_end"]]
        assert mention.strip() and " ".join(mention.split()) in e["snippet"]
        assert e["locator"] == f"chars {e['span_start']}:{e['span_end']}"
        assert e["concept_type"] in notes_concept_types()


def notes_concept_types() -> set[str]:
    from core.nlp.terms import CONCEPT_TYPES

    return set(CONCEPT_TYPES)


def test_fixture_assertions_and_sections(discharge):
    metastasis = find(discharge, concept_type="metastasis")
    assert metastasis["is_negated"] and "no evidence of metastasis" in metastasis["snippet"]
    assert metastasis["section"] == "history_of_present_illness"
    colon = find(discharge, concept_type="diagnosis", concept="COAD")
    assert colon["is_historical"] and not colon["is_negated"] and colon["section"] == "past_medical_history"
    assert colon["note_text"][colon["span_start"]:colon["span_end"]] == "Colon cancer"
    smoking = find(discharge, concept_type="smoking")
    assert smoking["value_text"] == "former" and smoking["section"] == "social_history"
    mother = find(discharge, concept_type="family_history", concept="stroke")
    assert mother["is_family"] and mother["value_text"] == "mother" and mother["section"] == "family_history"
    assert not find(discharge, concept_type="diagnosis", concept="stroke")["is_family"]  # the patient's own stroke
    chemo = [e for e in discharge if e["concept"] == "chemotherapy"]
    assert [e["is_negated"] for e in chemo] == [True, False]  # "not receiving any chemo"; PMH "XRT, chemo"
    assert find(discharge, concept_type="symptom", section="patient_instructions")["is_hypothetical"]
    sections = {e["section"] for e in discharge}
    assert {"chief_complaint", "history_of_present_illness", "past_medical_history", "social_history",
            "family_history", "hospital_course"} <= sections
    assert find(discharge, concept="CEA")["value_num"] == 8.0
    assert not [e for e in discharge if e["section"] == "other"]  # "Service: SURGERY" is not a procedure


@pytest.mark.skipif(manifest is None, reason="manifest ingester not present")
def test_document_manifest_csv_links_a_headerless_note_by_file_name(con, tmp_path):
    note = tmp_path / "discharge_0001.txt"
    shutil.copyfile(FIXTURE, note)
    (tmp_path / "documents.csv").write_text(
        "file_name,file_sha256,patient_system,patient_identifier,note_type,note_date\n"
        f"discharge_0001.txt,,{MRN_SYSTEM},MRN-4242,Discharge Summary,2573-07-01\n")
    summary = run.ingest_paths(con, [tmp_path])
    assert (summary.ingested, summary.failed) == (2, 0), [str(e) for e in summary.errors]
    pid = con.execute("SELECT patient_id FROM patient_identifiers WHERE value = 'MRN-4242'").fetchone()[0]
    assert con.execute("SELECT patient_id FROM notes").fetchone()[0] == pid


# ---- headers, errors, batches, idempotence ---------------------------------------------------------------------

def test_header_note_links_patient_and_fills_attributes(con, tmp_path):
    f = tmp_path / "path.txt"
    f.write_text(HEADER.format(mrn="48213377", date="4 Mar 2025") + PATH_BODY)
    summary = run.ingest_paths(con, [f])
    assert summary.ingested == 1, [str(e) for e in summary.errors]
    pid = con.execute("SELECT patient_id FROM patient_identifiers WHERE system = ? AND value = '48213377'",
                      [MRN_SYSTEM]).fetchone()[0]
    patient = rows(con, "SELECT * FROM patients WHERE patient_id = ?", pid)[0]
    assert (patient["family_name"], patient["given_name"], str(patient["birth_date"])) == ("DOE", "JANE", "1961-04-12")
    note = rows(con, "SELECT * FROM notes")[0]
    assert (note["note_type"], note["author"], note["observed_at"]) == ("Pathology Report", "Dr. A. Smith",
                                                                        datetime(2025, 3, 4))
    events = rows(con, "SELECT * FROM note_events ORDER BY span_start")
    text = f.read_text()
    egfr = find(events, concept="EGFR")
    assert (egfr["value_text"], egfr["section"]) == ("L858R", "molecular_testing")
    assert text[egfr["span_start"]:egfr["span_end"]] == "EGFR"  # offsets count the header too
    assert find(events, concept="ALK")["value_text"] == "negative"
    pdl1 = find(events, concept="PD-L1")
    assert (pdl1["value_num"], pdl1["unit"]) == (60.0, "%")
    biopsy = find(events, concept_type="procedure", concept="biopsy")
    assert (biopsy["observed_at"], biopsy["date_text"]) == (datetime(2025, 3, 1), "03/01/2025")
    assert egfr["observed_at"] == datetime(2025, 3, 4) and egfr["date_text"] is None  # the note date


def test_patient_attributes_from_batched_notes_fill_only_what_is_empty(con, tmp_path):
    """Notes write their patient rows with the batch: the first value wins, a stored one is never overwritten."""
    first = tmp_path / "first"
    first.mkdir()
    (first / "a.txt").write_text(HEADER.format(mrn="777", date="2025-03-04").replace("PATIENT: DOE, JANE\n", "")
                                 + PATH_BODY)
    assert run.ingest_paths(con, [first]).ingested == 1
    batch = tmp_path / "batch"
    batch.mkdir()
    for i, dob in enumerate(("1950-01-01", "1940-02-02", "1930-03-03")):
        (batch / f"n{i}.txt").write_text(HEADER.format(mrn="777", date=f"2025-04-0{i + 1}").replace("1961-04-12", dob)
                                         .replace("DOE, JANE", f"ROE{i}, ANN") + PATH_BODY)
    assert run.ingest_paths(con, [batch]).ingested == 3
    patient = rows(con, "SELECT * FROM patients JOIN patient_identifiers USING (patient_id) WHERE value = '777'")
    assert len(patient) == 1
    # birth date from the first note ever ingested; the name (missing there) from the batch's first note
    assert (str(patient[0]["birth_date"]), patient[0]["family_name"]) == ("1961-04-12", "ROE0")
    assert con.execute("SELECT count(*) FROM patients").fetchone()[0] == 1


def test_unparseable_date_fails_that_note_only(con, tmp_path):
    (tmp_path / "a_bad.txt").write_text(HEADER.format(mrn="111", date="sometime in spring") + PATH_BODY)
    (tmp_path / "b_good.txt").write_text(HEADER.format(mrn="222", date="2025-03-04") + PATH_BODY)
    summary = run.ingest_paths(con, [tmp_path])
    assert (summary.ingested, summary.failed) == (1, 1)
    err = rows(con, "SELECT * FROM ingest_errors")[0]
    assert err["source_uri"].endswith("a_bad.txt") and err["kind"] == "note"
    assert err["locator"] == "header line 5 (DATE OF SERVICE)"
    assert "spring" not in err["message"] and "YYYY-MM-DD" in err["message"]
    assert con.execute("SELECT count(*) FROM notes").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM patient_identifiers WHERE value = '111'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM note_events").fetchone()[0] > 0
    # the good note's header attributes survive the batch rollback and per-file replay
    assert str(con.execute("SELECT birth_date FROM patients JOIN patient_identifiers USING (patient_id) "
                           "WHERE value = '222'").fetchone()[0]) == "1961-04-12"


def test_note_without_header_or_manifest_is_an_error(con, tmp_path):
    f = tmp_path / "orphan.txt"
    f.write_text(PATH_BODY)
    summary = run.ingest_paths(con, [f])
    assert summary.failed == 1
    msg = con.execute("SELECT message FROM ingest_errors").fetchone()[0]
    assert "no MRN header and not in a document manifest" in msg
    assert con.execute("SELECT count(*) FROM notes").fetchone()[0] == 0


def test_unclosed_header_is_named(con, tmp_path):
    f = tmp_path / "open.txt"
    f.write_text("MRN: 77\nDATE OF SERVICE: 2025-01-02\nHPI: cough for 3 weeks.\nLungs clear.\n")
    assert run.ingest_paths(con, [f]).failed == 1
    locator, message = con.execute("SELECT locator, message FROM ingest_errors").fetchone()
    assert locator == "header line 1" and "line of dashes" in message


def test_manifest_row_for_a_changed_file_is_refused(con, tmp_path):
    f = tmp_path / "changed.txt"
    f.write_text(PATH_BODY)
    link_document(con, file_name="changed.txt", sha="0" * 64)
    summary = run.ingest_paths(con, [f])
    assert summary.failed == 1
    assert "different file_sha256" in con.execute("SELECT message FROM ingest_errors").fetchone()[0]


def test_reingest_is_idempotent_and_ids_are_deterministic(con, tmp_path):
    f = tmp_path / "n.txt"
    f.write_text(HEADER.format(mrn="333", date="03/04/2025") + PATH_BODY)
    first = run.ingest_paths(con, [f])
    counts = [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("notes", "note_events", "patients")]
    second = run.ingest_paths(con, [f])
    assert (first.ingested, second.skipped, second.ingested) == (1, 1, 0)
    assert [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("notes", "note_events", "patients")] \
        == counts
    ids = {r[0] for r in con.execute("SELECT event_id FROM note_events").fetchall()}
    other = duckdb.connect()
    schema.migrate(other)
    run.ingest_paths(other, [f])
    assert {r[0] for r in other.execute("SELECT event_id FROM note_events").fetchall()} == ids


def test_header_parsing_fields_any_order_and_body_offset():
    text = "AUTHOR: Dr. B\nDATE OF SERVICE: 2025-01-02\nMRN: 9\n-----\nBody starts here."
    h = notes.parse_header(text)
    assert h.fields["mrn"] == "9" and h.fields["date"] == "2025-01-02" and h.lines["date"] == 2
    assert text[h.body_start:] == "Body starts here."
    assert notes.parse_header(FIXTURE.read_text()) is None  # "Admission Date: ..." starts a body
    assert notes.parse_header("Chief Complaint: cough\n-----\n") is None


@pytest.mark.parametrize("name, content, expected", [
    ("note.txt", b"MRN: 1\n----\nHello.", True),
    ("NOTE.TXT", b"Some clinical text.", True),
    ("note.csv", b"MRN: 1\n", False),
    ("panel.txt", b"# lung panel\nEGFR\nKRAS\nALK\n", False),
    ("blob.txt", b"\x00\x01\x02", False),
])
def test_detect(name, content, expected):
    assert notes.INGESTER.detect(Path(name), content) is expected


# ---- concepts and values in hand-written clinical sentences ------------------------------------------------------

def events_of(sentence: str) -> list:
    return extract_events(sentence, NOTE_DATE)


@pytest.mark.parametrize("sentence, concept_type, concept, value_text, value_num, unit", [
    # biomarker results written after the marker
    ("EGFR mutation was not detected.", "biomarker", "EGFR", "negative", None, None),
    ("Negative for ALK rearrangement.", "biomarker", "ALK", "negative", None, None),
    ("PD-L1 TPS 60%.", "biomarker", "PD-L1", "positive", 60.0, "%"),
    ("ER positive (95%), PR negative, HER2 1+ (negative).", "biomarker", "ER", "positive", 95.0, "%"),
    ("ER positive (95%), PR negative, HER2 1+ (negative).", "biomarker", "PR", "negative", None, None),
    ("ER positive (95%), PR negative, HER2 1+ (negative).", "biomarker", "HER2", "negative", 1.0, "IHC"),
    ("Tumor is MSI-high.", "biomarker", "MSI", "high", None, None),
    ("KRAS G12C detected.", "biomarker", "KRAS", "G12C", None, None),
    ("No EGFR, ALK or ROS1 alterations were identified.", "biomarker", "ROS1", "negative", None, None),
    ("ER+/PR+/HER2- invasive ductal carcinoma.", "biomarker", "HER2", "negative", None, None),
    ("ER/PR positive, HER2 negative.", "biomarker", "PR", "positive", None, None),
    ("HER2 2+ (equivocal), FISH not amplified.", "biomarker", "HER2", "negative", 2.0, "IHC"),
    ("PD-L1 <1%.", "biomarker", "PD-L1", "negative", None, None),
    ("PD-L1 (22C3) tumor proportion score of 80%.", "biomarker", "PD-L1", "positive", 80.0, "%"),
    ("PD-L1 CPS 10.", "biomarker", "PD-L1", "positive", 10.0, "CPS"),
    ("EGFR exon 19 deletion was identified on NGS.", "biomarker", "EGFR", "exon 19 deletion", None, None),
    ("Sequencing showed EGFR p.Leu858Arg.", "biomarker", "EGFR", "L858R", None, None),
    ("MET exon 14 skipping mutation detected.", "biomarker", "MET", "exon 14 skipping", None, None),
    ("EML4-ALK fusion detected by RNA sequencing.", "biomarker", "ALK", "fusion", None, None),
    ("KRAS wild-type.", "biomarker", "KRAS", "negative", None, None),
    ("Loss of MLH1 and PMS2 expression.", "biomarker", "PMS2", "lost", None, None),
    ("MMR proteins intact; microsatellite stable.", "biomarker", "MMR", "proficient", None, None),
    ("MMR proteins intact; microsatellite stable.", "biomarker", "MSI", "stable", None, None),
    ("TMB 14 mut/Mb.", "biomarker", "TMB", "high", 14.0, "mut/Mb"),
    ("EGFR testing is pending.", "biomarker", "EGFR", "pending", None, None),
    ("Ki-67 20%.", "biomarker", "Ki-67", None, 20.0, "%"),
    ("CEA 12.5 ng/mL.", "biomarker", "CEA", None, 12.5, "ng/mL"),
    ("Adenocarcinoma, TTF-1 positive, p40 negative.", "biomarker", "p40", "negative", None, None),
    ("The tumor was negative for EGFR, ALK, ROS1, BRAF, and MET alterations.", "biomarker", "MET", "negative",
     None, None),
    ("PD-L1 not performed due to insufficient tissue.", "biomarker", "PD-L1", "not tested", None, None),
    ("HER2 FISH: amplified (ratio 4.2).", "biomarker", "HER2", "positive", None, None),
    ("ER: positive, 90%, strong intensity. PR: positive, 10%.", "biomarker", "PR", "positive", 10.0, "%"),
    ("Foundation One: KRAS G12V, TP53 R273H, STK11 loss.", "biomarker", "TP53", "R273H", None, None),
    ("Foundation One: KRAS G12V, TP53 R273H, STK11 loss.", "biomarker", "STK11", "loss", None, None),
    ("Lung, RUL, biopsy: non-small cell carcinoma, favor adenocarcinoma.", "histology",
     "non-small cell carcinoma", None, None, None),
    # other concepts and their values
    ("ECOG performance status 1.", "ecog", "ECOG", "1", 1.0, None),
    ("ECOG 0-1.", "ecog", "ECOG", "0-1", 1.0, None),
    ("Stage IIIA NSCLC, cT2a N2 M0.", "stage", "stage", "IIIA", None, None),
    ("Stage IIIA NSCLC, cT2a N2 M0.", "stage", "TNM", "cT2aN2M0", None, None),
    ("Stage 4 disease.", "stage", "stage", "IV", None, None),
    ("Extensive-stage small cell lung cancer.", "stage", "stage", "extensive", None, None),
    ("Stage IIIA NSCLC, cT2a N2 M0.", "diagnosis", "NSCLC", None, None, None),
    ("Stage IV lung adenocarcinoma with brain metastases.", "diagnosis", "LUAD", None, None, None),
    ("Stage IV lung adenocarcinoma with brain metastases.", "metastasis", "metastasis", "brain", None, None),
    ("Invasive ductal carcinoma of the left breast.", "diagnosis", "IDC", None, None, None),
    ("Biopsy showed moderately differentiated adenocarcinoma.", "histology", "adenocarcinoma", None, None, None),
    ("She is a former smoker with a 30 pack-year history.", "smoking", "smoking", "former", 30.0, "pack-years"),
    ("Never smoker.", "smoking", "smoking", "never", None, None),
    ("He smokes 1 ppd.", "smoking", "smoking", "current", None, None),
    ("CT chest shows a 3.2 x 2.5 cm spiculated mass in the right upper lobe.", "imaging_finding", "mass",
     "3.2 x 2.5 cm", 32.0, "mm"),
    ("A 14 mm nodule in the left lower lobe.", "imaging_finding", "nodule", "14 mm", 14.0, "mm"),
    ("She started carboplatin and pemetrexed.", "therapy", "pemetrexed", "started", None, None),
    ("Continues on Tagrisso 80 mg daily.", "therapy", "osimertinib", "ongoing", None, None),
    ("Completed 4 cycles of FOLFOX.", "therapy", "folfox", "completed", None, None),
    ("Restaging CT showed partial response.", "response", "partial response", "PR", None, None),
    ("Findings consistent with disease progression.", "response", "progressive disease", "PD", None, None),
    ("Status post right upper lobectomy.", "procedure", "lobectomy", None, None, None),
    ("She reports hemoptysis and fatigue.", "symptom", "hemoptysis", None, None, None),
])
def test_concepts_and_values(sentence, concept_type, concept, value_text, value_num, unit):
    hits = [e for e in events_of(sentence) if (e.concept_type, e.concept) == (concept_type, concept)]
    assert hits, [(e.concept_type, e.concept) for e in events_of(sentence)]
    e = hits[0]
    assert (e.value_text, e.value_num, e.unit) == (value_text, value_num, unit)
    assert sentence[e.span_start:e.span_end].strip()


@pytest.mark.parametrize("sentence", [
    "She presented to the ER with chest pain.",  # ER without a result is the emergency room
    "Tumor board discussed the case.",
    "Median progression-free survival was 18 months.",
    "Performance status was not documented.",
    "Staging CT was ordered.",
])
def test_no_false_mentions(sentence):
    kinds = {(e.concept_type, e.concept) for e in events_of(sentence)}
    assert not kinds & {("biomarker", "ER"), ("response", "progressive disease"), ("ecog", "ECOG"),
                        ("stage", "stage")}, kinds


F = ("is_negated", "is_uncertain", "is_historical", "is_family", "is_hypothetical")


@pytest.mark.parametrize("sentence, concept, flags", [
    ("No evidence of metastasis.", "metastasis", {"is_negated"}),
    ("Imaging shows no evidence of metastatic disease.", "metastasis", {"is_negated"}),
    ("Patient denies hemoptysis.", "hemoptysis", {"is_negated"}),
    ("Negative for pleural effusion.", "pleural effusion", {"is_negated"}),
    ("Pleural effusion has resolved.", "pleural effusion", {"is_negated"}),
    ("Possible metastasis to the liver.", "metastasis", {"is_uncertain"}),
    ("Cannot exclude pleural effusion.", "pleural effusion", {"is_uncertain"}),
    ("Lymphadenopathy cannot be excluded.", "lymphadenopathy", {"is_uncertain"}),
    ("Findings suspicious for malignancy.", "cancer", {"is_uncertain"}),
    ("Non-small cell carcinoma, favor adenocarcinoma.", "adenocarcinoma", {"is_uncertain"}),
    ("There is no evidence of recurrent disease.", "recurrence", {"is_negated"}),
    ("History of breast cancer.", "BRCA", {"is_historical"}),
    ("S/p lumpectomy.", "lumpectomy", {"is_historical"}),
    ("Status post hemicolectomy.", "colectomy", {"is_historical"}),
    ("Mother had breast cancer.", "BRCA", {"is_family"}),
    ("Family history of colon cancer in his father.", "COAD", {"is_family"}),
    ("No family history of cancer.", "cancer", {"is_family", "is_negated"}),
    ("Plan to start osimertinib.", "osimertinib", {"is_hypothetical"}),
    ("If symptoms worsen, consider palliative radiation.", "radiotherapy", {"is_hypothetical"}),
    ("EGFR mutation was not detected.", "EGFR", set()),  # the result is the value, not a negated mention
    ("She has a 2 cm mass in the right upper lobe.", "mass", set()),
    ("No pleural effusion; a 3 cm mass in the right upper lobe.", "mass", set()),  # ";" ends the negation
])
def test_context_flags(sentence, concept, flags):
    hits = [e for e in events_of(sentence) if e.concept == concept]
    assert hits, [(e.concept_type, e.concept) for e in events_of(sentence)]
    assert {f for f in F if getattr(hits[0], f)} == flags


def test_family_diagnosis_names_the_relative():
    e = next(e for e in events_of("Maternal aunt with breast cancer at 45.") if e.concept == "BRCA")
    assert (e.concept_type, e.value_text, e.is_family) == ("family_history", "maternal aunt", True)


def test_event_dates_from_the_sentence_else_the_note():
    evs = events_of("She started carboplatin on 4 Mar 2025. Progression was seen last Tuesday. Cough resolved.")
    by = {e.concept: e for e in evs}
    assert (by["carboplatin"].observed_at, by["carboplatin"].date_text) == (datetime(2025, 3, 4), "4 Mar 2025")
    assert (by["progressive disease"].observed_at, by["progressive disease"].date_text) == \
        (datetime(2025, 3, 4), "last Tuesday")
    assert (by["cough"].observed_at, by["cough"].date_text) == (NOTE_DATE, None)


@pytest.mark.parametrize("text, iso, written", [
    ("seen 03/04/2025", "2025-03-04", "03/04/2025"),
    ("seen 3/4/25", "2025-03-04", "3/4/25"),
    ("biopsy 4 Mar 2025", "2025-03-04", "4 Mar 2025"),
    ("biopsy 4-Mar-2025", "2025-03-04", "4-Mar-2025"),
    ("on 2025-03-04", "2025-03-04", "2025-03-04"),
    ("on March 4, 2025", "2025-03-04", "March 4, 2025"),
    ("since March 2024", "2024-03-01", "March 2024"),
    ("since 03/2024", "2024-03-01", "03/2024"),
    ("diagnosed in 2019", "2019-01-01", "2019"),
    ("admitted [**2573-5-30**]", "2573-05-30", "2573-5-30"),
    ("last Tuesday", "2025-03-04", "last Tuesday"),
    ("last Thursday", "2025-02-27", "last Thursday"),
    ("3 weeks ago", "2025-02-13", "3 weeks ago"),
    ("yesterday", "2025-03-05", "yesterday"),
    ("follow up in 2 weeks", "2025-03-20", "in 2 weeks"),
    ("on March 4", "2025-03-04", "March 4"),
])
def test_dates(text, iso, written):
    found = find_dates(text, NOTE_DATE)
    assert [(d.value.date().isoformat(), d.text) for d in found] == [(iso, written)]


@pytest.mark.parametrize("text", ["2/3 lymph nodes", "Q4-6H", "31/02/2025", "she may 2 be", "[**2554**]"])
def test_not_dates(text):
    assert find_dates(text, NOTE_DATE) == []


def test_sentences_split_on_lists_and_headers_not_wrapped_lines():
    text = ("Past Medical History:\n1. Colon cancer dx'd in 2010, treated with\nchemo. Dr. A. Smith saw her.\n"
            "2. Hypertension\nPancreatitis\nHTN\nh/o aspiration")
    starts = sentence_starts(text)
    pieces = [text[a:b].strip() for a, b in zip([0, *starts], [*starts, len(text)])]
    assert "Colon cancer dx'd in 2010, treated with\nchemo." in pieces[1]
    assert "Dr. A. Smith saw her." in pieces
    assert pieces[-3:] == ["Pancreatitis", "HTN", "h/o aspiration"]


def test_pipeline_is_built_once_with_the_fast_components():
    nlp = note_pipeline()
    assert note_pipeline() is nlp
    assert nlp.pipe_names == ["note_sectionizer", "note_sentencizer", "medspacy_target_matcher",
                              "note_exact_targets", "note_context"]
    assert "medspacy_pyrush" not in nlp.pipe_names
