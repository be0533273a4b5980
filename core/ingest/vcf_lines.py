"""VCF text before and while cyvcf2 reads it: the header, a line validator, and a record iterator.

htslib (under cyvcf2) stops a whole file at the first line it cannot parse, so every
data line is checked here first; a bad line becomes an ``IngestError`` naming its line
number and only the good lines are handed on.
"""
from __future__ import annotations

import ctypes
import gzip
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cyvcf2

from core.genomics.annotations import csq_fields
from core.genomics.builds import Build, build_from_vcf_header
from core.ingest.base import IngestContext, IngestError, SourceFile

logger = logging.getLogger(__name__)

FIXED = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
_BASES = re.compile(r"^[ACGTNacgtn]+$")
_ALT = re.compile(r"^(?:[ACGTNacgtn*]+"                              # bases, or * (spanning deletion)
                  r"|<[^<>\s]+>|\."                                  # symbolic allele, or no ALT
                  r"|[ACGTNacgtn]*[\[\]][^\s]+[\[\]][ACGTNacgtn]*"   # breakend
                  r"|\.[ACGTNacgtn]+|[ACGTNacgtn]+\.)$")               # single breakend
_GT = re.compile(r"^(?:\.|\d+)(?:[/|](?:\.|\d+))*$")
_INT = re.compile(r"^(?:\.|[+-]?\d+)$")
_FLOAT = re.compile(r"^(?:\.|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|nan|Inf|NaN|INF|NAN))$")
_META = re.compile(r"^##([A-Za-z0-9_.-]+)=(.*)$")


@dataclass
class VcfHeader:
    meta: list[str]
    chrom_line: int                  # 1-based line number of '#CHROM'
    samples: list[str]
    format_types: dict[str, str]     # FORMAT ID -> Type
    info_ids: set[str]
    csq_fields: list[str] = field(default_factory=list)
    build: Build | None = None
    build_how: str | None = None
    extras: dict[str, tuple[int, str]] = field(default_factory=dict)  # tmb / msi_status / msi_score -> (line, value)

    @property
    def annotation(self) -> str | None:
        """Which annotation INFO field to read: ANN, then CSQ, then legacy EFF."""
        for key in ("ANN", "CSQ", "EFF"):
            if key in self.info_ids:
                return key
        return None


