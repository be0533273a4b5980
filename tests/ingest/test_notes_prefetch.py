"""Note NLP in worker processes stores exactly what the inline path stores."""
from __future__ import annotations

import importlib.util
import logging
import random
import re
from pathlib import Path

import duckdb
import pytest

from core.ingest import notes, run
from core.store import schema

ROOT = Path(__file__).resolve().parents[2]
N_NOTES = 30


def _make_note():
    spec = importlib.util.spec_from_file_location("bench_notes", ROOT / "bench" / "bench_notes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_note


@pytest.fixture(scope="module")
def note_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("notes")
    make_note, rng = _make_note(), random.Random(5)
    for i in range(N_NOTES):
        (folder / f"note_{i:03d}.txt").write_text(make_note(rng, i))
    (folder / "note_bad_date.txt").write_text("MRN: 1\nDATE OF SERVICE: sometime\n---\nNo mass.\n")
    return folder


def _ingest(folder: Path, workers: str, monkeypatch) -> tuple[list[tuple], list[tuple]]:
    monkeypatch.setenv("TB_NLP_WORKERS", workers)
    monkeypatch.setattr(run, "ingesters", lambda: [notes.INGESTER])
    con = duckdb.connect()
    schema.migrate(con)
    summary = run.ingest_paths(con, [folder])
    assert summary.ingested == N_NOTES and summary.failed == 1  # the unparseable date is reported, not dropped
    events = con.execute("""SELECT event_id, source_sha256, locator, concept_type, concept, value_text, value_num,
                                   span_start, span_end, section, observed_at, is_negated, is_uncertain,
                                   is_historical, is_family, is_hypothetical
                            FROM note_events ORDER BY ALL""").fetchall()
    errors = con.execute("SELECT source_uri, locator, severity, message FROM ingest_errors ORDER BY ALL").fetchall()
    con.close()
    return events, errors


def test_workers_store_the_same_events_as_inline(note_folder, monkeypatch, caplog):
    inline = _ingest(note_folder, "0", monkeypatch)
    with caplog.at_level(logging.INFO, logger="core.nlp.prefetch"):
        parallel = _ingest(note_folder, "2", monkeypatch)
    used = [int(m.group(1)) for r in caplog.records
            if (m := re.search(r"prefetch: (\d+) notes from workers", r.getMessage()))]
    assert used == [N_NOTES]  # every good note came from a worker ...
    assert len(inline[0]) > 10 * N_NOTES and parallel == inline  # ... and the store is identical


def test_a_changed_input_is_recomputed_inline():
    from datetime import datetime

    from core.nlp import extract_events
    from core.nlp.prefetch import EventPrefetcher

    body = "ECOG performance status 1. EGFR mutation was not detected."
    p = EventPrefetcher(1)
    try:
        p.submit("k", body, datetime(2025, 1, 2), 10)
        assert p.take("k", body, datetime(2025, 1, 3), 10) is None  # another date: not used
        p.submit("k2", body, datetime(2025, 1, 2), 10)
        assert p.take("k2", body, datetime(2025, 1, 2), 10) == extract_events(body, datetime(2025, 1, 2), offset=10)
        assert p.take("unknown", body, None, 0) is None
    finally:
        p.close()
