"""Training and evaluation: one step function, one evaluation function, one settings object.

Objective: NLL per time step = binary cross-entropy summed over the 88 keys, averaged over
the real (unpadded) steps. Inputs are the frames shifted right behind a silent frame
(``core.units.models.shift_inputs``), so every frame of a piece is predicted.

Long pieces train in chunks of ``truncate`` steps (truncated backpropagation through time).
Each chunk starts from a zero state, or, with ``carry_state``, from the last state of the
chunk before it in the same piece (detached: gradients stop at the chunk's start).
"""
import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from core.training.settings import Settings
from core.units.models import build_model, resolve_device, step_nll

RESHUFFLE_BATCHES = 2  # reshuffled batching: how far (in batches) a pair may move in the length order


@dataclass
class Batch:
    """x, y: (B, T, 88) inputs and targets; mask: (B, T), 1 on real steps. ``carried``: row b
    continues row b of the batch before it, from that batch's last state (B no larger)."""
    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor
    carried: bool = False

    @property
    def n_steps(self) -> int:
        return int(self.mask.sum())


def chunk(seqs: list[np.ndarray], length: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(inputs, targets) pairs of at most ``length`` steps (0 = whole sequences).

    Each sequence is shifted first (silent frame, then frames 0..T-2), so a chunk from the
    middle of a piece still reads the frame before its first target.
    """
    pairs = []
    for seq in seqs:
        y = np.asarray(seq, dtype=np.float32)
        x = np.concatenate([np.zeros_like(y[:1]), y[:-1]])
        step = length or len(y)
        pairs += [(x[s:s + step], y[s:s + step]) for s in range(0, len(y), step)]
    return pairs


def collate(pairs, device="cpu", carried=False) -> Batch:
    """Pad pairs to the longest and mask the padding."""
    T = max(len(y) for _, y in pairs)
    B = len(pairs)
    x, y, mask = np.zeros((B, T, 88), np.float32), np.zeros((B, T, 88), np.float32), np.zeros((B, T), np.float32)
    for b, (xs, ys) in enumerate(pairs):
        x[b, :len(xs)], y[b, :len(ys)], mask[b, :len(ys)] = xs, ys, 1
    return Batch(*(torch.from_numpy(a).to(device) for a in (x, y, mask)), carried)


def length_groups(pairs, batch_size: int, seed: int, epoch: int, reshuffle: bool = False) -> list[list[int]]:
    """Indices of ``pairs`` in groups of ``batch_size`` of similar length (little padding), the
    group order shuffled with a generator seeded by (seed, epoch).

    Fixed (``reshuffle`` off): sorted by length, so every epoch has the same groups in a new
    order. Reshuffled: ties in length broken at random and each pair moved in the sorted order
    by a random amount under ``RESHUFFLE_BATCHES`` batches, so a group's members change every
    epoch while it still holds pairs of about the same length.
    """
    rng = np.random.default_rng([seed, epoch])
    lengths = np.array([len(y) for _, y in pairs])
    if reshuffle:
        ranked = np.lexsort((rng.random(len(pairs)), lengths))
        place = np.empty(len(pairs))
        place[ranked] = np.arange(len(pairs)) + rng.uniform(0, RESHUFFLE_BATCHES * batch_size, len(pairs))
        order = np.argsort(place, kind="stable").tolist()
    else:
        order = sorted(range(len(pairs)), key=lambda k: lengths[k])
    groups = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(groups)
    return groups


def make_batches(seqs, batch_size: int, truncate: int, seed: int, epoch: int, device="cpu",
                 carry: bool = False, reshuffle: bool = False) -> list[Batch]:
    """One epoch's batches, the same for every model trained with the same settings.

    carry off: chunks of ``truncate`` steps, grouped by length (``length_groups``).
    carry on: whole pieces grouped by length, each group walked through time in windows of
    ``truncate`` steps, one batch per window, in order; rows longest piece first, so the
    pieces still running are the first rows of the next window (ended ones drop out), and
    every window after a group's first is ``carried``.
    """
    pairs = chunk(seqs, 0 if carry else truncate)
    groups = length_groups(pairs, batch_size, seed, epoch, reshuffle)
    if not carry:
        return [collate([pairs[k] for k in g], device) for g in groups]
    batches = []
    for g in groups:
        rows = sorted((pairs[k] for k in g), key=lambda p: -len(p[1]))
        longest = len(rows[0][1])
        step = truncate or longest
        for s in range(0, longest, step):
            window = [(x[s:s + step], y[s:s + step]) for x, y in rows if len(y) > s]
            batches.append(collate(window, device, carried=s > 0))
    return batches


def batch_nll(model, batch: Batch) -> torch.Tensor:
    """Mean NLL per real time step of a batch (a scalar tensor), from a zero state."""
    return masked_nll(model(batch.x), batch)


def masked_nll(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Mean NLL per real time step of logits (B, T, 88) for a batch's targets."""
    nll = step_nll(logits, batch.y)               # (B, T)
    return (nll * batch.mask).sum() / batch.mask.sum()


@torch.no_grad()
def evaluate(model, seqs: list[np.ndarray], batch_size: int = 16) -> dict:
    """NLL per time step (nats) and frame-level accuracy TP/(TP+FP+FN) on whole pieces.

    Predictions for accuracy: a key is on when its probability exceeds 0.5. Both are
    summed over all real steps of the split, then divided (longer pieces weigh more). A split
    without steps has neither: NaN (not 0, which would read as a perfect model).
    """
    model.eval()
    device = next(model.parameters()).device
    total_nll, steps, tp, fp_fn = 0.0, 0, 0.0, 0.0
    pairs = sorted(chunk(seqs, 0), key=lambda p: len(p[1]))
    for i in range(0, len(pairs), batch_size):
        batch = collate(pairs[i:i + batch_size], device)
        logits = model(batch.x)
        total_nll += float((step_nll(logits, batch.y) * batch.mask).sum())
        steps += batch.n_steps
        pred = (logits > 0).float() * batch.mask.unsqueeze(-1)
        tp += float((pred * batch.y).sum())
        fp_fn += float((pred != batch.y).float().sum())  # padding: pred 0 and y 0
    if steps == 0:
        return {"nll": math.nan, "accuracy": math.nan, "steps": 0}
    return {"nll": total_nll / steps, "accuracy": tp / max(tp + fp_fn, 1e-12), "steps": steps}


def make_optimizer(model, settings: Settings) -> torch.optim.Optimizer:
    if settings.optimizer == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=settings.lr)
    return torch.optim.Adam(model.parameters(), lr=settings.lr)


