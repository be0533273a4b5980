"""The one medspaCy pipeline for clinical notes, built once per process.

Components, in order:
    tokenizer              spaCy's English rules without the dotted abbreviations ("Dr.", "a.m."):
                           any special case containing punctuation switches spaCy to a matcher pass that
                           made tokenising a 2 KB note ~40x slower; sentences handle abbreviations instead.
    note_sectionizer       medspaCy's Sectionizer (packaged + oncology headers, header must start a line),
                           without its per-token bookkeeping (~4 µs a token).
    note_sentencizer       rule sentence splitter over the raw text (punctuation, blank lines, list items,
                           header lines); PyRuSH is accurate but far too slow for the throughput target.
    medspacy_target_matcher  the ``rules.TERMS`` targets, into the span group ``TARGETS``.
    note_exact_targets     the exact-spelling and TNM targets, into the same group.
    note_context           medspaCy's ConText with ``rules.context_rules()`` over that group, one
                           sentence at a time.
"""
from __future__ import annotations

import bisect
import functools
import logging
import re
import warnings

import numpy as np
import spacy
from medspacy.context import ConText
from medspacy.context.context_graph import ConTextGraph
from medspacy.context.context_modifier import ConTextModifier
from medspacy.section_detection import Sectionizer
from medspacy.section_detection.section import Section
from spacy.attrs import IDX, SENT_START
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import compile_infix_regex, compile_suffix_regex

from core.nlp import rules

logger = logging.getLogger(__name__)

TARGETS = "note_targets"  # span group holding the matched targets
# doc.user_data caches: Doc.text re-joins every token on each access, a SpanGroup rebuilds its Spans on each read
_TEXT_KEY = "note_text"
_SPANS_KEY = "note_target_spans"


def target_spans(doc: Doc) -> list[Span]:
    """The targets of ``TARGETS`` as Span objects, built once per doc."""
    spans = doc.user_data.get(_SPANS_KEY)
    if spans is None:
        spans = doc.user_data[_SPANS_KEY] = list(doc.spans[TARGETS]) if TARGETS in doc.spans else []
    return spans


