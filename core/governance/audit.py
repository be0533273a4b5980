"""Append-only, hash-chained audit log in the board store.

Each entry's hash covers its content and the previous entry's hash, so editing or
deleting any entry breaks the chain from that point on; ``verify`` finds where.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb

GENESIS = "0" * 64


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def entry_hash(seq: int, at: datetime, actor: str, action: str, target: str, detail: str, prev_hash: str) -> str:
    payload = json.dumps([seq, at.isoformat(timespec="microseconds"), actor, action, target, detail, prev_hash],
                         separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def append(cur: duckdb.DuckDBPyConnection, actor: str, action: str, target: str = "", detail: dict | str = "") -> int:
    """Append one entry inside the caller's transaction; returns its sequence number.

    ``detail`` must not carry PHI: log pseudonymous patient ids, never names or MRNs.
    """
    detail_s = detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True, default=str)
    last = cur.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = _now()
    h = entry_hash(seq, at, actor, action, target, detail_s, prev)
    cur.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [seq, at, actor, action, target, detail_s, prev, h])
    return seq


def revision(cur: duckdb.DuckDBPyConnection) -> int:
    """Sequence number of the newest audit entry (0 when empty). Every board write appends one,
    so it changes with each decision, review or saved order: a cache key for board reads."""
    return int(cur.execute("SELECT coalesce(max(seq), 0) FROM audit_log").fetchall()[0][0])


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str


def verify(cur: duckdb.DuckDBPyConnection) -> VerifyResult:
    """Recompute the chain; report the first edited, inserted or deleted entry."""
    rows = cur.execute("SELECT seq, audit_log.at, actor, action, target, detail, prev_hash, hash FROM audit_log ORDER BY seq").fetchall()
    prev = GENESIS
    expected_seq = 1
    for seq, at, actor, action, target, detail, prev_hash, h in rows:
        if seq != expected_seq:
            return VerifyResult(False, len(rows), seq, f"sequence gap: expected {expected_seq}, found {seq} (entry deleted)")
        if prev_hash != prev:
            return VerifyResult(False, len(rows), seq, "previous-hash link broken (entry before it edited or deleted)")
        if entry_hash(seq, at, actor, action, target, detail, prev_hash) != h:
            return VerifyResult(False, len(rows), seq, "entry content does not match its hash (edited)")
        prev = h
        expected_seq += 1
    return VerifyResult(True, len(rows), None, "chain intact")
