"""Truncated backpropagation through time with carried state (Settings.carry_state): windows
walk each piece in order, the state really crosses them, padding and masks stay right, the
fast loops and the reference modules agree, and training on the real data lowers the loss."""
import numpy as np
import pytest
import torch

from core.cli import _settings_from, build_parser
from core.training.reproduce import ReproduceConfig
from core.training.settings import Settings
from core.training.train import Trainer, batch_nll, chunk, collate, evaluate, fit, make_batches
from core.units import fast_rnn

# every (arch, variant): the loops run all but the torch LSTM, which keeps nn.LSTM
MODELS = [("tanh", "torch"), ("gru", "torch"), ("gru", "paper"), ("lstm", "torch"), ("lstm", "paper")]


def toy_pieces(lengths, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.random((n, 88)) < 0.1).astype(np.uint8) for n in lengths]


def frozen_trainer(arch, variant, **kw):
    # lr 1e-30: Adam moves no float32 weight, so every step's loss is at the initial weights
    return Trainer(Settings(arch=arch, variant=variant, units=10, seed=5, lr=1e-30, **kw))


def test_windows_walk_each_group_in_order_longest_first():
    # one group of 3 pieces (10, 3, 7 steps), windows of 4: rows 10/7/3, then 10/7, then 10
    pieces = [np.full((n, 88), k, np.uint8) for k, n in enumerate((10, 3, 7), start=1)]
    batches = make_batches(pieces, 3, 4, seed=0, epoch=1, carry=True)
    assert [tuple(b.mask.shape) for b in batches] == [(3, 4), (2, 4), (1, 2)]
    assert [b.carried for b in batches] == [False, True, True]
    assert [b.mask.sum(1).tolist() for b in batches] == [[4, 4, 3], [4, 3], [2]]
    assert [b.y[:, 0, 0].tolist() for b in batches] == [[1, 3, 2], [1, 3], [1]]
    # the frame before each window's first target is its first input: the piece goes on
    assert batches[1].x[0, 0, 0] == 1 and batches[0].x[0, 0, 0] == 0  # silent frame at the start
    assert sum(b.n_steps for b in batches) == 20


def test_carry_off_makes_the_same_chunk_batches_as_before():
    # make_batches as it was before carry_state: chunks sorted by length, groups shuffled
    pieces = toy_pieces([37, 25, 12, 9, 30])
    pairs = chunk(pieces, 8)
    order = sorted(range(len(pairs)), key=lambda k: len(pairs[k][1]))
    groups = [order[i:i + 2] for i in range(0, len(order), 2)]
    np.random.default_rng([1, 3]).shuffle(groups)
    before = [collate([pairs[k] for k in g]) for g in groups]
    now = make_batches(pieces, 2, 8, seed=1, epoch=3)
    assert len(now) == len(before) and not any(b.carried for b in now)
    assert all(torch.equal(a.x, b.x) and torch.equal(a.mask, b.mask) for a, b in zip(now, before))
    assert Settings().carry_state is False


@pytest.mark.parametrize("arch,variant", MODELS)
def test_carried_windows_give_the_whole_piece_loss(arch, variant):
    # The NLL summed over windows that carry the state equals the NLL of the whole pieces in one
    # pass; windows from zero states (carry off) do not: the state really crosses the windows.
    pieces = toy_pieces([37, 25, 12])
    whole = evaluate(frozen_trainer(arch, variant).model, pieces)["nll"]
    sums = {}
    for carry in (True, False):
        trainer = frozen_trainer(arch, variant)
        batches = make_batches(pieces, 3, 8, seed=0, epoch=1, carry=carry)
        results = [trainer.step(b) for b in batches]
        sums[carry] = sum(r.loss * r.steps for r in results) / sum(r.steps for r in results)
    assert sums[True] == pytest.approx(whole, rel=1e-6)    # seen: 2e-8 to 8e-8 relative
    assert abs(sums[False] - whole) > 1e-3                 # seen: 2e-3 (LSTM) to 6e-2
    assert abs(sums[False] - whole) > 100 * abs(sums[True] - whole)


@pytest.mark.parametrize("arch,variant", MODELS)
def test_carry_off_each_chunk_starts_from_zeros(arch, variant):
    trainer = frozen_trainer(arch, variant)
    reference = frozen_trainer(arch, variant).model.train()
    for batch in make_batches(toy_pieces([37, 25, 12]), 3, 8, seed=0, epoch=1):
        zero_start = float(batch_nll(reference, batch).detach())
        assert trainer.step(batch).loss == pytest.approx(zero_start, rel=1e-6)


