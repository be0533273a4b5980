"""Genomics knowledge and rules: builds, hotspots, consequence vocabularies, actionability, gene status.

Nothing here reads a VCF or MAF; ``core/ingest/vcf.py`` and ``core/ingest/maf.py`` do, and
call these pure functions so both formats produce the same ``variants`` rows.
"""
