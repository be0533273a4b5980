"""build-demo hook: store encoder embeddings for every demo series right after ingest.

Importing this module registers ``embed_after_build`` at the front of
``core.synth.build.POST_BUILD_STEPS`` (model training and similar-case indexing read
the embeddings, so they must run after it). Heavy imports (torch) happen only when
the step runs.
"""
from __future__ import annotations

import argparse
import logging

import duckdb

from core.config import setting

logger = logging.getLogger(__name__)


def embed_after_build(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> None:
    """Embed every imaging series of the freshly built store (trains the encoder first if its weights are missing)."""
    import torch

    from core.imaging.embed import embed_series
    from core.imaging.encoder import default_weights_path

    if not getattr(args, "images", True):
        logger.info("demo built without DICOM pixels: no image embeddings")
        return
    torch.set_num_threads(2)
    weights = default_weights_path()
    if not weights.exists():
        if setting("train_encoder_if_missing") != "1":
            logger.warning("no encoder weights at %s and TB_TRAIN_ENCODER_IF_MISSING=0: demo built without image "
                           "embeddings (models fall back to lesion measurements)", weights)
            return
        from core.imaging.train_encoder import train_default
        from core.imaging.training_plan import DEFAULT_TRAINING

        logger.warning("no encoder weights at %s: training them now (%s)", weights, DEFAULT_TRAINING.command)
        train_default(weights)
    embed_series(con, weights=weights)


def register_post_build() -> None:
    """Put ``embed_after_build`` first in the build-demo post-build steps (idempotent)."""
    try:
        from core.synth.build import POST_BUILD_STEPS
    except ModuleNotFoundError as e:  # generator not in this checkout
        if e.name != "core.synth.build":
            raise
        return
    if embed_after_build not in POST_BUILD_STEPS:
        POST_BUILD_STEPS.insert(0, embed_after_build)


register_post_build()
