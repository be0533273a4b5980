"""parse_date's exact-format fast path gives what dateutil's parser gives, on every string it takes."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from dateutil import parser as dparser

from core.ingest.base import _fast_date, parse_date

FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%-m/%-d/%Y", "%d %b %Y", "%-d %b %Y", "%d %B %Y", "%B %d, %Y", "%b %d, %Y",
           "%B %-d, %Y", "%d/%m/%Y", "%b %d %Y", "%d-%b-%Y", "%m/%d/%y", "%Y%m%d", "%Y-%m-%dT%H:%M:%S")


def _dateutil(text: str) -> datetime:
    return dparser.parse(text, dayfirst=False, default=datetime(1900, 1, 1)).replace(tzinfo=None)


def test_fast_path_agrees_with_dateutil_on_written_dates():
    rng = random.Random(3)
    days = [date(1930, 1, 1) + timedelta(days=rng.randint(0, 36000)) for _ in range(400)]
    days += [date(2024, 2, 29), date(2025, 12, 31), date(2025, 1, 1), date(2025, 4, 13)]
    taken = 0
    for day in days:
        for fmt in FORMATS:
            text = datetime(day.year, day.month, day.day, 10, 11, 12).strftime(fmt)
            assert parse_date(text) == _dateutil(text), text
            taken += _fast_date(text) is not None
    assert taken > len(days) * 5  # the fast path does take the common formats


@pytest.mark.parametrize("text", ["13/04/2025", "02/30/2025", "Sept 4, 2025", "4 MAR 2025", "march 4, 2025",
                                  "31 Feb 2025", "1/2/2025", "2025-3-4"])
def test_edge_strings_agree_or_both_refuse(text):
    try:
        expected = _dateutil(text)
    except (ValueError, OverflowError):
        with pytest.raises(ValueError):
            parse_date(text)
        return
    assert parse_date(text) == expected
