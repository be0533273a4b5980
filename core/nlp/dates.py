"""Dates written in note text, absolute or relative to the note's date.

Formats: ``2025-03-04`` (also inside de-identification brackets ``[**2573-5-30**]``),
``03/04/2025`` and ``3/4/25`` (US month/day order, the house convention), ``4 Mar 2025``,
``4-Mar-2025``, ``March 4, 2025``, ``March 2024`` and ``03/2024`` (first of the month),
``March 4`` (year of the note), ``in 2019`` (first of the year), and relative phrases
resolved against the note date: "today", "yesterday", "last Tuesday", "last week",
"3 weeks ago", "in 2 months", "next month".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta

_MONTHS = {m: i for i, ms in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
    ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
    ("dec", "december")), start=1) for m in ms}
_WEEKDAYS = {d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                         "sunday"))}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a few": 3, "several": 3,
                 "a couple of": 2, "couple of": 2}

_MON = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|" \
       r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_NUM = r"(?:\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a few|several|" \
       r"a couple of|couple of)"
_UNIT = r"(?:day|week|wk|month|mo|year|yr)s?"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"

# Several small patterns over the lower-cased text rather than one alternation: each starts
# with a digit, a month name or a fixed word, which the regex engine can skip to quickly
# (one combined pattern was ~10x slower, ~2 ms a note).
_NUMERIC = re.compile(r"(?<![\d/.])(\d{1,4})([-/])(\d{1,4})(?:\2(\d{1,4}))?(?![\d/]|\.\d)")
_DAY_MONTH = re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?[ -]({_MON})\.?,?[ -](\d{{4}})(?!\d)")
_MONTH_FIRST = re.compile(
    rf"(?<![a-z])({_MON})\.?,? (?:(\d{{1,2}})(?:st|nd|rd|th)?(?:,? (\d{{4}}))?|(?:of )?(\d{{4}}))(?![\d]|[:.]\d)")
_YEAR = re.compile(r"(?<![a-z])(?:in|since|during|from|circa|around|until|of) ((?:19|20)\d\d)(?![\d]|[-/]\d)")
_AGO = re.compile(rf"(?<![a-z])({_NUM}) ({_UNIT}) ago(?![a-z])")
_AHEAD = re.compile(rf"(?<![a-z])in ({_NUM}) ({_UNIT})(?![a-z])")
_LAST_WEEKDAY = re.compile(rf"(?<![a-z])(last|this past|past|this|next) ({_WEEKDAY})(?![a-z])")
_LAST_UNIT = re.compile(r"(?<![a-z])(last|next|this|past) (week|month|year)(?![a-z])")
_WORD = re.compile(r"(?<![a-z])(today|yesterday|tomorrow|tonight|last night|this morning|this afternoon)(?![a-z])")
_WEEKDAY_WORDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MIN_YEAR, _MAX_YEAR = 1800, 2999


@dataclass(frozen=True)
class DateMention:
    """A date found in text: character span, the text as written, and its value."""

    start: int
    end: int
    text: str
    value: datetime
    relative: bool = False  # resolved against the note date


def _year(text: str, reference: datetime | None) -> int:
    y = int(text)
    if len(text) == 2:  # two-digit year: the most recent century that is not in the future
        pivot = (reference.year if reference else datetime.now().year) % 100 + 1
        y += 2000 if y <= pivot else 1900
    return y


def _count(text: str) -> int:
    t = text.lower()
    return int(t) if t.isdigit() else _NUMBER_WORDS[t]


def _shift(reference: datetime, n: int, unit: str) -> datetime:
    u = unit.lower().rstrip("s")
    if u == "day":
        return reference + timedelta(days=n)
    if u in ("week", "wk"):
        return reference + timedelta(weeks=n)
    if u in ("month", "mo"):
        return reference + relativedelta(months=n)
    return reference + relativedelta(years=n)


def _month(name: str) -> int:
    return _MONTHS[name.lower().rstrip(".")]


def _weekday(ref: datetime, weekday: int, rel: str) -> datetime:
    """'last Tuesday' is the most recent Tuesday before the note date; 'next Tuesday' the first after it."""
    if rel == "next":
        return ref + timedelta(days=(weekday - ref.weekday() - 1) % 7 + 1)
    if rel == "this":
        return ref + timedelta(days=weekday - ref.weekday())
    return ref - timedelta(days=(ref.weekday() - weekday - 1) % 7 + 1)


def _absolute(low: str, reference: datetime | None) -> list[tuple[int, int, datetime, bool]]:
    out: list[tuple[int, int, datetime | None, bool]] = []
    for m in _NUMERIC.finditer(low):
        a, sep, b, c = m.groups()
        if c is not None:
            if len(a) == 4:  # 2025-03-04
                y, mo, d = int(a), int(b), int(c)
            elif len(c) in (2, 4) and len(a) <= 2:  # 03/04/2025, 3/4/25, 03-04-2025 (month first)
                y, mo, d = _year(c, reference), int(a), int(b)
            else:
                continue
        elif sep == "/" and len(b) == 4 and len(a) <= 2:  # 03/2024
            y, mo, d = int(b), int(a), 1
        else:
            continue  # "5-31", "2/3", "4-6": no year, or not a date
        out.append((m.start(), m.end(), _mk(y, mo, d), False))
    for m in _DAY_MONTH.finditer(low):
        out.append((m.start(), m.end(), _mk(int(m.group(3)), _month(m.group(2)), int(m.group(1))), False))
    for m in _MONTH_FIRST.finditer(low):
        mon, day, year, year_only = m.groups()
        if year_only or year:
            out.append((m.start(), m.end(), _mk(int(year or year_only), _month(mon), int(day or 1)), False))
        elif reference is not None and mon != "may":  # "she may 2..." is a verb
            ref = _day(reference)
            d = _mk(ref.year, _month(mon), int(day))
            if d is not None and d > ref + timedelta(days=31):  # "March 4" in a January note: last March
                d = _mk(d.year - 1, d.month, d.day)
            out.append((m.start(), m.end(), d, True))
    for m in _YEAR.finditer(low):
        out.append((m.start(1), m.end(1), _mk(int(m.group(1)), 1, 1), False))
    return [f for f in out if f[2] is not None]


def _relative(low: str, reference: datetime) -> list[tuple[int, int, datetime, bool]]:
    ref = _day(reference)
    out: list[tuple[int, int, datetime, bool]] = []
    if " ago" in low:
        out += [(m.start(), m.end(), _shift(ref, -_count(m.group(1)), m.group(2)), True) for m in _AGO.finditer(low)]
    out += [(m.start(), m.end(), _shift(ref, _count(m.group(1)), m.group(2)), True) for m in _AHEAD.finditer(low)]
    if any(d in low for d in _WEEKDAY_WORDS):
        out += [(m.start(), m.end(), _weekday(ref, _WEEKDAYS[m.group(2)], m.group(1)), True)
                for m in _LAST_WEEKDAY.finditer(low)]
    for m in _LAST_UNIT.finditer(low):
        rel, unit = m.groups()
        out.append((m.start(), m.end(), ref if rel == "this" else _shift(ref, 1 if rel == "next" else -1, unit), True))
    for m in _WORD.finditer(low):
        out.append((m.start(), m.end(),
                    ref + timedelta(days={"yesterday": -1, "last night": -1, "tomorrow": 1}.get(m.group(1), 0)), True))
    return out


def _day(d: datetime) -> datetime:
    return datetime(d.year, d.month, d.day)


def find_dates(text: str, reference: datetime | None = None) -> list[DateMention]:
    """Every date in ``text``, in order; relative ones only when ``reference`` (the note date) is known.

    Impossible dates (31 February) are skipped, not guessed; where two readings overlap
    the longer wins ("March 4, 2025" over "March 4").
    """
    low = text.lower()
    found = _absolute(low, reference)
    if reference is not None:
        found += _relative(low, reference)
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    out: list[DateMention] = []
    last_end = -1
    for start, end, value, relative in found:
        if start < last_end or not _MIN_YEAR <= value.year <= _MAX_YEAR:
            continue
        out.append(DateMention(start, end, text[start:end], value, relative))
        last_end = end
    return out


def _mk(year: int, month: int, day: int) -> datetime | None:
    """A real calendar date or None (31 February, month 13)."""
    try:
        return datetime(year, month, day)
    except ValueError:
        return None
