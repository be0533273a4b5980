"""Train the image encoder on freshly generated CT studies (``python -m core train-encoder``).

The training set is written by the cohort's own CT generator (``core.synth.imaging``)
with its own fake patients, so it never overlaps the demo cohort. Each slice is labelled
from the generator's truth: lesion present on this slice, margin class, cross-section
size and texture heterogeneity. Everything depends on ``seed`` only: same seed, same
files (hash recorded), same weights on the same torch version and thread count.
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.imaging.encoder import (CELL_PX, MARGIN_CLASSES, MODEL_ID, MODEL_VERSION, EncoderConfig,
                                  EncoderMetadata, LesionEncoder, batch_tensor, crop_at)
from core.imaging.pixels import load_slice
from core.imaging.training_plan import DEFAULT_TRAINING, TrainingPlan

logger = logging.getLogger(__name__)

BODY_PARTS: tuple[tuple[str, float], ...] = (("chest", 0.4), ("abdomen", 0.3), ("breast", 0.3))  # cohort: lung 45%, breast 30%, colorectal 25%
P_NO_LESION = 0.2
SIZE_RANGE_MM = (7.0, 90.0)       # drawn log-uniform: the cohort's lesions are 7-110 mm
MIN_PRESENT_PX = 4                # a cross-section smaller than this is a sliver: presence unlabelled
MIN_DESCRIBED_PX = 12             # margin and texture are labelled only on cross-sections this large
POINTING_MARGIN_PX = 4.0          # pointing game: peak within lesion radius + this (half a detector cell)
CELL_POS_WEIGHT = 5.0
JITTER_PX = 4.0


@dataclass(frozen=True)
class LabelledSlice:
    """One training slice and what the generator says it shows (NaN / -1: not labelled)."""

    path: Path
    sha256: str
    study: int
    present: float           # 1.0, 0.0 or NaN (sliver)
    margin: int              # index into MARGIN_CLASSES, -1 when not labelled
    size_mm: float           # equivalent diameter of this slice's cross-section; 0 when absent
    heterogeneity: float     # NaN when not labelled
    center_rc: tuple[float, float] | None
    radius_px: float         # equivalent radius of the cross-section in pixels
    central: bool            # the lesion's central slice
    cells: np.ndarray        # (S/8, S/8) float32: 1 = lesion in this detector cell, 0 = none, NaN = sliver


def write_training_set(out_dir: Path, n_studies: int, seed: int,
                       progress: Callable | None = None) -> list[LabelledSlice]:
    """Write ``n_studies`` CT series with random lesions into ``out_dir`` and label every slice.

    Raises:
        ValueError: ``n_studies`` < 10.
    """
    from core.synth.imaging import IMAGE_SIZE, LesionSpec, lesion_mask, write_ct_study

    if n_studies < 10:
        raise ValueError(f"n_studies must be at least 10, got {n_studies}")
    rng = np.random.default_rng(seed)
    parts = [p for p, _ in BODY_PARTS]
    weights = np.array([w for _, w in BODY_PARTS])
    out: list[LabelledSlice] = []
    studies = range(n_studies) if progress is None else progress(range(n_studies))
    for i in studies:
        part = parts[int(rng.choice(len(parts), p=weights / weights.sum()))]
        lesion = None
        if rng.random() >= P_NO_LESION:
            lo, hi = SIZE_RANGE_MM
            lesion = LesionSpec(size_mm=float(math.exp(rng.uniform(math.log(lo), math.log(hi)))),
                                margin=MARGIN_CLASSES[int(rng.integers(len(MARGIN_CLASSES)))],
                                heterogeneity=float(rng.uniform(0.0, 1.0)))
        mrn = f"ENC{seed:03d}{i:05d}"
        sw = write_ct_study(out_dir / f"s{i:05d}", mrn=mrn, patient_name="TRAINING^SYNTHETIC",
                            birth_date=date(1960, 1, 1), sex="F" if i % 2 else "M", study_date=date(2024, 1, 2),
                            lesion=lesion, body_part=part, seed=seed)
        spacing = sw.pixel_spacing_mm
        for k, path in enumerate(sw.files):
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            mask = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
            if lesion is not None and sw.slice_index is not None:
                mask = lesion_mask(mrn=mrn, body_part=part, lesion=lesion, slice_offset=k - sw.slice_index)
            area = int(mask.sum())
            present = 1.0 if area >= MIN_PRESENT_PX else (0.0 if area == 0 else math.nan)
            cells = mask.reshape(IMAGE_SIZE // CELL_PX, CELL_PX, IMAGE_SIZE // CELL_PX, CELL_PX).any(axis=(1, 3))
            cells = cells.astype(np.float32)
            if math.isnan(present):
                cells[cells > 0] = math.nan
            described = lesion is not None and area >= MIN_DESCRIBED_PX
            radius_px = math.sqrt(area / math.pi)
            out.append(LabelledSlice(
                path=path, sha256=sha, study=i, present=present,
                margin=MARGIN_CLASSES.index(lesion.margin) if described else -1,
                size_mm=2 * radius_px * spacing,
                heterogeneity=float(lesion.heterogeneity) if described else math.nan,
                center_rc=None if sw.lesion_center_rc is None or area == 0 else tuple(map(float, sw.lesion_center_rc)),
                radius_px=radius_px, central=sw.slice_index == k and area > 0, cells=cells))
    return out


def training_data_hash(slices: list[LabelledSlice]) -> str:
    """sha256 over the sorted (file sha256, labels) of the training slices."""
    h = hashlib.sha256()
    for s in sorted(slices, key=lambda s: (s.study, s.path.name)):
        h.update(f"{s.sha256} {s.present} {s.margin} {s.size_mm:.3f} {s.heterogeneity:.4f}\n".encode())
    return h.hexdigest()


@dataclass
class TrainedEncoder:
    model: LesionEncoder
    metrics: dict[str, float]
    train_seconds: float
    n_train: int
    n_val: int
    train_cpu_seconds: float = 0.0   # process CPU time (all threads): on a shared machine, wall time lies


def _targets(slices: list[LabelledSlice]) -> dict[str, torch.Tensor]:
    return {
        "present": torch.tensor([s.present for s in slices], dtype=torch.float32),
        "cells": torch.from_numpy(np.stack([s.cells for s in slices])),
        "margin": torch.tensor([s.margin for s in slices], dtype=torch.long),
        "size": torch.tensor([s.size_mm / 10.0 for s in slices], dtype=torch.float32),
        "heterogeneity": torch.tensor([s.heterogeneity for s in slices], dtype=torch.float32),
        "centre": torch.tensor([s.center_rc if s.center_rc is not None else (math.nan, math.nan) for s in slices],
                               dtype=torch.float32),
    }


def detector_loss(out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per-cell lesion BCE (the location labels) + slice presence BCE, slivers ignored."""
    cells = y["cells"]
    known = ~torch.isnan(cells)
    # few cells hold a lesion: weight them up so the map does not learn "never"
    cell_loss = F.binary_cross_entropy_with_logits(out["score_map"][known], cells[known],
                                                   pos_weight=torch.tensor(CELL_POS_WEIGHT))
    slice_known = ~torch.isnan(y["present"])
    return cell_loss + F.binary_cross_entropy_with_logits(out["presence"][slice_known], y["present"][slice_known])