def test_carried_batch_larger_than_the_last_is_an_error():
    trainer = frozen_trainer("gru", "torch")
    small, big = make_batches(toy_pieces([9]), 1, 0, 0, 1)[0], make_batches(toy_pieces([9, 9]), 2, 0, 0, 1)[0]
    trainer.step(small)
    big.carried = True
    with pytest.raises(ValueError, match="carried batch of 2 rows follows a batch of 1"):
        trainer.step(big)


def test_divergence_drops_the_carried_state():
    trainer = Trainer(Settings(units=6, lr=1e-3, seed=2))
    first, second = make_batches(toy_pieces([16]), 1, 8, 0, 1, carry=True)
    first.x[0, 3, 0] = float("nan")
    assert trainer.step(first).diverged
    zero_start = float(batch_nll(trainer.model.train(), second).detach())   # the restored weights, zeros
    assert trainer.step(second).loss == pytest.approx(zero_start, rel=1e-6)


def test_history_padding_counts_the_windows():
    pieces = [np.zeros((n, 88), np.uint8) for n in (10, 3, 7)]
    trainer = Trainer(Settings(units=4, epochs=1, batch_size=3, truncate=4, carry_state=True))
    row = fit(trainer, pieces, pieces)[0]
    assert row["updates"] == 3
    assert row["padding"] == round(1 - 20 / (3 * 4 + 2 * 4 + 1 * 2), 4)   # 20 real of 22 slots


@pytest.mark.parametrize("arch,variant", MODELS)
def test_fast_and_reference_paths_agree_on_carried_updates(arch, variant):
    pieces = toy_pieces([40, 23, 31, 12], seed=3)
    batches = make_batches(pieces, 2, 9, seed=4, epoch=1, carry=True)
    assert sum(b.carried for b in batches) >= 3
    losses = []
    for enabled in (True, False):
        previous = fast_rnn.set_enabled(enabled)
        try:
            trainer = Trainer(Settings(arch=arch, variant=variant, units=10, seed=11, weight_noise=0.05,
                                       lr=3e-3, carry_state=True))
            losses.append([trainer.step(b).loss for b in batches])
        finally:
            fast_rnn.set_enabled(previous)
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)




@pytest.mark.parametrize("name,arch,variant", [("jsb", "gru", "torch"), ("nottingham", "lstm", "paper")])
def test_carried_state_training_lowers_the_loss_on_real_data(name, arch, variant, request):
    pieces = request.getfixturevalue(name).splits["train"][:16]
    trainer = Trainer(Settings(arch=arch, variant=variant, lr=1e-2, batch_size=8, truncate=50,
                               carry_state=True, seed=0))
    before = evaluate(trainer.model, pieces)["nll"]
    batches = make_batches(pieces, 8, 50, seed=0, epoch=1, carry=True)
    assert any(b.carried for b in batches)
    for _ in range(3):
        results = [trainer.step(b) for b in batches]
    assert not any(r.diverged for r in results)
    assert evaluate(trainer.model, pieces)["nll"] < 0.8 * before


def test_command_line_and_reproduction_take_the_setting():
    args = build_parser().parse_args(["train", "--carry-state", "--out", "x"])
    assert _settings_from(args).carry_state is True
    assert _settings_from(build_parser().parse_args(["train", "--out", "x"])).carry_state is False
    carried = ReproduceConfig(carry_state=True)
    assert carried.run_settings("jsb", "gru", 0).carry_state
    assert carried.run_path("jsb", "gru", 0).parts[-3] == "paper-carry"   # apart from the protocol's runs
    assert ReproduceConfig().run_path("jsb", "gru", 0).parts[-3] == "paper"
    # the committed reproduction's batching stays the default there; reshuffled runs sit apart
    assert not ReproduceConfig().run_settings("jsb", "gru", 0).reshuffle
    reshuffled = ReproduceConfig(reshuffle=True)
    assert reshuffled.run_settings("jsb", "gru", 0).reshuffle
    assert reshuffled.run_path("jsb", "gru", 0).parts[-3] == "paper-reshuffle"
    assert _settings_from(build_parser().parse_args(["train", "--out", "x"])).reshuffle is True
    assert _settings_from(build_parser().parse_args(["train", "--no-reshuffle", "--out", "x"])).reshuffle is False
    with pytest.raises(ValueError, match="carry_state and reshuffle must be True or False"):
        Settings(carry_state="yes")
    assert Settings.from_dict(Settings(carry_state=True).to_dict()).carry_state is True
