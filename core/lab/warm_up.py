"""Warming up the Lab's processes without ever running autograd in the one that forks.

The zygote (``core.lab.worker``) pays once for what every worker needs, so that every forked
worker starts warm: ``warm_up``. It never runs autograd, by design (``warm_up`` says why;
``refuse_autograd`` makes a slip fail loudly). Each worker pays autograd's own first run as it
is idle for the first time: ``warm_up_training``.
"""
import itertools
import os

import numpy as np

from core.training.settings import Settings
from core.training.train import Trainer, evaluate
from core.units import ARCHS
from core.units.spec import VARIANTS


def warm_up() -> None:
    """Touch every code path a worker's first reset and first Play take — torch's first ops, the
    models' forward passes, the optimizers' update, the compiled loops forward and backward
    (their first call loads or compiles them: seconds) — so that every forked worker starts warm.

    It never runs autograd, by design: no ``backward``, no ``grad``. On a CUDA build of torch
    (every GPU server), autograd's first run starts device threads, and PyTorch then refuses
    autograd in every child forked afterwards ("Unable to handle autograd's threading in
    combination with fork-based multiprocessing"): no worker could train. CPU builds start no
    such threads, which is why only a GPU server shows it. So the loops' backward is called
    directly (``core.units.fast_rnn.warm_up``), and the optimizers step on zero gradients set by hand.
    ``refuse_autograd`` makes any slip fail loudly, on every build (tests/test_fork_safety.py).
    What autograd's first run costs (~0.1 s, most of it the fused LSTM's backward) each worker
    pays itself, at its first idle moment (before the first Play): ``warm_up_training``.
    """
    import torch

    from core.insight.trace import trace
    from core.units import fast_rnn
    with torch.no_grad():
        for trainer, roll, batch in _tiny_trainers():
            trainer.model.unroll(batch.x, None)
            for p in trainer.model.parameters():
                p.grad = torch.zeros_like(p)
            trainer.optimizer.step()
            trace(trainer.model, roll)
            evaluate(trainer.model, [roll])
    fast_rnn.warm_up()


def warm_up_training() -> None:
    """In a forked worker, at its first idle moment: one update of a tiny model of each kind, so
    that autograd's first run (which the zygote may not make: ``warm_up``) is not the first Play's."""
    for trainer, _, batch in _tiny_trainers():
        trainer.step(batch)


def _tiny_trainers():
    """(trainer, roll, batch): a two-unit model of every unit and variant, four silent frames and
    a batch of two of them: what both warm-ups run every code path on."""
    from core.training.train import chunk, collate
    roll = np.zeros((4, 88), dtype=np.uint8)
    batch = collate(chunk([roll, roll], 0))
    for arch, variant in itertools.product(ARCHS, VARIANTS):
        yield Trainer(Settings(arch=arch, variant=variant, units=2, seed=0)), roll, batch


def refuse_autograd() -> None:
    """Make autograd raise in this process (the zygote), and only here: forked workers, whose
    process id differs, train as usual. Why the zygote must never run it: ``warm_up``."""
    import torch.autograd
    zygote = os.getpid()
    for module in (torch.autograd, torch.autograd.graph):  # backward() and grad() call it by name
        run = getattr(module, "_engine_run_backward", None)
        if run is None:  # another torch: nothing to guard here; the tests still watch the zygote
            continue

        def guarded(*args, _run=run, **kwargs):
            if os.getpid() == zygote:
                raise RuntimeError("autograd ran in the process that forks the Lab's workers; on a "
                                   "CUDA build of torch no forked worker could train after that")
            return _run(*args, **kwargs)
        module._engine_run_backward = guarded
