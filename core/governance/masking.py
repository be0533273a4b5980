"""PHI masking driven by the schema's PHI classification."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

from core.store import schema
from core.store.schema import Phi

MASK = "•••"


def mask_row(table: str, row: dict[str, Any], *, mask: bool) -> dict[str, Any]:
    """Replace the values of DIRECT and FREE_TEXT columns of ``table`` when ``mask`` is on."""
    if not mask:
        return dict(row)
    hidden = set(schema.phi_columns(table))
    return {k: (MASK if k in hidden and v is not None else v) for k, v in row.items()}


def mask_frame(table: str, df: pl.DataFrame, *, mask: bool) -> pl.DataFrame:
    if not mask:
        return df
    hidden = [c for c in schema.phi_columns(table) if c in df.columns]
    return df.with_columns([pl.when(pl.col(c).is_null()).then(None).otherwise(pl.lit(MASK)).alias(c) for c in hidden])


def age_years(birth: date | datetime | None, on: date | None = None) -> int | None:
    if birth is None:
        return None
    on = on or date.today()
    b = birth.date() if isinstance(birth, datetime) else birth
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def display_name(row: dict[str, Any], *, mask: bool) -> str:
    """What the header calls the patient: the pseudonym when masked, the name otherwise."""
    if mask or not (row.get("family_name") or row.get("given_name")):
        return f"Patient {row['patient_id']}"
    return f"{(row.get('family_name') or '').upper()}, {row.get('given_name') or ''} (MRN {row.get('mrn') or '?'})"


def is_phi_column(table: str, column: str) -> bool:
    t = schema.EVIDENCE_TABLES.get(table) or schema.BOARD_TABLES.get(table)
    return bool(t) and t.column(column).phi in (Phi.DIRECT, Phi.FREE_TEXT)
