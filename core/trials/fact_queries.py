"""Running fact queries for a set of patients: one numbering (``pidx``), one provenance shape."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

EV_COLUMNS = ("ev_table", "ev_id", "source_uri", "locator", "observed_at")


@dataclass(frozen=True)
class Queries:
    """Runs fact queries for the selected patients; ``ix`` numbers them as ``PatientFacts.patients``."""

    con: duckdb.DuckDBPyConnection
    flt: str
    params: dict[str, Any]
    detail: bool

    def frame(self, sql: str, extra: dict[str, Any] | None = None) -> pl.DataFrame:
        ix = (f"ix AS (SELECT patient_id, (row_number() OVER (ORDER BY patient_id) - 1)::BIGINT AS pidx "
              f"FROM patients WHERE {self.flt})")
        return fetch_frame(self.con, f"WITH {ix} {sql}", {**self.params, **(extra or {})})

    def prov(self, alias: str = "t") -> str:
        """source_uri / locator / observed_at columns (the first two null unless ``detail``)."""
        if self.detail:
            return f"{alias}.source_uri, {alias}.locator, {alias}.observed_at"
        return f"NULL::VARCHAR AS source_uri, NULL::VARCHAR AS locator, {alias}.observed_at"


def fetch_frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pl.DataFrame:
    """Run ``sql`` with bound ``params`` into a polars frame (through Arrow)."""
    return pl.from_arrow(con.sql(sql, params=params or None).to_arrow_table())  # type: ignore[return-value]


def patient_filter(patient_ids: Sequence[str] | None, view: str | None = None) -> tuple[str, dict[str, Any]]:
    """SQL predicate on ``patient_id`` selecting the patients (all; a registered view; a bound list)."""
    if patient_ids is None:
        return "TRUE", {}
    if view is not None:
        return f"patient_id IN (SELECT patient_id FROM {view})", {}
    return "patient_id IN (SELECT unnest($ids::VARCHAR[]))", {"ids": list(patient_ids)}
