"""build-demo: the synthetic cohort, written as real files and ingested like real data."""
from __future__ import annotations

import argparse

LEAN_ABOVE = 20_000  # larger cohorts are benchmarks: lean files unless --full


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build-demo", help="generate the synthetic cohort (files in TB_DEMO_DIR) and ingest it "
                                          "into a fresh evidence store")
    p.add_argument("--patients", type=int, default=300, help="cohort size (default 300; about 15 are current cases)")
    p.add_argument("--seed", type=int, default=42, help="random seed: same seed, same files and store contents")
    p.add_argument("--no-images", action="store_true", help="skip DICOM pixel files (for large benchmark cohorts)")
    p.add_argument("--lean", action="store_true",
                   help=f"benchmark files: one note per patient, no imaging, grouped FHIR / MAF / labs; same ingest "
                        f"path (the default above {LEAN_ABOVE:,} patients)")
    p.add_argument("--full", action="store_true", help="full files even above the lean threshold")
    p.add_argument("--force", action="store_true", help="replace an existing evidence store")
    p.add_argument("--workers", type=int, default=2, help="processes writing files (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_build_demo)


def cmd_build_demo(args: argparse.Namespace) -> int:
    from core.synth.build import StoreExists, build_demo

    if args.patients < 1:
        print("--patients must be at least 1")
        return 2
    lean = args.lean or (args.patients > LEAN_ABOVE and not args.full)
    if lean and not args.lean:
        print(f"{args.patients:,} patients: writing lean benchmark files (use --full for complete ones)")
    try:
        report = build_demo(args.patients, args.seed, images=not args.no_images, lean=lean, force=args.force,
                            workers=max(1, args.workers), progress=not args.no_progress)
    except StoreExists as e:
        print(f"{e}")
        return 1
    for line in report.lines():
        print(line)
    return 0