def descriptor_loss(out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
    """Size (smooth L1, 0 = no lesion) + margin CE + heterogeneity MSE, each over the crops that label it."""
    loss = 0.5 * F.smooth_l1_loss(out["size"], y["size"])
    described = y["margin"] >= 0
    if described.any():
        loss = loss + F.cross_entropy(out["margin"][described], y["margin"][described])
        loss = loss + 2.0 * F.mse_loss(out["heterogeneity"][described], y["heterogeneity"][described])
    return loss


def training_centres(y: dict[str, torch.Tensor], size: int, gen: torch.Generator) -> torch.Tensor:
    """Crop centres for the descriptor: the lesion centre jittered by up to JITTER_PX (the detector's
    peak is that far off at inference), or a random point of the slice when there is no lesion."""
    n = y["centre"].shape[0]
    jitter = (torch.rand(n, 2, generator=gen) * 2 - 1) * JITTER_PX
    anywhere = torch.rand(n, 2, generator=gen) * (size * 0.6) + size * 0.2
    has = ~torch.isnan(y["centre"][:, 0])
    return torch.where(has[:, None], y["centre"].nan_to_num(0.0) + jitter, anywhere).clamp(0, size - 1)


def _fit_loop(params: list[torch.nn.Parameter], n_items: int, epochs: int, plan: TrainingPlan,
              gen: torch.Generator, step: Callable[[torch.Tensor], torch.Tensor], label: str,
              progress: Callable[[str], None] | None) -> None:
    """AdamW + one-cycle over ``epochs`` shuffled passes; ``step(idx)`` returns the batch loss."""
    opt = torch.optim.AdamW(params, lr=plan.lr, weight_decay=1e-4)
    steps = epochs * math.ceil(n_items / plan.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=plan.lr, total_steps=steps, pct_start=0.25)
    t0 = time.perf_counter()
    for ep in range(epochs):
        perm = torch.randperm(n_items, generator=gen)
        total = 0.0
        for i in range(0, n_items, plan.batch_size):
            idx = perm[i:i + plan.batch_size]
            loss = step(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if progress is not None:
            progress(f"{label} epoch {ep + 1}/{epochs}: loss {total / n_items:.3f} ({time.perf_counter() - t0:.0f} s)")


def _flip_lr(x: torch.Tensor, y: dict[str, torch.Tensor], size: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    centre = y["centre"] * torch.tensor([1.0, -1.0]) + torch.tensor([0.0, size - 1.0])
    return x.flip(-1), {**y, "cells": y["cells"].flip(-1), "centre": centre}


def fit_encoder(slices: list[LabelledSlice], plan: TrainingPlan = DEFAULT_TRAINING, *,
                config: EncoderConfig | None = None, evaluate: bool = True,
                progress: Callable[[str], None] | None = None) -> TrainedEncoder:
    """Train a ``LesionEncoder`` on labelled slices; every ``plan.val_every``-th study is held out.

    Two phases: the detector on whole slices (per-cell and per-slice lesion labels), then the
    descriptor on lesion-centred crops (jittered like the detector's peak, mirrored, and
    rotated by a random polar phase: margin, size and texture do not depend on orientation) plus crops of lesion-free slices.

    Returns the model (eval mode) with held-out metrics (``evaluate_encoder``; empty when
    ``evaluate`` is False).
    """
    torch.manual_seed(plan.seed)
    config = config or EncoderConfig()
    train = [s for s in slices if s.study % plan.val_every != 0]
    val = [s for s in slices if s.study % plan.val_every == 0]
    x_train = batch_tensor([load_slice(s.path) for s in train], config)
    y_train = _targets(train)
    model = LesionEncoder(config)
    gen = torch.Generator().manual_seed(plan.seed)
    size = config.input_size
    t0, cpu0 = time.perf_counter(), time.process_time()

    def detector_step(idx: torch.Tensor) -> torch.Tensor:
        xb, yb = x_train[idx], {k: v[idx] for k, v in y_train.items()}
        if torch.rand(1, generator=gen).item() < 0.5:  # lesions occur on either side
            xb, yb = _flip_lr(xb, yb, size)
        return detector_loss(model.detector(xb), yb)

    model.train()
    _fit_loop(list(model.detector.parameters()), len(train), plan.detector_epochs, plan, gen, detector_step,
              "detector", progress)
    # descriptor: every slice showing a lesion, and as many lesion-free ones
    pos = torch.nonzero(y_train["present"] == 1.0).flatten()
    neg = torch.nonzero(y_train["present"] == 0.0).flatten()
    neg = neg[torch.randperm(len(neg), generator=gen)[:len(pos)]]
    pool = torch.cat([pos, neg])

    def descriptor_step(j: torch.Tensor) -> torch.Tensor:
        idx = pool[j]
        yb = {k: v[idx] for k, v in y_train.items()}
        crops = crop_at(x_train[idx], training_centres(yb, size, gen), config.crop_size)
        if torch.rand(1, generator=gen).item() < 0.5:  # mirror image; rotation is a random polar phase
            crops = crops.flip(-1)
        phase = torch.rand(len(idx), generator=gen) * 2 * math.pi
        return descriptor_loss(model.descriptor(crops, phase), yb)

    _fit_loop(list(model.descriptor.parameters()), len(pool), plan.descriptor_epochs, plan, gen, descriptor_step,
              "descriptor", progress)
    train_seconds, train_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    model.eval()
    metrics = evaluate_encoder(model, val) if evaluate else {}
    return TrainedEncoder(model, metrics, train_seconds, len(train), len(val), train_cpu)


def evaluate_encoder(model: LesionEncoder, val: list[LabelledSlice]) -> dict[str, float]:
    """Held-out metrics of a trained encoder (see ``fit_encoder``).

    Descriptor metrics are on the lesions' central slices, cropped at the true centre (as
    with a radiologist's annotation) and at the detector's own peak (``*_detected``).
    """
    from sklearn.metrics import roc_auc_score

    from core.imaging.encoder import encode
    from core.imaging.gradcam import gradcam, heatmap_peak

    hu = [load_slice(s.path) for s in val]
    y = _targets(val)
    out = encode(model, hu)
    known = ~np.isnan(y["present"].numpy())
    metrics: dict[str, float] = {}
    if len(set(y["present"].numpy()[known].tolist())) == 2:
        metrics["presence_auroc"] = float(roc_auc_score(y["present"].numpy()[known], out["presence"][known]))
    central = [i for i, s in enumerate(val) if s.central and s.margin >= 0]
    if not central:
        return metrics
    c_hu = [hu[i] for i in central]
    true = encode(model, c_hu, centres=[val[i].center_rc for i in central])
    margin_y = y["margin"].numpy()[central]
    size_y = y["size"].numpy()[central]
    for suffix, o in (("", true), ("_detected", {k: v[central] for k, v in out.items()})):
        metrics["margin_accuracy" + suffix] = float((o["margin"].argmax(1) == margin_y).mean())
        metrics["size_mae_mm" + suffix] = float(np.abs(o["size"] - size_y).mean() * 10.0)
        metrics["heterogeneity_r" + suffix] = float(np.corrcoef(o["heterogeneity"],
                                                                y["heterogeneity"].numpy()[central])[0, 1])
    hits = []
    for i in central:
        _, heat = gradcam(hu[i], model=model)
        r, c = heatmap_peak(heat)
        s = val[i]
        hits.append(math.hypot(r - s.center_rc[0], c - s.center_rc[1]) <= s.radius_px + POINTING_MARGIN_PX)
    metrics["pointing_game"] = float(np.mean(hits))
    metrics["n_pointing"] = float(len(hits))
    return {k: round(v, 4) for k, v in metrics.items() if math.isfinite(v)}  # NaN: too few held-out cases


def train_and_save(weights: Path, plan: TrainingPlan = DEFAULT_TRAINING, *, data_dir: Path | None = None,
                   progress: Callable[[str], None] | None = None) -> EncoderMetadata:
    """Generate the training set, train, and write weights + metadata JSON; returns the metadata.

    Args:
        weights: output ``.pt`` path; its stem after ``encoder-`` is the version ('v1').
        plan: seed, data size and epochs.
        data_dir: keep the generated DICOM training set here (default: a temporary folder, removed).
    """
    import shutil
    import tempfile

    from core.imaging.encoder import save_encoder

    torch.set_num_threads(2)
    tmp = None if data_dir is not None else Path(tempfile.mkdtemp(prefix="encoder-train-"))
    try:
        t0 = time.perf_counter()
        slices = write_training_set(data_dir or tmp, plan.n_studies, plan.seed)
        gen_seconds = time.perf_counter() - t0
        data_hash = training_data_hash(slices)
        if progress is not None:
            progress(f"wrote {len(slices)} training slices ({plan.n_studies} studies) in {gen_seconds:.0f} s; "
                     f"data hash {data_hash[:12]}")
        res = fit_encoder(slices, plan, progress=progress)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    metrics = dict(res.metrics, train_seconds=round(res.train_seconds, 1),
                   train_cpu_seconds=round(res.train_cpu_seconds, 1), generate_seconds=round(gen_seconds, 1),
                   torch_threads=float(torch.get_num_threads()), load_average_1min=round(os.getloadavg()[0], 1))
    meta = EncoderMetadata(model_id=MODEL_ID, version=weights.stem.removeprefix("encoder-") or MODEL_VERSION,
                           training_data_hash=data_hash, command=plan.command, seed=plan.seed, metrics=metrics,
                           n_train=res.n_train, n_val=res.n_val, train_seconds=round(res.train_seconds, 1),
                           created_at=datetime.now(timezone.utc).replace(microsecond=0).isoformat())
    save_encoder(res.model, meta, weights)
    logger.info("encoder %s trained in %.1f s: %s", meta.version, res.train_seconds, metrics)
    return meta


def train_default(weights: Path) -> EncoderMetadata:
    """Train the committed encoder with the default plan (used when its weights are missing)."""
    return train_and_save(weights, DEFAULT_TRAINING)


__all__ = ["LabelledSlice", "TrainedEncoder", "evaluate_encoder", "descriptor_loss", "detector_loss", "fit_encoder",
           "train_and_save", "train_default", "training_data_hash", "write_training_set",
           "TrainingPlan", "DEFAULT_TRAINING"]