def read_lines(path: Path) -> list[str]:
    """The file's lines without line ends (gzip / bgzip handled)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:  # type: ignore[operator]
        return fh.read().splitlines()


def _attr(line: str, key: str) -> str | None:
    m = re.search(rf"[<,]{key}=(\"(?:[^\"\\]|\\.)*\"|[^,>]+)", line)
    return m.group(1).strip('"') if m else None


def parse_header(lines: list[str], src: SourceFile) -> VcfHeader:
    """Meta lines, samples and the facts the ingester needs from them.

    Raises:
        IngestError: no '##fileformat=VCF' first line, or no valid '#CHROM' header line.
    """
    if not lines or not lines[0].startswith("##fileformat=VCF"):
        raise IngestError(src.uri, "line 1", "not a VCF: the first line must be ##fileformat=VCFv4.x")
    meta: list[str] = []
    format_types: dict[str, str] = {}
    info_ids: set[str] = set()
    csq: list[str] = []
    extras: dict[str, tuple[int, str]] = {}
    for i, line in enumerate(lines):
        if line.startswith("##"):
            meta.append(line)
            if line.startswith("##FORMAT=<"):
                fid = _attr(line, "ID")
                if fid:
                    format_types[fid] = _attr(line, "Type") or "String"
            elif line.startswith("##INFO=<"):
                iid = _attr(line, "ID")
                if iid:
                    info_ids.add(iid)
                    if iid == "CSQ":
                        csq = csq_fields(_attr(line, "Description") or "")
            else:
                m = _META.match(line)
                if m and m.group(1).lower() in ("tmb", "msi_status", "msi_score", "msi"):
                    extras[m.group(1).lower()] = (i + 1, m.group(2).strip())
            continue
        if line.startswith("#CHROM"):
            cols = line.split("\t")
            if tuple(cols[:8]) != FIXED or (len(cols) > 8 and cols[8] != "FORMAT"):
                raise IngestError(src.uri, f"line {i + 1}", "header line must be tab-separated "
                                  "#CHROM POS ID REF ALT QUAL FILTER INFO [FORMAT samples]")
            build, how = build_from_vcf_header(meta)
            return VcfHeader(meta, i + 1, cols[9:], format_types, info_ids, csq, build, how, extras)
        raise IngestError(src.uri, f"line {i + 1}", "expected a ## meta line or the #CHROM header line")
    raise IngestError(src.uri, f"line {len(lines)}", "no #CHROM header line")


def check_line(line: str, header: VcfHeader) -> str | None:
    """Why this data line cannot be read (a short PHI-free reason), or None when it is well-formed."""
    cols = line.split("\t")
    n_expected = 8 + (1 + len(header.samples) if header.samples else 0)
    if len(cols) != n_expected and not (not header.samples and len(cols) == 9):
        return f"expected {n_expected} tab-separated columns, found {len(cols)}"
    chrom, pos, _id, ref, alt, qual = cols[:6]
    if not chrom or " " in chrom:
        return "empty or malformed CHROM"
    if not pos.isdigit() or int(pos) < 1:
        return "POS is not a positive integer"
    if not _BASES.match(ref):
        return "REF is not a base string (A, C, G, T, N)"
    if not all(_ALT.match(a) for a in alt.split(",")):
        return "ALT is not a base string, symbolic allele (<DEL>) or breakend"
    if qual != "." and not _FLOAT.match(qual):
        return "QUAL is not a number or '.'"
    if header.samples:
        keys = cols[8].split(":")
        for si, value in enumerate(cols[9:]):
            parts = value.split(":")
            if len(parts) > len(keys):
                return f"sample column {si + 1} has more fields than FORMAT"
            for key, v in zip(keys, parts):
                if key == "GT":
                    if not _GT.match(v):
                        return f"sample column {si + 1}: malformed GT"
                    continue
                typ = header.format_types.get(key)
                if typ in ("Integer", "Float"):
                    pattern = _INT if typ == "Integer" else _FLOAT
                    if not all(pattern.match(x) for x in v.split(",")):
                        return f"sample column {si + 1}: {key} is not {typ}"
    return None


@contextmanager
def htslib_quiet() -> Iterator[None]:
    """Silence htslib's stderr messages while we parse (our own errors say what and where)."""
    try:
        import cyvcf2.cyvcf2 as _ext

        lib = ctypes.CDLL(_ext.__file__)
        getter, setter = lib.hts_get_log_level, lib.hts_set_log_level
    except (OSError, AttributeError):
        logger.debug("cannot reach hts_set_log_level; htslib messages stay on stderr")
        yield
        return
    before = getter()
    setter(0)
    try:
        yield
    finally:
        setter(before)


def records(ctx: IngestContext, src: SourceFile, lines: list[str], header: VcfHeader, good: list[int],
             clean: bool) -> Iterator[tuple[int, cyvcf2.Variant]]:
    """(1-based line number, record) for every good line; a line htslib still rejects becomes an error.

    Raises:
        IngestError: htslib cannot read the header at all.
    """
    remaining = good
    while remaining:
        path = src.path if clean else _write_temp(lines, header, remaining)
        done = 0
        try:
            with htslib_quiet():
                try:
                    reader = cyvcf2.VCF(str(path))  # lazy=True segfaults on .FORMAT then .genotypes (cyvcf2 0.35)
                except Exception as e:
                    raise IngestError(src.uri, f"line {header.chrom_line}",
                                      "htslib cannot read this VCF header") from e
                stopped = False
                try:
                    it = iter(reader)
                    while True:
                        try:
                            rec = next(it)
                        except StopIteration:
                            break
                        except Exception:  # htslib gives no detail: the line it stopped at is at fault
                            logger.debug("cyvcf2 stopped at line %d", remaining[done] + 1, exc_info=True)
                            stopped = True
                            break
                        yield remaining[done] + 1, rec
                        done += 1
                finally:
                    reader.close()
        finally:
            if not clean:
                os.unlink(path)
        if not stopped:
            return
        ctx.error(src, IngestError(src.uri, f"line {remaining[done] + 1}", "htslib cannot parse this record",
                                   error_type="MalformedVcfLine"))
        remaining = remaining[done + 1:]
        clean = False


def _write_temp(lines: list[str], header: VcfHeader, keep: list[int]) -> Path:
    fd, name = tempfile.mkstemp(suffix=".vcf", prefix="tb-vcf-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines[: header.chrom_line]))
        fh.write("\n")
        for i in keep:
            fh.write(lines[i])
            fh.write("\n")
    return Path(name)
