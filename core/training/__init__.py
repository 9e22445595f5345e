"""How models train: the settings (``settings``: each field once, with its default and help), the
one step and the evaluation (``train``), checkpoints (``checkpoint``), the shipped models
(``pretrained``), and the paper's reproduction (``reproduce``, ``seed_spread``) run by a local
pool or a Ray cluster (``sweep``).

This face holds the settings only (no torch: the web server reads them); the rest is imported
by its own path, e.g. ``from core.training.train import Trainer``.
"""
from core.training.settings import OPTIMIZERS, LabSettings, Settings, Training

__all__ = ["OPTIMIZERS", "LabSettings", "Settings", "Training"]
