"""A source file is ingested from the very bytes its sha256 was taken of."""
from __future__ import annotations

import hashlib

from core.ingest import base
from core.ingest.base import SourceFile


def test_bytes_read_are_the_bytes_hashed_even_if_the_file_changes(tmp_path):
    f = tmp_path / "note.txt"
    f.write_bytes(b"MRN: 1\n---\nfirst version\n")
    src = SourceFile.from_path(f)
    f.write_bytes(b"MRN: 1\n---\nrewritten after hashing\n")
    assert src.read_bytes() == b"MRN: 1\n---\nfirst version\n"
    assert hashlib.sha256(src.read_bytes()).hexdigest() == src.sha256


def test_large_files_are_read_again_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(base, "KEEP_BYTES_MAX", 10)
    f = tmp_path / "big.vcf"
    f.write_bytes(b"x" * 11)
    src = SourceFile.from_path(f)
    assert src.data is None and src.read_bytes() == b"x" * 11 and src.size_bytes == 11
    assert "data" not in repr(src)
