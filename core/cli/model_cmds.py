"""Model commands: train-encoder, embed (image encoder) and train, evaluate, score (fusion model)."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    _register_encoder(sub)
    _register_fusion(sub)


# ---- image encoder (core/imaging) -------------------------------------------------------------

def _register_encoder(sub: argparse._SubParsersAction) -> None:
    import core.imaging.build_step  # noqa: F401  (registers the build-demo embedding step, before the fusion model's)
    from core.imaging.training_plan import DEFAULT_TRAINING as d

    p = sub.add_parser("train-encoder", help="generate CT training studies, train the image encoder and write "
                                             "data/models/encoder-<version>.pt + .json (registered at the next embed)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--studies", type=int, default=d.n_studies, help=f"generated CT studies (5 slices each; default {d.n_studies})")
    p.add_argument("--detector-epochs", type=int, default=d.detector_epochs)
    p.add_argument("--descriptor-epochs", type=int, default=d.descriptor_epochs)
    p.add_argument("--version", default="v1", help="weights version (file encoder-<version>.pt under TB_MODELS_DIR)")
    p.add_argument("--data-dir", type=Path, default=None, help="keep the generated training DICOM files here")
    p.set_defaults(func=cmd_train_encoder)

    p = sub.add_parser("embed", help="store one image-encoder embedding per imaging series (new store version)")
    p.add_argument("--weights", type=Path, default=None, help="encoder weights (default data/models/encoder-v1.pt)")
    p.add_argument("--series", action="append", default=None, help="only this series UID (repeatable)")
    p.set_defaults(func=cmd_embed)


def cmd_train_encoder(args: argparse.Namespace) -> int:
    import torch

    from core.config import path_setting
    from core.imaging.train_encoder import train_and_save
    from core.imaging.training_plan import TrainingPlan

    torch.set_num_threads(2)
    plan = TrainingPlan(seed=args.seed, n_studies=args.studies, detector_epochs=args.detector_epochs,
                        descriptor_epochs=args.descriptor_epochs)
    weights = path_setting("models_dir") / f"encoder-{args.version}.pt"
    meta = train_and_save(weights, plan, data_dir=args.data_dir, progress=print)
    print(f"wrote {weights} ({weights.stat().st_size / 1e6:.2f} MB) and {weights.with_suffix('.json').name}")
    print(f"  training data hash {meta.training_data_hash}")
    print(f"  trained in {meta.train_seconds:.1f} s wall ({meta.metrics.get('train_cpu_seconds', 0):.0f} s CPU) on "
          f"{torch.get_num_threads()} threads; held-out metrics:")
    for k, v in sorted(meta.metrics.items()):
        print(f"    {k:<28} {v}")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    import torch

    from core.imaging.embed import embed_series
    from core.imaging.encoder import default_weights_path
    from core.store import db

    torch.set_num_threads(2)
    weights = args.weights or default_weights_path()
    with db.evidence_writer() as con:
        summary = embed_series(con, weights=weights, series_uids=args.series)
    print(summary.line())
    for e in summary.errors[:20]:
        print(f"  ERROR {e}")
    return 0


# ---- fusion model (core/models): the fusion-model helper's commands ------------------------------

def _register_fusion(sub: argparse._SubParsersAction) -> None:
    try:
        from core.models.cli import add_commands
    except ModuleNotFoundError as e:
        if e.name != "core.models.cli":
            raise
        return
    add_commands(sub)
