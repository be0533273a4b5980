"""Hyper-parameters of an image-encoder training run (kept free of torch so the CLI loads fast)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainingPlan:
    """Seed, data size and epochs of one training run (defaults: the committed encoder-v1).

    Raises:
        ValueError: on construction, for too few studies or non-positive epochs.
    """

    seed: int = 7
    n_studies: int = 400
    detector_epochs: int = 12
    descriptor_epochs: int = 24
    batch_size: int = 64
    lr: float = 4e-3
    val_every: int = 7            # every 7th study is held out

    def __post_init__(self) -> None:
        if self.n_studies < 10:
            raise ValueError(f"n_studies must be at least 10, got {self.n_studies}")
        if min(self.detector_epochs, self.descriptor_epochs, self.batch_size) < 1:
            raise ValueError("epochs and batch size must be positive")

    @property
    def command(self) -> str:
        """The command line that reproduces this run."""
        return (f"python -m core train-encoder --seed {self.seed} --studies {self.n_studies} "
                f"--detector-epochs {self.detector_epochs} --descriptor-epochs {self.descriptor_epochs}")


DEFAULT_TRAINING = TrainingPlan()
