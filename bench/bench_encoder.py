"""Image-encoder throughput (images/s) against merely loading + windowing the same slices, and training time.

Usage: .venv/bin/python bench/bench_encoder.py [--studies 40] [--threads 1 2] [--train]

Generates CT studies with ``core.synth.imaging.write_ct_study`` (5 slices each) into a
temporary folder, then measures, on the committed weights:
  * baseline: ``load_slice`` + ``windowed_channels`` of every slice (what any viewer must do);
  * encode: detector + descriptor (``core.imaging.encoder.encode``) on the preloaded slices,
    per thread count, reported as images/s and as a ratio to the baseline;
  * Grad-CAM: ``core.imaging.gradcam.gradcam`` per slice (forward + backward);
  * training: the committed run's time from its metadata, or with ``--train`` a fresh run of the
    default plan (``python -m core train-encoder`` without writing the committed weights).
Wall and CPU seconds are both printed: on a shared machine, CPU time / threads is closer to
what an idle machine would take. The 1-minute load average is printed for context.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import sys
import time
from datetime import date
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable as a script from anywhere

from core.imaging.encoder import COMMITTED_MODELS_DIR, encode, load_encoder, metadata_path, windowed_channels
from core.imaging.gradcam import gradcam
from core.imaging.pixels import load_slice
from core.synth.imaging import LesionSpec, write_ct_study

MARGINS = ("smooth", "lobulated", "spiculated")


def generate(folder: Path, n_studies: int) -> list[Path]:
    files: list[Path] = []
    for k in range(n_studies):
        s = write_ct_study(folder / f"s{k:04d}", mrn=f"BENCH{k:05d}", patient_name="BENCH^CT", birth_date=date(1950, 1, 1),
                           sex="F", study_date=date(2024, 3, 1), lesion=LesionSpec(12.0 + k % 50, MARGINS[k % 3], (k % 10) / 10),
                           body_part=("chest", "abdomen", "breast")[k % 3], seed=k)
        files.extend(s.files)
    return files


def timed(fn, repeat: int = 3) -> tuple[float, float]:
    """Best-of-``repeat`` (wall, cpu) seconds."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - t, time.process_time() - c))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=40)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--train", action="store_true", help="time a fresh training run of the default plan")
    args = ap.parse_args()
    weights = COMMITTED_MODELS_DIR / "encoder-v1.pt"
    model, meta = load_encoder(weights)
    print(f"load average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        files = generate(Path(tmp), args.studies)
        n = len(files)
        hu = [load_slice(f) for f in files]
        base_wall, base_cpu = timed(lambda: [windowed_channels(load_slice(f)) for f in files])
        print(f"{n} slices of 128x128")
        print(f"baseline load+window : {n / base_wall:8.0f} images/s  ({base_wall / n * 1000:.2f} ms/slice wall, "
              f"{base_cpu / n * 1000:.2f} ms CPU)")
        for th in args.threads:
            torch.set_num_threads(th)
            encode(model, hu[:64])  # warm-up
            wall, cpu = timed(lambda: encode(model, hu))
            print(f"encode, {th} thread(s)   : {n / wall:8.0f} images/s  ({wall / n * 1000:.2f} ms/slice wall, "
                  f"{cpu / n * 1000:.2f} ms CPU); encoder / baseline time = {wall / base_wall:.2f}x")
        torch.set_num_threads(2)
        k = min(n, 30)
        wall, cpu = timed(lambda: [gradcam(h, model=model) for h in hu[:k]], repeat=1)
        print(f"Grad-CAM, 2 threads  : {wall / k * 1000:8.1f} ms/slice wall ({cpu / k * 1000:.1f} ms CPU); "
              f"{wall / k / (base_wall / n):.1f}x load+window")
    m = json.loads(metadata_path(weights).read_text())
    print(f"committed encoder {m['version']}: trained in {m['train_seconds']:.0f} s wall "
          f"({m['metrics'].get('torch_threads', 2):.0f} threads), data generation {m['metrics'].get('generate_seconds', 0):.0f} s; "
          f"reproduce with `{m['command']}`")
    if args.train:
        from core.imaging.train_encoder import train_and_save
        from core.imaging.training_plan import DEFAULT_TRAINING

        with tempfile.TemporaryDirectory() as tmp:
            t, c = time.perf_counter(), time.process_time()
            fresh = train_and_save(Path(tmp) / "encoder-bench.pt", DEFAULT_TRAINING)
            print(f"fresh training run   : {fresh.train_seconds:.0f} s training wall; whole command "
                  f"{time.perf_counter() - t:.0f} s wall, {time.process_time() - c:.0f} s CPU; target < 180 s; "
                  f"data hash equal to committed: {fresh.training_data_hash == meta.training_data_hash}")


if __name__ == "__main__":
    main()
