"""CTML trial files (YAML or JSON) -> ``trials`` table.

A file may hold one trial or a list. Each trial is validated (core/trials/ctml.py); a trial
with structural problems is reported as an IngestError naming the trial and the field path
and the other trials of the file still land. Warnings (unsupported keys, diagnoses outside
the bundled OncoTree subset) are recorded too.

Trial ids: ``protocol_no`` (the file name when it is missing). Re-ingesting a changed file of
the same name replaces its trials (an amendment); a *different* file reusing a protocol_no
gets ``<protocol_no>@<file stem>`` with a warning, so neither trial is lost.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path, PurePath

from core.ingest.base import IngestContext, IngestError, SourceFile, insert_rows
from core.trials.ctml import parse_trial, read_documents
from core.trials.model import CtmlError, Trial

logger = logging.getLogger(__name__)

SUFFIXES = (".yml", ".yaml", ".json")


class CtmlIngester:
    kind = "ctml"
    extractor = "core.ingest.ctml"
    version = "1.0"
    priority = 50

    def detect(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in SUFFIXES and (b"treatment_list" in head or b"protocol_no" in head)

    def ingest(self, ctx: IngestContext, src: SourceFile) -> None:
        try:
            docs = read_documents(src.read_bytes(), src.path.name)
        except ValueError as e:
            raise IngestError(src.uri, "file", str(e), error_type="CtmlSyntaxError") from e
        stem = src.path.stem
        seen: set[str] = set()
        for i, doc in enumerate(docs):
            fallback = stem if len(docs) == 1 else f"{stem}[{i}]"
            try:
                trial, warnings = parse_trial(doc, fallback_id=fallback)
            except CtmlError as e:
                for p in e.problems:
                    ctx.error(src, IngestError(src.uri, f"trial {p.protocol_no}: {p.path}", p.reason,
                                               error_type="CtmlValidationError"))
                continue
            for w in warnings:
                ctx.error(src, IngestError(src.uri, f"trial {w.protocol_no}: {w.path}", w.reason,
                                           error_type="CtmlWarning", severity="warning"))
            trial_id = self._trial_id(ctx, src, trial, seen)
            seen.add(trial_id)
            # written at once (inside the file's / batch's transaction), not buffered: a later file of
            # the same batch must see this trial_id, and an amendment replaces the stored row
            ctx.con.execute("DELETE FROM trials WHERE trial_id = ?", [trial_id])
            insert_rows(ctx.con, "trials", [trial_row(trial, src, trial_id, ctx.now)])
            ctx.tally.rows += 1

    def _trial_id(self, ctx: IngestContext, src: SourceFile, trial: Trial, seen: set[str]) -> str:
        tid = trial.trial_id
        row = ctx.con.execute("SELECT source_uri FROM trials WHERE trial_id = ?", [tid]).fetchone()
        clash = tid in seen or (row is not None and PurePath(row[0]).name != src.path.name)
        if not clash:
            return tid
        new = f"{tid}@{src.path.stem}" if tid not in seen else f"{tid}@{src.path.stem}#{len(seen)}"
        ctx.error(src, IngestError(src.uri, f"trial {tid}: protocol_no",
                                   f"protocol_no already used by another file; stored as trial_id {new!r}",
                                   error_type="CtmlWarning", severity="warning"))
        return new


def trial_row(trial: Trial, src: SourceFile, trial_id: str, now: object) -> dict:
    """The ``trials`` row of a parsed trial (the CTML document is kept as JSON)."""
    return {
        "trial_id": trial_id, "protocol_no": trial.protocol_no, "nct_id": trial.nct_id, "title": trial.title,
        "phase": trial.phase, "status": trial.status, "is_demo": trial.is_demo,
        "ctml_json": json.dumps(trial.doc, sort_keys=True, default=str),
        "source_uri": src.uri, "source_sha256": src.sha256, "ingested_at": now,
    }


INGESTER = CtmlIngester()
