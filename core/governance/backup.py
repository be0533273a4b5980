"""Backup and restore of both stores, verified by sha256."""
from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from core.store import db
from core.store.export import safe_output_dir


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def backup(dest: Path, root: Path | None = None, writer: db.BoardWriter | None = None) -> Path:
    """Copy the current evidence version and the board store into ``dest/<timestamp>/`` with a manifest.

    The board store is checkpointed first through ``writer`` when the app holds it (pass
    the app's writer), or opened here when no app runs.
    """
    root = root or db.store_dir()
    dest = safe_output_dir(dest)
    out = dest / datetime.now(timezone.utc).strftime("backup-%Y%m%dT%H%M%S%f")
    out.mkdir(parents=True)
    files = {}
    ev = db.current_evidence_path(root)
    if ev is None:
        raise FileNotFoundError("no evidence store to back up")
    shutil.copyfile(ev, out / ev.name)
    files[ev.name] = _sha(out / ev.name)
    bp = db.board_path(root)
    if bp.exists():
        own = writer is None
        w = writer or db.BoardWriter(bp)
        try:
            with w.transaction() as cur:  # holds the writer lock: no decision can land mid-copy
                cur.execute("COMMIT")
                cur.execute("CHECKPOINT")
                shutil.copyfile(bp, out / bp.name)
                cur.execute("BEGIN TRANSACTION")
        finally:
            if own:
                w.close()
        files[bp.name] = _sha(out / bp.name)
    (out / "manifest.json").write_text(json.dumps({"evidence": ev.name, "files": files}, indent=2))
    return out


def restore(src: Path, root: Path | None = None) -> str:
    """Verify a backup's hashes and make it the current store; returns the restored evidence version.

    Refuses if any file's hash differs from the manifest. The board store is replaced only
    when no app holds it (DuckDB's file lock tells us).
    """
    root = root or db.store_dir()
    man = json.loads((src / "manifest.json").read_text())
    for name, sha in man["files"].items():
        if _sha(src / name) != sha:
            raise ValueError(f"backup file {name} does not match its recorded sha256: refusing to restore")
    ev = man["evidence"]
    shutil.copyfile(src / ev, root / ev)
    db._atomic_write(root / db.POINTER, ev)
    if "board.duckdb" in man["files"]:
        tmp = root / "board.duckdb.restoring"
        shutil.copyfile(src / "board.duckdb", tmp)
        tmp.replace(db.board_path(root))
    return ev