@dataclass
class StepResult:
    """What one update did, as plain numbers."""
    loss: float          # NLL per step on the batch (at the noisy weights, if weight noise is on)
    grad_norm: float     # gradient norm before clipping
    seconds: float       # wall time of the update
    steps: int           # real time steps in the batch
    diverged: bool = False
    message: str = ""


def _map_state(fn, state):
    # a recurrent layer's state is h, or (h, c) for the LSTM
    return tuple(map(fn, state)) if isinstance(state, tuple) else fn(state)


class Trainer:
    """One model, its optimizer and its history; ``step`` does exactly one update."""

    def __init__(self, settings: Settings, model=None):
        settings.validate()
        self.settings = settings
        self.device = resolve_device(settings.device)
        self.model = (model or build_model(settings.arch, settings.variant, settings.units or None,
                                           settings.budget, seed=settings.seed)).to(self.device)
        self.optimizer = make_optimizer(self.model, settings)
        self.noise_gen = torch.Generator().manual_seed(settings.seed + 1)
        self.updates, self.seconds, self.divergences = 0, 0.0, 0
        self._last_good = self._snapshot()
        self._state = None   # the last batch's last state, detached: where a carried batch starts

    def _snapshot(self):
        """Copies of the weights and the optimizer's per-weight state (cheap at ~20k weights)."""
        weights = [p.detach().clone() for p in self.model.parameters()]
        state = {p: {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()}
                 for p, s in self.optimizer.state.items()}
        return weights, state

    def _save_good(self) -> None:
        """Keep the current weights and optimizer state as the last good ones: copied into
        the buffers of the previous copy when the shapes allow (no allocation per step)."""
        weights, state = self._last_good
        live = {p: s for p, s in self.optimizer.state.items()}
        if state.keys() != live.keys() or any(s.keys() != live[p].keys() for p, s in state.items()):
            self._last_good = self._snapshot()   # the optimizer made new state (first step)
            return
        with torch.no_grad():
            torch._foreach_copy_(weights, [p.detach() for p in self.model.parameters()])
            for p, s in state.items():
                for k, v in live[p].items():
                    if torch.is_tensor(v):
                        s[k].copy_(v)
                    else:
                        s[k] = v

    def _restore(self, snapshot) -> None:
        weights, state = snapshot
        with torch.no_grad():
            for p, w in zip(self.model.parameters(), weights):
                p.copy_(w)
        self.optimizer.state.clear()
        for p, s in state.items():
            self.optimizer.state[p] = {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()}

    def _start_state(self, batch: Batch):
        """Zeros (None), or for a carried batch the first B rows of the last batch's last state."""
        if not batch.carried or self._state is None:
            return None
        B, held = batch.x.shape[0], _map_state(lambda s: s.shape[1], self._state)
        held = held[0] if isinstance(held, tuple) else held
        if B > held:
            raise ValueError(f"a carried batch of {B} rows follows a batch of {held}")
        return _map_state(lambda s: s[:, :B], self._state)   # (1, B, H), or (h, c) of those

    def step(self, batch: Batch) -> StepResult:
        """One update: forward (at noisy weights if weight noise is on), backward, clip, step.
        A carried batch starts from the last state of the batch before it (``Batch.carried``).
        A non-finite loss, gradient or weight restores the last good weights and optimizer,
        and the next carried batch starts from zeros."""
        t0 = time.perf_counter()
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        clean = self._add_weight_noise()
        logits, state = self.model.unroll(batch.x, self._start_state(batch))
        self._state = _map_state(torch.Tensor.detach, state)  # gradients stop at the next start
        loss = masked_nll(logits, batch)
        loss.backward()
        if clean is not None:  # gradients were taken at the noisy weights; update the clean ones
            with torch.no_grad():
                for p, w in zip(self.model.parameters(), clean):
                    p.copy_(w)
        params = list(self.model.parameters())
        if self.settings.clip > 0:
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, self.settings.clip))
        else:
            grad_norm = float(torch.norm(torch.stack([p.grad.norm() for p in params])))
        loss_value = float(loss.detach())
        ok = math.isfinite(loss_value) and math.isfinite(grad_norm)
        if ok:
            try:
                self.optimizer.step()
            except RuntimeError:  # e.g. an update too large for float32
                ok = False
        # one reduction for all weights: a sum of norms is finite only if every weight is
        ok = ok and bool(torch.isfinite(torch.stack(torch._foreach_norm(params)).sum()))
        seconds = time.perf_counter() - t0
        self.seconds += seconds
        if not ok:
            self._restore(self._last_good)
            self.divergences += 1
            self._state = None
            return StepResult(loss_value, grad_norm, seconds, batch.n_steps, True,
                              f"training diverged (loss {loss_value:.4g}, gradient norm {grad_norm:.4g}) "
                              f"at update {self.updates + 1}; the last good weights were restored. "
                              f"Try a smaller learning rate than {self.settings.lr:g}.")
        self.updates += 1
        self._save_good()
        return StepResult(loss_value, grad_norm, seconds, batch.n_steps)

    def _add_weight_noise(self):
        """Add N(0, std^2) to every weight for this training pass; return the clean weights."""
        std = self.settings.weight_noise
        if std <= 0:
            return None
        with torch.no_grad():
            clean = [p.detach().clone() for p in self.model.parameters()]
            for p in self.model.parameters():
                noise = torch.randn(p.shape, generator=self.noise_gen) * std
                p.add_(noise.to(p.device))
        return clean