def prune_longest(matches: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Keep the longest of overlapping (id, start, end) matches, leftmost first on ties; sorted by start.

    Does what medspaCy's ``prune_overlapping_matches`` does, in one pass instead of its
    recursive pairwise one (~1 ms a note across the three matchers).
    """
    if len(matches) < 2:
        return list(matches)
    taken = bytearray(max(m[2] for m in matches))
    keep = []
    for m in sorted(matches, key=lambda m: (m[1] - m[2], m[1])):
        if any(taken[m[1]:m[2]]):
            continue
        taken[m[1]:m[2]] = b"\x01" * (m[2] - m[1])
        keep.append(m)
    keep.sort(key=lambda m: (m[1], m[2]))
    return keep


def doc_text(doc: Doc) -> str:
    """The doc's text, computed once per doc."""
    text = doc.user_data.get(_TEXT_KEY)
    if text is None:
        text = doc.user_data[_TEXT_KEY] = doc.text
    return text


# ---- sentences ----------------------------------------------------------------------------------------------------
# Words that end with a period without ending the sentence (units are left out: "measuring 3 cm. The...").
_ABBREVIATIONS = frozenset(
    "dr mr mrs ms mx prof st vs etc approx appt dept fig e.g i.e a.m p.m pt pts yo y.o inc jr sr est dob "
    "q.d b.i.d t.i.d q.i.d p.o".split())
_SENT_END = re.compile(r"([.!?;])[\"')\]]*\s+(?=\S)")
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n\s*(?=\S)")
_LINE = re.compile(r"\n[ \t]*(?=\S)")
_LIST_ITEM = re.compile(r"(?:\d{1,2}[.)]|[-*\u2022#])\s")
_HEADER_LINE = re.compile(r"[A-Z][A-Za-z/&() -]{1,60}:")
_LAST_WORD = re.compile(r"(\S+?)[.!?;]?$")
_SHORT_LINE = 45  # a line this short without final punctuation ends its item ("Type 2 DM\nPancreatitis")...
_VERY_SHORT_LINE = 30  # ...unless the next starts lower-case, which only this short a line always ends ("HTN\nh/o")


def sentence_starts(text: str) -> list[int]:
    """Character offsets where sentences start (the first is 0 when the text starts with a non-space).

    Splits after ``. ! ? ;`` followed by space (not after a known abbreviation or a one-letter
    initial), at blank lines, before list items and ``Header:`` lines, and after short lines
    without final punctuation; a single line break inside wrapped prose does not split.
    """
    starts: set[int] = set()
    for m in _SENT_END.finditer(text):
        if m.group(1) == ".":
            word = _LAST_WORD.search(text, max(0, m.start(1) - 12), m.start(1) + 1)
            w = (word.group(1) if word else "").lower().lstrip("([")
            if w in _ABBREVIATIONS or (len(w) == 1 and w.isalpha()) or text[m.end()].islower():
                continue
            if w.isdigit() and not text[text.rfind("\n", 0, m.start(1)) + 1:m.start(1) - len(w)].strip():
                continue  # "1. Colon cancer...": a list number, not a sentence
        starts.add(m.end())
    for m in _BLANK_LINE.finditer(text):
        starts.add(m.end())
    for m in _LINE.finditer(text):
        pos = m.end()
        line_start = text.rfind("\n", 0, m.start()) + 1
        prev = text[line_start:m.start()].rstrip()
        if (not prev or prev[-1] in ".:;!?" or _LIST_ITEM.match(text, pos) or _HEADER_LINE.match(text, pos)
                or (len(prev) <= _SHORT_LINE and prev[-1] not in ",-/("
                    and (len(prev) <= _VERY_SHORT_LINE or not text[pos].islower()))):
            starts.add(pos)
    return sorted(starts)


@Language.component("note_sentencizer")
def note_sentencizer(doc: Doc) -> Doc:
    """Mark sentence starts found by ``sentence_starts`` (and section title bounds) in one array write.

    Setting ``Token.is_sent_start`` one token at a time rescans the doc on every call.
    """
    n = len(doc)
    if n == 0:
        return doc
    token_starts = doc.to_array(IDX)
    flags = np.full(n, -1, dtype=np.int64)  # spaCy's SENT_START: 1 starts a sentence, -1 does not
    flags[0] = 1
    offsets = np.asarray(sentence_starts(doc_text(doc)), dtype=np.int64)
    if offsets.size:
        idx = np.searchsorted(token_starts, offsets, side="right") - 1  # token holding each offset
        flags[idx[idx > 0]] = 1
    for section in doc._.sections:  # headers are sentences of their own (filled by note_sectionizer)
        if section.category is not None:
            flags[section.title_start] = 1
            if section.title_end < n:
                flags[section.title_end] = 1
    doc.from_array([SENT_START], flags.astype(np.uint64).reshape(-1, 1))
    return doc


def sentence_index(doc: Doc) -> np.ndarray:
    """For each token, the number of its sentence (0-based)."""
    return np.cumsum(doc.to_array(SENT_START) == 1) - 1


# ---- sections -------------------------------------------------------------------------------------------------------
class NoteSectionizer(Sectionizer):
    """medspaCy's Sectionizer keeping only ``doc._.sections`` (no per-token attributes).

    Runs before ``note_sentencizer``, which makes each header a sentence of its own so that
    "Family History: Mother had..." gives ConText a sentence without the header words.
    """

    def __call__(self, doc: Doc) -> Doc:
        matches = self._Sectionizer__matcher(doc)  # the parent's rule matcher (name-mangled private attribute)
        if self.require_start_line:
            matches = self.filter_start_lines(doc, matches)
        strings = self.nlp.vocab.strings
        rule_map = self._Sectionizer__matcher.rule_map
        sections: list[Section] = []
        if not matches or matches[0][1] != 0:
            sections.append(Section(None, 0, 0, 0, matches[0][1] if matches else len(doc)))
        for i, (match_id, start, end) in enumerate(matches):
            rule = rule_map[strings[match_id]]
            next_start = matches[i + 1][1] if i + 1 < len(matches) else len(doc)
            sections.append(Section(rule.category, start, end, end, next_start, None, rule))
        doc._.sections = sections
        return doc


@Language.factory("note_sectionizer", default_config={"require_start_line": True})
def make_note_sectionizer(nlp: Language, name: str, require_start_line: bool) -> NoteSectionizer:
    sectionizer = NoteSectionizer(nlp, name=name, rules=None, require_start_line=require_start_line,
                                  span_attrs=None)
    sectionizer.add(rules.section_rules())
    return sectionizer


class SectionIndex:
    """Finds the section holding a token (``doc._.sections`` is ordered by start)."""

    def __init__(self, doc: Doc) -> None:
        self.sections: list[Section] = doc._.sections
        self.starts = [s.title_start for s in self.sections]

    def at(self, token_index: int) -> Section | None:
        i = bisect.bisect_right(self.starts, token_index) - 1
        return self.sections[i] if i >= 0 else None


# ---- exact-spelling targets ------------------------------------------------------------------------------------------
@Language.factory("note_exact_targets")
def make_exact_targets(nlp: Language, name: str) -> ExactTargets:
    return ExactTargets()


class ExactTargets:
    """Adds the exact-spelling and TNM targets (``rules.exact_rules``) to the phrase targets, then keeps
    the longest of overlapping targets (the TargetMatcher runs unpruned so that both kinds compete).
    """

    def __init__(self) -> None:
        self.patterns = rules.exact_rules()

    def __call__(self, doc: Doc) -> Doc:
        spans = {(s.start, s.end): s for s in (doc.spans[TARGETS] if TARGETS in doc.spans else [])}
        text = doc_text(doc)
        for regex, rule_or_map in self.patterns:
            for m in regex.finditer(text):
                span = doc.char_span(m.start(), m.end())
                if span is None or (span.start, span.end) in spans:
                    continue
                rule = rule_or_map[m.group()] if isinstance(rule_or_map, dict) else rule_or_map
                span = Span(doc, span.start, span.end, label=rule.category)
                span._.target_rule = rule
                spans[(span.start, span.end)] = span
        kept = [spans[(m[1], m[2])] for m in prune_longest([(0, a, b) for a, b in spans])]
        doc.spans[TARGETS] = kept
        doc.user_data[_SPANS_KEY] = kept
        return doc


# ---- ConText ------------------------------------------------------------------------------------------------------
class NoteContext(ConText):
    """medspaCy's ConText, with target/modifier pairs checked sentence by sentence.

    Without a ``max_scope`` a modifier's scope never leaves its sentence, so building one
    ConTextGraph per sentence gives the same edges as the packaged whole-document graph,
    which checks every modifier against every target of the note (quadratic, ~3 ms a note).
    """

    def __call__(self, doc: Doc, targets: str | None = None) -> Doc:
        spans = target_spans(doc) if self.span_group_name == TARGETS else list(doc.spans[self.span_group_name])
        matcher = self._ConText__matcher  # the parent's modifier matcher (name-mangled private attribute)
        sent_of = sentence_index(doc)
        bounds = np.flatnonzero(np.diff(sent_of, prepend=-1, append=sent_of[-1] + 1) if len(doc) else [])
        targets_by_sent: dict[int, list[Span]] = {}
        for span in spans:
            targets_by_sent.setdefault(int(sent_of[span.start]), []).append(span)
        modifiers_by_sent: dict[int, list[ConTextModifier]] = {}
        all_modifiers: list[ConTextModifier] = []
        for match_id, start, end in prune_longest(matcher(doc)):  # matcher built unpruned: see prune_longest
            sent = int(sent_of[start])
            if sent not in targets_by_sent:
                continue  # nothing to modify in that sentence
            rule = matcher.rule_map[self.nlp.vocab[match_id].text]
            scope = (None, None) if self.max_scope else _scope(rule, start, end, int(bounds[sent]),
                                                               int(bounds[sent + 1]))
            modifier = ConTextModifier(rule, start, end, doc, scope_start=scope[0], scope_end=scope[1],
                                       max_scope=self.max_scope)
            modifiers_by_sent.setdefault(sent, []).append(modifier)
            all_modifiers.append(modifier)
        edges = []
        for sent, modifiers in modifiers_by_sent.items():
            graph = ConTextGraph(prune_on_modifier_overlap=self.prune_on_target_overlap)  # as the parent does
            graph.targets = targets_by_sent[sent]
            graph.modifiers = modifiers
            graph.update_scopes()
            graph.apply_modifiers()
            edges.extend(graph.edges)
        for target, modifier in edges:
            target._.modifiers += (modifier,)
        if self.context_attributes_mapping:
            self.set_context_attributes(edges)
        whole = ConTextGraph(prune_on_modifier_overlap=self.prune_on_target_overlap)
        whole.targets, whole.modifiers, whole.edges = spans, all_modifiers, edges
        doc._.context_graph = whole
        return doc


def _scope(rule, start: int, end: int, sent_start: int, sent_end: int) -> tuple[int, int]:
    """A modifier's scope inside its sentence, as ConTextModifier computes it (without its Token.sent lookup)."""
    limit = rule.max_scope
    direction = rule.direction.lower()
    if direction == "forward":
        return end, min(sent_end, end + limit) if limit else sent_end
    if direction == "backward":
        return max(sent_start, start - limit) if limit else sent_start, start
    if limit:
        return max(sent_start, start - limit), min(sent_end, end + limit)
    return sent_start, sent_end


@Language.factory("note_context", default_config={"span_group_name": "note_targets"})
def make_note_context(nlp: Language, name: str, span_group_name: str) -> NoteContext:
    context = NoteContext(nlp, name=name, rules=None, input_span_type="group", span_group_name=span_group_name,
                          prune_on_modifier_overlap=False)  # pruned in __call__, faster
    context.add(rules.context_rules())
    return context


# ---- the pipeline ---------------------------------------------------------------------------------------------------
def _tokenizer(nlp: Language) -> None:
    """Keep only letter/apostrophe special cases; split "ER+/PR+/HER2-" into markers and signs."""
    tok = nlp.tokenizer
    tok.rules = {k: v for k, v in tok.rules.items() if re.fullmatch(r"[A-Za-z']+", k)}
    infixes = [*nlp.Defaults.infixes, r"(?<=[A-Za-z0-9+\-])/(?=[A-Za-z0-9])", r"(?<=[A-Za-z0-9])[+\-](?=/)"]
    tok.infix_finditer = compile_infix_regex(infixes).finditer
    suffixes = [*nlp.Defaults.suffixes, r"(?<=[A-Za-z0-9])[+\-]"]
    tok.suffix_search = compile_suffix_regex(suffixes).search


@functools.lru_cache(maxsize=1)
def note_pipeline() -> Language:
    """The shared pipeline (built on first use, ~1 s; reused for every note in the process)."""
    nlp = spacy.blank("en")
    _tokenizer(nlp)
    nlp.add_pipe("note_sectionizer")
    nlp.add_pipe("note_sentencizer")
    # targets go to a span group: assigning doc.ents one span at a time rescans the doc for each span
    matcher = nlp.add_pipe("medspacy_target_matcher", config={"result_type": "group", "span_group_name": TARGETS,
                                                               "prune": False})  # note_exact_targets prunes
    matcher.add(rules.target_rules())
    nlp.add_pipe("note_exact_targets")
    nlp.add_pipe("note_context", config={"span_group_name": TARGETS})
    logger.debug("note pipeline built: %s", nlp.pipe_names)
    return nlp


def process(text: str) -> Doc:
    """Run the shared pipeline over one text."""
    nlp = note_pipeline()
    doc = nlp.make_doc(text)
    doc.user_data[_TEXT_KEY] = text
    with warnings.catch_warnings():
        # medspaCy's matchers always call their (empty) token Matcher, which warns W036 on every doc
        warnings.filterwarnings("ignore", message=r"\[W036\]")
        for _, component in nlp.pipeline:
            doc = component(doc)
    return doc
