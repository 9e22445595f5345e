"""The trainer: batches, masking, clipping, weight noise, early stopping, divergence, determinism."""
import math

import numpy as np
import pytest
import torch

from core.training import train as train_module
from core.training.settings import LabSettings, Settings
from core.training.train import Trainer, chunk, evaluate, fit, length_groups, make_batches


def toy_pieces(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.random((int(rng.integers(5, 40)), 88)) < 0.08).astype(np.uint8) for _ in range(n)]


def test_chunks_keep_the_frame_before_each_target():
    piece = np.arange(10)[:, None] * np.ones((1, 88))
    (x1, y1), (x2, y2) = chunk([piece], 6)
    assert np.all(x1[0] == 0) and np.array_equal(x1[1:], y1[:-1])
    assert np.array_equal(x2[0], y1[-1]) and len(y2) == 4


def test_padding_is_masked_and_never_averaged():
    pieces = toy_pieces()
    model = Trainer(Settings(units=8)).model
    by_piece = [evaluate(model, [p])["nll"] * len(p) for p in pieces]
    together = evaluate(model, pieces, batch_size=5)      # padded batches of mixed lengths
    assert together["nll"] == pytest.approx(sum(by_piece) / sum(map(len, pieces)), rel=1e-5)
    assert together["steps"] == sum(map(len, pieces))


def test_frame_accuracy_counts_tp_fp_fn():
    class Fixed(torch.nn.Module):  # predicts key 0 on everywhere
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            logits = torch.full(x.shape, -10.0)
            logits[..., 0] = 10.0
            return logits
    y = np.zeros((4, 88), np.uint8)
    y[:2, 0] = 1      # 2 true positives, 2 false positives
    y[:, 1] = 1       # 4 false negatives
    assert evaluate(Fixed(), [y])["accuracy"] == pytest.approx(2 / (2 + 2 + 4))


def test_batches_are_the_same_for_the_same_seed_and_epoch():
    pieces = toy_pieces()
    a = make_batches(pieces, 4, 16, seed=3, epoch=2)
    b = make_batches(pieces, 4, 16, seed=3, epoch=2)
    c = make_batches(pieces, 4, 16, seed=3, epoch=3)
    assert all(torch.equal(p.y, q.y) for p, q in zip(a, b))
    assert not all(p.y.shape == q.y.shape and torch.equal(p.y, q.y) for p, q in zip(a, c))
    assert sum(batch.n_steps for batch in a) == sum(map(len, pieces))


def _batch_mates(groups) -> dict:
    return {i: frozenset(g) - {i} for g in groups for i in g}


def _padding(pairs, groups) -> float:
    lengths = [len(y) for _, y in pairs]
    return 1 - sum(lengths) / sum(max(lengths[i] for i in g) * len(g) for g in groups)


def test_reshuffled_batches_change_members_every_epoch_and_stay_length_bucketed(jsb):
    """Fixed batching (the committed reproduction's) meets the same batch-mates every epoch;
    reshuffled batching new ones, with padding still far below random batches'."""
    pairs = chunk(jsb.splits["train"], 200)
    kept = {}
    for reshuffle in (False, True):
        epochs = [length_groups(pairs, 8, 0, epoch, reshuffle) for epoch in (1, 2, 3)]
        for groups in epochs:
            assert sorted(i for g in groups for i in g) == list(range(len(pairs)))  # each pair once
            assert sum(len(g) != 8 for g in groups) <= 1
        mates = [_batch_mates(groups) for groups in epochs]
        kept[reshuffle] = np.mean([len(mates[0][i] & mates[1][i]) / max(1, len(mates[0][i]))
                                   for i in mates[0]])
        padding = max(_padding(pairs, groups) for groups in epochs)
        assert padding < (0.03 if not reshuffle else 0.08)   # random groups of 8: about 0.35 on JSB
        assert length_groups(pairs, 8, 0, 2, reshuffle) == epochs[1]   # seeded: reproducible
    assert kept[False] == 1.0 and kept[True] < 0.4


def test_training_and_the_lab_use_the_reshuffle_setting(monkeypatch):
    seen = []
    real = train_module.make_batches

    def spy(*args, **kwargs):
        seen.append(kwargs.get("reshuffle"))
        return real(*args, **kwargs)
    monkeypatch.setattr(train_module, "make_batches", spy)
    for reshuffle in (True, False):
        fit(Trainer(Settings(units=4, epochs=1, reshuffle=reshuffle)), toy_pieces(), toy_pieces(3, 1))
    assert seen == [True, False]
    assert Settings().reshuffle is True and LabSettings().trainer_settings("gru").reshuffle is True
    assert LabSettings(reshuffle=False).trainer_settings("gru").reshuffle is False
    # a record from before the setting existed was trained with fixed batches
    old = {k: v for k, v in Settings().to_dict().items() if k != "reshuffle"}
    assert Settings.from_dict(old).reshuffle is False
    assert Settings.from_dict(Settings().to_dict()).reshuffle is True


