"""The fusion model's commands (train, score, evaluate) and its build-demo step.

``core/cli/model_cmds.py`` calls ``add_commands(sub)``, which also registers
``train_and_score`` as a build-demo post-build step (after the encoder's embedding step).
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import duckdb

from core.config import PROJECT_ROOT, path_setting

logger = logging.getLogger(__name__)

DEFAULT_REPORT_DIR = PROJECT_ROOT / "data" / "reports"


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the calibrated late-fusion risk model on the historical cohort and "
                                     "register it (new store version; artifact under TB_MODELS_DIR/fusion)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--members", type=int, default=8, help="bootstrap members per modality for the interval")
    p.add_argument("--cv-folds", type=int, default=5, help="folds of the CV estimate stored in the registry (0: skip)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("score", help="store predictions, SHAP, ablations, review triggers and discrepancies "
                                     "for the board cases (new store version)")
    p.add_argument("--patient", action="append", default=None, help="score these patients instead (repeatable)")
    p.add_argument("--all", action="store_true", help="score every patient")
    p.add_argument("--version", default=None, help="model version (default: newest registered)")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("evaluate", help="cross-validated evaluation report (AUROC CI, calibration, modality "
                                        "subsets, subgroups, discrepancy precision/recall); exit code 3 when "
                                        "the multimodal model does not beat the best single modality")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=DEFAULT_REPORT_DIR, help="folder for evaluation.md/.json")
    p.add_argument("--truth", type=Path, default=None, help="generator truth folder (default TB_DEMO_DIR/truth)")
    p.add_argument("--compare-fusion", action="store_true",
                   help="also evaluate early, intermediate and attention fusion on the same folds")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs")
    p.set_defaults(func=cmd_evaluate)
    register_post_build()  # build-demo (same CLI) then trains and scores after the encoder's embedding step


def cmd_train(args: argparse.Namespace) -> int:
    from core.models.train import train_and_register
    from core.store import db

    t = time.perf_counter()
    with db.evidence_writer() as con:
        res = train_and_register(con, seed=args.seed, n_members=args.members, cv_folds=args.cv_folds)
    m = res.entry.metrics
    print(f"trained {res.entry.model_id} version {res.entry.version} on {m['n_train']} patients "
          f"({m['n_events']} events) in {time.perf_counter() - t:.1f} s")
    cv = m.get("cross_validated")
    if cv and "auroc" in cv:
        print(f"  {cv['folds']}-fold CV AUROC {cv['auroc']:.3f} ({cv['auroc_low']:.3f}-{cv['auroc_high']:.3f}), "
              f"Brier {cv['brier']:.3f}, ECE {cv['ece']:.3f}")
    print(f"  artifact: {path_setting('models_dir') / res.entry.artifact_path}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from core.models.registry import load_model
    from core.models.score import score_and_write
    from core.store import db
    from core.store.queries import frame

    with db.evidence_writer() as con:
        model, entry = load_model(con, args.version)
        ids = None
        if args.all:
            ids = frame(con, "SELECT patient_id FROM patients ORDER BY 1")["patient_id"].to_list()
        elif args.patient:
            ids = list(args.patient)
        out = score_and_write(con, model, entry, ids)
    print(f"scored {out.predictions.height} patients with {entry.model_id} {entry.version}: "
          f"{out.attributions.height} attributions, {out.ablations.height} ablation rows, "
          f"{out.review_triggers.height} review triggers, {out.discrepancies.height} discrepancies in the store")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core.models.evaluate import (STRATEGIES, build_report, cross_validate, discrepancy_evaluation,
                                      render_markdown, write_report)
    from core.models.registry import get_entry
    from core.models.train import labelled_cohort
    from core.store import db

    from core.models.features import FIT_PROJECTION

    con = db.connect_readonly()
    try:
        entry_d = None
        entry = get_entry(con)
        if entry is not None:
            entry_d = {"model_id": entry.model_id, "version": entry.version,
                       "training_data_hash": entry.training_data_hash}
        # the training procedure is evaluated, so the embedding projection is refit as training would
        cohort = labelled_cohort(con, FIT_PROJECTION)
        strategies = tuple(STRATEGIES) if args.compare_fusion else ("late",)
        t = time.perf_counter()
        cv = cross_validate(cohort, folds=args.folds, seed=args.seed, strategies=strategies)
        truth = args.truth or (path_setting("demo_dir") / "truth")
        disc = discrepancy_evaluation(con, truth)
        report = build_report(cv, entry=entry_d, discrepancy_eval=disc, n_boot=args.bootstrap)
        report["seconds"] = round(time.perf_counter() - t, 1)
        report["store"] = {"version": db.current_version(),
                           "patients": con.execute("SELECT count(*) FROM patients").fetchone()[0],
                           "image_embeddings": con.execute("SELECT count(*) FROM image_embeddings").fetchone()[0]}
        report |= _faithfulness(con, truth, entry is not None)
    finally:
        con.close()
    paths = write_report(report, args.out)
    print(render_markdown(report))
    print("written: " + ", ".join(str(p) for p in paths))
    comp = report.get("multimodal_vs_best_single") or {}
    return 0 if comp.get("multimodal_beats_best_single", True) else 3


def _faithfulness(con: duckdb.DuckDBPyConnection, truth: Path, has_model: bool) -> dict:
    from core.models.faithfulness import modality_faithfulness
    from core.models.registry import load_model

    if not has_model:
        return {}
    model, _ = load_model(con)
    return {"explanation_faithfulness": modality_faithfulness(con, model, truth)}


# ---- build-demo step ------------------------------------------------------------------------------

def train_and_score(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> None:
    """build-demo post-build step: train, register and score the board cases in the build's store.

    A cohort too small to train on (tiny test builds) is logged and skipped, never fatal.
    """
    from core.models.score import score_and_write
    from core.models.train import train_and_register

    seed = int(getattr(args, "seed", 0) or 0)
    try:
        res = train_and_register(con, seed=seed, cv_folds=5)
    except ValueError as e:
        logger.warning("fusion model not trained: %s", e)
        return
    score_and_write(con, res.model, res.entry)


def register_post_build() -> None:
    """Append ``train_and_score`` to build-demo's post-build steps once."""
    try:
        from core.synth.build import POST_BUILD_STEPS
    except ModuleNotFoundError:  # generator not installed in this checkout
        return
    if train_and_score not in POST_BUILD_STEPS:
        POST_BUILD_STEPS.append(train_and_score)
