"""Clinical events from one note body: what was said, with its value, flags, section and date.

``extract_events`` runs the shared medspaCy pipeline (``pipeline.note_pipeline``) and turns
each target into a ``NoteEvent``:

* value: ``biomarkers.biomarker_result`` for markers, ``values`` for ECOG, stage, smoking,
  lesion size, metastatic site, therapy status;
* flags: ConText (negated, uncertain, historical, hypothetical, family) plus the section's
  own meaning as medspaCy defines it (family history -> family, past medical history ->
  historical, instructions -> hypothetical). A biomarker whose result was read is not
  negated: "negative" is its value, not the absence of the mention;
* a diagnosis said of a relative becomes a ``family_history`` event naming the relative;
* observed_at: the date written in the sentence nearest the mention, else the note date.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from medspacy.context.context import DEFAULT_ATTRIBUTES as CONTEXT_ATTRS
from medspacy.section_detection.sectionizer import DEFAULT_ATTRS as SECTION_ATTRS
from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc

from core.nlp import values
from core.nlp.biomarkers import biomarker_result
from core.nlp.dates import DateMention, find_dates
from core.nlp.pipeline import SectionIndex, process, sentence_index, target_spans
from core.nlp.terms import IGNORE, ConceptType

FLAGS = ("is_negated", "is_uncertain", "is_historical", "is_family", "is_hypothetical")
SNIPPET_MAX = 300  # characters of a sentence kept as the snippet
SKIPPED_SECTIONS = frozenset({"other", "signature"})  # "Service: SURGERY", signature blocks: not clinical statements
_GROUP_SEPARATOR = re.compile(r"^(?:\s*(?:,|/|&|\band\b|\bor\b|\band/or\b)\s*)*\s*$", re.I)
_BIOMARKER = ConceptType.BIOMARKER.upper()


@dataclass(frozen=True)
class NoteEvent:
    """One mention in a note, with character offsets into the text given to ``extract_events`` (+ offset)."""

    concept_type: str
    concept: str
    value_text: str | None
    value_num: float | None
    unit: str | None
    span_start: int
    span_end: int
    snippet: str
    section: str | None
    is_negated: bool
    is_uncertain: bool
    is_historical: bool
    is_family: bool
    is_hypothetical: bool
    observed_at: datetime | None
    date_text: str | None


@dataclass
class _Sentence:
    start: int  # char offsets in the body
    end: int
    text: str


def extract_events(text: str, note_date: datetime | None = None, *, offset: int = 0) -> list[NoteEvent]:
    """Events in ``text`` (a note body), in text order.

    Args:
        text: the note body.
        note_date: date of the note; resolves relative dates and is the default ``observed_at``.
        offset: added to every character offset (the body's position in the whole file).

    Returns:
        One ``NoteEvent`` per kept mention; repeated identical values in one sentence are kept once.
    """
    doc = process(text)
    targets = _targets(doc)
    if not targets:
        return []
    flags_of = _context_flags(doc)
    sections = SectionIndex(doc)
    sent_of = sentence_index(doc)
    sentences = _sentences(doc, text, sent_of)
    dates = find_dates(text, note_date)
    groups = _marker_groups(text, targets, sent_of, sentences)

    events: list[NoteEvent] = []
    seen: set[tuple] = set()
    for i, t in enumerate(targets):
        section = sections.at(t.start)
        if section is not None and (t.start < section.title_end or section.category in SKIPPED_SECTIONS):
            continue  # a header word ("PE:") or a non-clinical block
        sent_no = int(sent_of[t.start])
        flags = dict(flags_of.get((t.start, t.end), _NO_FLAGS))
        ev = _event(text, t, flags, sentences[sent_no], section.category if section else None, groups.get(i), dates,
                    note_date, offset)
        if ev is None:
            continue
        key = (sent_no, ev.concept_type, ev.concept, ev.value_text, ev.value_num, ev.is_negated, ev.is_family)
        if key in seen:
            continue
        seen.add(key)
        events.append(ev)
    return events


@dataclass(frozen=True, slots=True)
class _Target:
    """A matched target with its offsets read once (Span offsets and underscore attributes are slow)."""

    start: int  # tokens
    end: int
    start_char: int
    end_char: int
    label: str
    meta: dict


def _targets(doc: Doc) -> list[_Target]:
    spans = target_spans(doc)
    if not spans:
        return []
    arr = doc.to_array([IDX, LENGTH])
    out = []
    for span in spans:
        meta = span._.target_rule.metadata
        if meta["concept"] == IGNORE:
            continue
        start, end = span.start, span.end
        out.append(_Target(start, end, int(arr[start, 0]), int(arr[end - 1, 0] + arr[end - 1, 1]), span.label_, meta))
    return out


_NO_FLAGS = dict.fromkeys(FLAGS, False)


def _context_flags(doc: Doc) -> dict[tuple[int, int], dict[str, bool]]:
    """ConText's flags per target (token start, end), read from the graph's edges."""
    out: dict[tuple[int, int], dict[str, bool]] = {}
    for target, modifier in doc._.context_graph.edges:
        attrs = CONTEXT_ATTRS.get(modifier.category)
        if attrs:
            out.setdefault((target.start, target.end), dict(_NO_FLAGS)).update(attrs)
    return out


def _sentences(doc: Doc, text: str, sent_of: np.ndarray) -> list[_Sentence]:
    """Sentence character bounds (trailing whitespace excluded), from the token arrays."""
    idx = doc.to_array(IDX)
    firsts = np.flatnonzero(np.diff(sent_of, prepend=-1))
    out = []
    for k, tok in enumerate(firsts):
        start = int(idx[tok])
        end = int(idx[firsts[k + 1]]) if k + 1 < len(firsts) else len(text)
        end = len(text[start:end].rstrip()) + start
        out.append(_Sentence(start, end, text[start:end]))
    return out


def _marker_groups(text: str, targets: list[_Target], sent_of: np.ndarray,
                   sentences: list[_Sentence]) -> dict[int, tuple[str, str]]:
    """For each biomarker target: (text before, text after) its result is read from.

    Markers joined only by separators ("EGFR, ALK and ROS1 negative", "ER/PR positive")
    share the words before the first and after the last; a marker's text after stops at
    the next marker group, and a cue belonging to that next group ("..., negative for ALK")
    is left to it.
    """
    idx = [i for i, t in enumerate(targets) if t.label == _BIOMARKER]
    groups: list[list[int]] = []
    for i in idx:
        if groups:
            prev = targets[groups[-1][-1]]
            same_sentence = sent_of[prev.start] == sent_of[targets[i].start]
            if same_sentence and _GROUP_SEPARATOR.match(text[prev.end_char:targets[i].start_char]):
                groups[-1].append(i)
                continue
        groups.append([i])
    out: dict[int, tuple[str, str]] = {}
    for g, members in enumerate(groups):
        first, last = targets[members[0]], targets[members[-1]]
        sent = sentences[int(sent_of[first.start])]
        lo = sent.start
        if g > 0:
            prev_last = targets[groups[g - 1][-1]]
            if sent_of[prev_last.start] == sent_of[first.start]:
                lo = prev_last.end_char
        hi = sent.end
        if g + 1 < len(groups):
            nxt = targets[groups[g + 1][0]]
            if sent_of[nxt.start] == sent_of[first.start]:
                hi = nxt.start_char
        after = text[last.end_char:hi]
        after = _strip_next_cue(after)
        before = text[lo:first.start_char]
        for i in members:
            out[i] = (before, after)
    return out


_NEXT_CUE = re.compile(r"(?:[,;]\s*|\s+)(?:(?:and|but)\s+)?(?:negative|positive|neg|pos)\s+for\s+(?:\w+\s+){0,2}$"
                       r"|(?:[,;]\s*|\s+)(?:and\s+)?(?:no|without)\s+(?:\w+\s+){0,2}$", re.I)


def _strip_next_cue(after: str) -> str:
    m = _NEXT_CUE.search(after)
    return after[:m.start()] if m else after


def _event(text: str, span: _Target, flags: dict[str, bool], sent: _Sentence, section: str | None,
           marker_window: tuple[str, str] | None, dates: list[DateMention], note_date: datetime | None,
           offset: int) -> NoteEvent | None:
    meta = span.meta
    concept_type = span.label.lower()
    for attr, flag in SECTION_ATTRS.get(section or "", {}).items():
        flags[attr] = flag
    rel_start, rel_end = span.start_char - sent.start, span.end_char - sent.start
    value = _value(concept_type, text, span, sent, flags, marker_window)
    if value is None or (meta["needs_value"] and value.text is None and value.num is None):
        if meta["needs_value"]:
            return None  # "ER" with no result is more likely the emergency room
        value = values.Value()
    if flags["is_family"] and concept_type in (ConceptType.DIAGNOSIS, ConceptType.HISTOLOGY):
        concept_type = ConceptType.FAMILY_HISTORY
        value = values.Value(values.relative(sent.text, rel_start))
    date = _nearest_date(dates, sent, span)
    return NoteEvent(
        concept_type=concept_type, concept=meta["concept"], value_text=value.text, value_num=value.num,
        unit=value.unit, span_start=offset + span.start_char, span_end=offset + span.end_char,
        snippet=_snippet(sent, rel_start, rel_end), section=section, **flags,
        observed_at=date.value if date else note_date, date_text=date.text if date else None)


def _value(concept_type: str, text: str, span: _Target, sent: _Sentence, flags: dict[str, bool],
           marker_window: tuple[str, str] | None) -> values.Value | None:
    """The value stated with a mention (None: nothing found). May clear ``is_negated`` for a read biomarker."""
    meta, concept = span.meta, span.meta["concept"]
    after = text[span.end_char:sent.end]
    rel_start, rel_end = span.start_char - sent.start, span.end_char - sent.start
    if concept_type == ConceptType.BIOMARKER:
        before, after_m = marker_window or (text[sent.start:span.start_char], after)
        result = biomarker_result(concept, before, after_m, meta["implied"])
        if result.value_text is not None:
            flags["is_negated"] = False  # the result carries the polarity
        return None if result.empty else values.Value(result.value_text, result.value_num, result.unit)
    if concept_type == ConceptType.ECOG:
        return values.ecog(after)
    if concept_type == ConceptType.STAGE:
        if concept == "TNM":
            return values.tnm(text[span.start_char:span.end_char])
        return values.stage(after, meta["implied"])
    if concept_type == ConceptType.SMOKING:
        return values.smoking(sent.text)
    if concept_type == ConceptType.IMAGING_FINDING:
        return values.lesion_size(sent.text, rel_start, rel_end)
    if concept_type == ConceptType.METASTASIS:
        return values.Value(values.metastatic_site(sent.text, rel_start, rel_end))
    if concept_type == ConceptType.THERAPY:
        return values.Value("planned" if flags["is_hypothetical"]
                            else values.therapy_status(sent.text, rel_start, rel_end))
    if concept_type == ConceptType.RESPONSE:
        return values.Value(meta["implied"])
    return None


def _nearest_date(dates: list[DateMention], sent: _Sentence, span: _Target) -> DateMention | None:
    best: tuple[int, DateMention] | None = None
    for d in dates:
        if d.end <= sent.start or d.start >= sent.end:
            continue
        dist = span.start_char - d.end if d.end <= span.start_char else max(0, d.start - span.end_char)
        if best is None or dist < best[0]:
            best = (dist, d)
    return best[1] if best else None


def _snippet(sent: _Sentence, start: int, end: int) -> str:
    text = sent.text
    if len(text) > SNIPPET_MAX:  # a run-on "sentence" (a list without punctuation): keep the mention's neighbourhood
        lo = max(0, min(start - SNIPPET_MAX // 2, len(text) - SNIPPET_MAX))
        text = text[lo:lo + SNIPPET_MAX]
    return " ".join(text.split())