def test_gradient_is_clipped_to_the_setting():
    trainer = Trainer(Settings(units=8, lr=1e-3, clip=0.01))
    batch = make_batches(toy_pieces(), 4, 0, 0, 1)[0]
    seen = []
    original = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm):
        params = list(params)
        norm = original(params, max_norm)
        seen.append(float(torch.norm(torch.stack([p.grad.norm() for p in params]))))
        return norm
    torch.nn.utils.clip_grad_norm_, saved = spy, torch.nn.utils.clip_grad_norm_
    try:
        result = trainer.step(batch)
    finally:
        torch.nn.utils.clip_grad_norm_ = saved
    assert result.grad_norm > 0.01                 # the raw norm is reported ...
    assert seen[0] == pytest.approx(0.01, rel=1e-4)  # ... and the update used the clipped one


def test_weight_noise_only_in_training_passes():
    batch = make_batches(toy_pieces(), 4, 0, 0, 1)[0]
    noisy = Trainer(Settings(units=8, lr=1e-12, weight_noise=0.5, seed=4))
    clean = Trainer(Settings(units=8, lr=1e-12, weight_noise=0.0, seed=4))
    before = [p.detach().clone() for p in noisy.model.parameters()]
    r_noisy, r_clean = noisy.step(batch), clean.step(batch)
    assert abs(r_noisy.loss - r_clean.loss) > 0.1                   # the pass saw noisy weights
    after = list(noisy.model.parameters())
    assert all(torch.allclose(a, b, atol=1e-9) for a, b in zip(after, before))  # noise removed
    pieces = toy_pieces()
    # evaluation sees the weights without noise: the same numbers as the never-noisy twin's
    assert evaluate(noisy.model, pieces)["nll"] == pytest.approx(evaluate(clean.model, pieces)["nll"], rel=1e-6)


def test_an_empty_split_has_no_nll_rather_than_a_perfect_one():
    result = evaluate(Trainer(Settings(units=4)).model, [])
    assert result["steps"] == 0 and math.isnan(result["nll"]) and math.isnan(result["accuracy"])


def test_divergence_restores_the_last_good_weights():
    trainer = Trainer(Settings(units=8, lr=1e-2))
    batches = make_batches(toy_pieces(), 4, 0, 0, 1)
    trainer.step(batches[0])
    good = [p.detach().clone() for p in trainer.model.parameters()]
    poisoned = batches[1]
    poisoned.x[0, 0, 0] = math.nan
    result = trainer.step(poisoned)
    assert result.diverged and "diverged" in result.message and "learning rate" in result.message
    assert all(torch.equal(p, g) for p, g in zip(trainer.model.parameters(), good))
    assert trainer.updates == 1 and trainer.divergences == 1
    assert not trainer.step(batches[2]).diverged    # training goes on from the good weights


def test_huge_learning_rate_never_leaves_non_finite_weights():
    trainer = Trainer(Settings(units=8, lr=1e38, clip=0))
    for batch in make_batches(toy_pieces(), 4, 0, 0, 1):
        trainer.step(batch)
    assert all(bool(torch.isfinite(p).all()) for p in trainer.model.parameters())


def test_early_stopping_keeps_the_best_weights(monkeypatch):
    curve = iter([5.0, 4.0, 4.5, 4.6, 4.7, 3.0])
    snapshots = []

    def fake_evaluate(model, seqs, batch_size=16):
        snapshots.append([p.detach().clone() for p in model.parameters()])
        return {"nll": next(curve), "accuracy": 0.0, "steps": 1}
    monkeypatch.setattr(train_module, "evaluate", fake_evaluate)
    trainer = Trainer(Settings(units=8, epochs=6, patience=3))
    history = fit(trainer, toy_pieces(), toy_pieces(seed=1))
    assert [row["epoch"] for row in history] == [1, 2, 3, 4, 5]   # stopped 3 epochs after the best
    best = snapshots[1]                                           # epoch 2 had valid NLL 4.0
    assert all(torch.equal(p, b) for p, b in zip(trainer.model.parameters(), best))


def test_same_seed_same_numbers():
    def run():
        trainer = Trainer(Settings(units=8, seed=7, weight_noise=0.05, epochs=2))
        history = fit(trainer, toy_pieces(), toy_pieces(seed=1))
        return [(r["train_nll"], r["valid_nll"]) for r in history]
    assert run() == run()


def test_invalid_settings_are_clear_errors():
    with pytest.raises(ValueError, match="lr must be a positive"):
        Settings(lr=-1)
    with pytest.raises(ValueError, match="unknown settings: colour"):
        Settings.from_dict({"colour": "red"})
    assert Settings.from_dict(Settings(seed=9).to_dict()) == Settings(seed=9)


def test_history_reports_the_share_of_padding():
    pieces = [np.zeros((10, 88), np.uint8), np.zeros((30, 88), np.uint8)]
    trainer = Trainer(Settings(units=4, epochs=1, batch_size=2, truncate=0))
    row = fit(trainer, pieces, pieces)[0]
    assert row["padding"] == round(1 - 40 / 60, 4)   # one batch of 2 x 30 slots, 40 real
