"""Reading the audit log for the admin page."""
from __future__ import annotations

import polars as pl

from core.store.db import BoardWriter
from core.store.queries import frame


def audit_entries(writer: BoardWriter, *, actor: str | None = None, action_prefix: str | None = None,
                  limit: int = 1000) -> pl.DataFrame:
    cur = writer.read()
    try:
        return frame(cur, """SELECT seq, audit_log.at, actor, action, target, detail, hash FROM audit_log
                             WHERE ($actor IS NULL OR actor = $actor)
                               AND ($prefix IS NULL OR starts_with(action, $prefix))
                             ORDER BY seq DESC LIMIT $limit""",
                     {"actor": actor, "prefix": action_prefix, "limit": limit})
    finally:
        cur.close()
