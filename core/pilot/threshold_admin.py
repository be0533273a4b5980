"""Changing a pilot threshold: an audited admin action (the dashboard shows thresholds read-only).

The TOML file is rewritten in place (comments and layout kept: only the ``value`` line of
the threshold, ``meta.version`` and ``meta.amended_on`` change), and an audit entry with
the old and new value and both file hashes is appended in the same board-store
transaction; if the file cannot be replaced the audit entry is rolled back.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from core.governance import audit
from core.pilot.verdict import THRESHOLDS_PATH, load_thresholds
from core.store.db import BoardWriter

ACTION = "threshold.set"
_HEADER = re.compile(r"^\s*\[")
_KEY = lambda k: re.compile(rf"^(\s*{k}\s*=\s*)([^#\n]*?)(\s*(#.*)?)$")  # noqa: E731


@dataclass(frozen=True)
class ThresholdChange:
    threshold_id: str
    metric: str
    old: float
    new: float
    sha256_before: str
    sha256_after: str
    audit_seq: int


def _check_admin(writer: BoardWriter, actor: str) -> None:
    from core.governance.users import PERMISSIONS, Role

    cur = writer.read()
    try:
        rows = cur.execute("SELECT role, disabled FROM users WHERE username = ?", [actor]).fetchall()
        n_users = cur.execute("SELECT count(*) FROM users").fetchall()[0][0]
    finally:
        cur.close()
    if not rows:
        hint = ("no users exist yet: start the app once (it creates the demo users) or run "
                "`python -m core add-user NAME --role admin`") if n_users == 0 else "use an admin user's name"
        raise PermissionError(f"{actor!r} is not a user of this dashboard; {hint}")
    role, disabled = rows[0]
    if disabled or "admin" not in PERMISSIONS[Role(role)]:
        raise PermissionError(f"{actor!r} may not change thresholds (needs the admin permission)")


def rewrite_value(text: str, threshold_id: str, value: float, today: date) -> str:
    """The TOML text with the threshold's value replaced, meta.version bumped and meta.amended_on set."""
    lines = text.splitlines(keepends=True)
    section, block_id, value_line, meta_version, meta_end, amended = None, None, None, None, None, None
    blocks: list[tuple[int, int, str | None]] = []  # (start, end, id) of [[threshold]] blocks
    start = None
    for i, line in enumerate(lines):
        if _HEADER.match(line):
            if section == "threshold" and start is not None:
                blocks.append((start, i, block_id))
            if section == "meta":
                meta_end = i
            section = "threshold" if line.strip() == "[[threshold]]" else line.strip().strip("[]").strip()
            start, block_id = i, None
            continue
        m = re.match(r'^\s*id\s*=\s*"([^"]*)"', line)
        if section == "threshold" and m:
            block_id = m.group(1)
        if section == "meta" and _KEY("version").match(line):
            meta_version = i
        if section == "meta" and _KEY("amended_on").match(line):
            amended = i
    if section == "threshold" and start is not None:
        blocks.append((start, len(lines), block_id))
    if section == "meta":
        meta_end = len(lines)
    hit = [b for b in blocks if b[2] == threshold_id]
    if len(hit) != 1:
        raise KeyError(f"threshold {threshold_id!r} appears {len(hit)} times in the file; known: "
                       f"{[b[2] for b in blocks]}")
    for i in range(hit[0][0], hit[0][1]):
        if _KEY("value").match(lines[i]):
            value_line = i
    if value_line is None:
        raise KeyError(f"threshold {threshold_id!r} has no value line")
    lines[value_line] = _KEY("value").sub(lambda m: f"{m.group(1)}{value!r}{m.group(3)}", lines[value_line])
    if meta_version is not None:
        old = int(_KEY("version").match(lines[meta_version]).group(2))
        lines[meta_version] = _KEY("version").sub(lambda m: f"{m.group(1)}{old + 1}{m.group(3)}", lines[meta_version])
    stamp = f'amended_on = "{today.isoformat()}"\n'
    if amended is not None:
        lines[amended] = stamp
    elif meta_end is not None:
        at = meta_end
        while at > 0 and not lines[at - 1].strip():
            at -= 1
        lines.insert(at, stamp)
    return "".join(lines)


def set_threshold(writer: BoardWriter, threshold_id: str, value: float, actor: str, *,
                  reason: str = "", path: Path = THRESHOLDS_PATH, today: date | None = None) -> ThresholdChange:
    """Change one threshold's value and audit it.

    Raises:
        PermissionError: ``actor`` is not an enabled admin user.
        KeyError: no such threshold id.
        ValueError: value not a finite number in [0, 1] (every pilot metric is a proportion,
            AUROC or calibration error), or the rewritten file does not load.
    """
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"threshold value must be a number between 0 and 1, got {value!r}")
    _check_admin(writer, actor)
    before = path.read_bytes()
    cfg = load_thresholds(path)
    t = next((t for t in cfg.thresholds if t.id == threshold_id), None)
    if t is None:
        raise KeyError(f"no threshold {threshold_id!r}; known: {[x.id for x in cfg.thresholds]}")
    text = rewrite_value(before.decode(), threshold_id, float(value), today or date.today())
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:  # pragma: no cover - rewrite_value keeps the syntax
        raise ValueError(f"rewritten threshold file would not load: {e}") from e
    got = next(x["value"] for x in doc["threshold"] if x["id"] == threshold_id)
    if got != float(value):
        raise ValueError(f"rewrite check failed: {threshold_id} reads {got}, expected {value}")
    after = text.encode()
    change_detail = {"metric": t.metric, "old": t.value, "new": float(value), "file": path.name,
                     "sha256_before": hashlib.sha256(before).hexdigest(),
                     "sha256_after": hashlib.sha256(after).hexdigest(), "reason": reason}
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    try:
        with writer.transaction() as cur:
            seq = audit.append(cur, actor, ACTION, threshold_id, change_detail)
            tmp.write_bytes(after)
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return ThresholdChange(threshold_id, t.metric, t.value, float(value), change_detail["sha256_before"],
                           change_detail["sha256_after"], seq)


def threshold_history(writer: BoardWriter) -> list[dict]:
    """Audited threshold changes, oldest first (seq, at, actor, target, detail JSON)."""
    import json

    cur = writer.read()
    try:
        rows = cur.execute("SELECT seq, audit_log.at, actor, target, detail FROM audit_log WHERE action = ? "
                           "ORDER BY seq", [ACTION]).fetchall()
    finally:
        cur.close()
    return [{"seq": s, "at": a, "actor": ac, "threshold_id": t} | json.loads(d or "{}") for s, a, ac, t, d in rows]
