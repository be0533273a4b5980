"""Clinical NLP for notes: one cached medspaCy pipeline, oncology rules, dates and result readers."""
from core.nlp.events import NoteEvent, extract_events

__all__ = ["NoteEvent", "extract_events"]
