"""Note NLP in worker processes, ahead of the ingest that stores it.

The ingest stays a single writer: it walks the files in order and writes each in its own
transaction. What it can hand off is the CPU-bound part of a note, ``extract_events``
(spaCy + medspaCy + our rules), which needs nothing from the store. ``EventPrefetcher``
runs it for many notes in ``workers`` spawned processes (each builds its own pipeline
once, about 5 s) while the parent writes earlier notes, and gives the events back by
key. A result is only used when the note body, date and offset the ingest ends up with
are the ones the worker saw; anything else is computed inline, so prefetching can never
change what is stored, only when it is computed.
"""
from __future__ import annotations

import hashlib
import logging
import multiprocessing as mp
import os
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime

from core.config import setting
from core.nlp.events import NoteEvent

logger = logging.getLogger(__name__)

MIN_NOTES = 24  # below this the workers' start-up (pipeline load) costs more than it saves


def worker_count() -> int:
    """``nlp_workers`` setting ('auto' = one per CPU when there are at least two, else none)."""
    raw = setting("nlp_workers").strip().lower()
    if raw == "auto":
        n = os.cpu_count() or 1
        return n if n >= 2 else 0
    return max(0, int(raw))


def _warm() -> None:
    from core.nlp.pipeline import note_pipeline

    note_pipeline()


def _extract(body: str, note_date: datetime | None, offset: int) -> list[NoteEvent]:
    from core.nlp import extract_events

    return extract_events(body, note_date, offset=offset)


def _fingerprint(body: str, note_date: datetime | None, offset: int) -> str:
    return hashlib.sha256(f"{offset}|{note_date!r}|".encode() + body.encode("utf-8", "surrogatepass")).hexdigest()


class EventPrefetcher:
    """Submit notes by key; ``take`` returns their events if the inputs still match, else None."""

    def __init__(self, workers: int) -> None:
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                         initializer=_warm)
        self._jobs: dict[str, tuple[str, Future]] = {}
        self.used = self.missed = 0

    def submit(self, key: str, body: str, note_date: datetime | None, offset: int) -> None:
        if key not in self._jobs:
            self._jobs[key] = (_fingerprint(body, note_date, offset),
                               self._pool.submit(_extract, body, note_date, offset))

    def take(self, key: str, body: str, note_date: datetime | None, offset: int) -> list[NoteEvent] | None:
        job = self._jobs.pop(key, None)
        if job is None:
            return None
        fp, fut = job
        if fp != _fingerprint(body, note_date, offset):
            fut.cancel()
            self.missed += 1
            return None
        try:
            events = fut.result()
        except Exception as e:  # noqa: BLE001 - a worker failure: the ingest computes this note itself
            logger.warning("note NLP worker failed (%s); computing inline", type(e).__name__)
            self.missed += 1
            return None
        self.used += 1
        return events

    def close(self) -> None:
        for _, fut in self._jobs.values():
            fut.cancel()
        self._jobs.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        logger.info("note NLP prefetch: %d notes from workers, %d computed inline", self.used, self.missed)
