"""The Lab: the units trained side by side on the same batches (``lab``), in a worker process
per browser session forked from one warm zygote (``worker``, warmed by ``warm_up``), spoken to
by the protocol that holds every message, timeout and limit (``protocol``).

This face holds what imports no torch (the web server reads it).
"""
from core.lab.lab import LOSS_MAX_POINTS, Lab, bin_means, history_csv, load_lab_dataset, validation_pieces

__all__ = ["LOSS_MAX_POINTS", "Lab", "bin_means", "history_csv", "load_lab_dataset", "validation_pieces"]