def fit(trainer: Trainer, train: list, valid: list, progress=None, warn=None) -> list[dict]:
    """Train for ``settings.epochs`` epochs with early stopping on validation NLL.

    A plateau is ``settings.patience`` epochs without a better validation NLL. The first
    ``settings.lr_drops`` plateaus do not stop the run: the model goes back to its best weights
    (the optimizer's state too) and the learning rate is multiplied by ``settings.lr_drop``; the
    next plateau stops it.

    Batches come from ``make_batches`` (chunks of ``settings.truncate`` steps; with
    ``settings.carry_state``, windows that carry the state through each piece).
    Returns the history, one dict per epoch: ``epoch``, ``updates``, ``seconds`` (training
    wall time so far), ``train_nll`` (mean batch loss over the epoch, at the training
    weights), ``valid_nll``, ``valid_accuracy`` and ``padding`` (the share of the epoch's
    padded batch slots that were padding, not real steps). The model ends on its best-validation
    weights. ``progress(row)`` is called after each epoch; then, if updates of the epoch diverged
    (and were undone, ``Trainer.step``), ``warn(n, message)``: how many, and the first one's message.
    """
    s = trainer.settings
    history, best, best_state, stale, drops = [], math.inf, None, 0, 0
    for epoch in range(1, s.epochs + 1):
        total, steps, slots, diverged = 0.0, 0, 0, []
        batches = make_batches(train, s.batch_size, s.truncate, s.seed, epoch, trainer.device,
                               carry=s.carry_state, reshuffle=s.reshuffle)
        for batch in batches:
            slots += batch.mask.numel()          # padded (B, T): what the recurrence computes
            result = trainer.step(batch)
            if result.diverged:
                diverged.append(result.message)
            else:
                total, steps = total + result.loss * result.steps, steps + result.steps
        metrics = evaluate(trainer.model, valid)
        row = {"epoch": epoch, "updates": trainer.updates, "seconds": round(trainer.seconds, 3),
               "lr": trainer.optimizer.param_groups[0]["lr"],
               "train_nll": total / steps if steps else math.nan,
               "valid_nll": metrics["nll"], "valid_accuracy": metrics["accuracy"],
               "divergences": trainer.divergences,
               "padding": round(1 - sum(map(len, train)) / slots, 4) if slots else 0.0}
        history.append(row)
        if progress:
            progress(row)
        if warn and diverged:
            warn(len(diverged), diverged[0])
        if metrics["nll"] < best:
            best, stale = metrics["nll"], 0
            best_state = copy.deepcopy(trainer.model.state_dict())
            best_optimizer = copy.deepcopy(trainer.optimizer.state_dict())
        else:
            stale += 1
            if stale >= s.patience and drops >= s.lr_drops:
                break
            if stale >= s.patience:  # a plateau: back to the best weights, at a smaller rate
                drops, stale = drops + 1, 0
                trainer.model.load_state_dict(best_state)
                trainer.optimizer.load_state_dict(best_optimizer)
                for group in trainer.optimizer.param_groups:
                    group["lr"] = s.lr * s.lr_drop ** drops
                trainer._save_good()
                trainer._state = None
    if best_state is not None:
        trainer.model.load_state_dict(best_state)
    return history
