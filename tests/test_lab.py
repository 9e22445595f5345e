"""core.lab: settings <-> URL, the shared-batch Lab, its snapshots, and the worker protocol."""
import threading
from multiprocessing import Pipe

import numpy as np
import pytest

from core.lab import Lab, bin_means, history_csv, load_lab_dataset, protocol, validation_pieces
from core.lab import worker as worker_module
from core.lab.worker import Worker, run_worker
from core.training import train as train_module
from core.training.settings import LabSettings
from core.units.spec import count_parameters


@pytest.fixture(scope="module")
def chorales():
    return load_lab_dataset("chorales")


@pytest.fixture(scope="module")
def small_lab(chorales):
    return Lab(LabSettings(eval_every=2), chorales)


def test_settings_round_trip_through_url_params():
    s = LabSettings(dataset="long-memory", archs=("lstm", "tanh"), variant="paper", budget=12000,
                    optimizer="rmsprop", lr=3e-4, clip=0.0, weight_noise=0.075, batch_size=16,
                    truncate=0, carry_state=True, reshuffle=False, seed=7, eval_every=3)
    params = s.to_params()
    assert params["carry_state"] == "true" and params["reshuffle"] == "false"
    assert params["archs"] == "tanh,lstm"  # canonical order
    assert all(isinstance(v, str) for v in params.values())
    back, problems = LabSettings.from_params(params)
    assert back == s and problems == {}


def test_bad_url_params_keep_defaults_and_are_reported():
    s, problems = LabSettings.from_params({"lr": "-1", "archs": "gru,xlstm", "batch_size": "2.5",
                                           "seed": "11"})
    assert s.lr == LabSettings.lr and s.archs == LabSettings.archs
    assert s.batch_size == LabSettings.batch_size and s.seed == 11
    assert sorted(problems) == ["archs", "batch_size", "lr"] and "xlstm" in problems["archs"]
    s, problems = LabSettings.from_params({"carry_state": "maybe"})
    assert s.carry_state is False and "true or false" in problems["carry_state"]


def test_carried_state_in_the_lab_walks_pieces_in_windows(chorales):
    """With carry_state the Lab's batches continue pieces window by window (Batch.carried)."""
    lab = Lab(LabSettings(archs=("gru",), truncate=8, carry_state=True, batch_size=4), chorales)
    for _ in range(4):
        lab.step()
    assert lab.trainers["gru"].settings.carry_state and lab.trainers["gru"].updates == 4
    assert any(b.carried for b in lab._batches)


def test_settings_reject_no_architecture():
    with pytest.raises(ValueError, match="at least one"):
        LabSettings(archs=())


def test_specs_give_units_and_exact_parameter_counts():
    specs = LabSettings(budget=20000).specs()
    assert [s.arch for s in specs] == ["tanh", "gru", "lstm"]
    for s in specs:
        assert s.n_params == count_parameters(s.arch, s.units, s.variant)
        assert abs(s.n_params - 20000) < 600


def test_bin_means_by_hand():
    idx, means = bin_means(np.array([1.0, 3.0, 5.0, 7.0]), 2)
    assert means.tolist() == [2.0, 6.0] and idx.tolist() == [0.5, 2.5]
    idx, means = bin_means(np.array([4.0, 5.0]), 10)
    assert means.tolist() == [4.0, 5.0] and idx.tolist() == [0.0, 1.0]


def test_validation_pieces_caps_steps_but_keeps_one():
    pieces = [np.zeros((n, 88), np.uint8) for n in (30, 30, 30)]
    assert len(validation_pieces(pieces, max_steps=65)) == 2
    assert len(validation_pieces(pieces, max_steps=10)) == 1


def test_step_updates_every_model_once_on_the_same_batch(chorales, monkeypatch):
    lab = Lab(LabSettings(eval_every=100), chorales)
    seen = []
    original = train_module.Trainer.step

    def spy(trainer, batch):
        seen.append((trainer.settings.arch, id(batch)))
        return original(trainer, batch)
    monkeypatch.setattr(train_module.Trainer, "step", spy)
    lab.step()
    lab.step()
    assert [a for a, _ in seen] == ["tanh", "gru", "lstm"] * 2
    assert len({b for _, b in seen[:3]}) == 1 and len({b for _, b in seen[3:]}) == 1
    assert seen[0][1] != seen[3][1]
    assert {a: t.updates for a, t in lab.trainers.items()} == {"tanh": 2, "gru": 2, "lstm": 2}


def test_validation_cadence_and_history(small_lab):
    lab = small_lab
    for _ in range(4):
        lab.step()
    valid = lab.valid_rows["gru"]
    assert [row[0] for row in valid] == [0, 2, 4]  # update 0, then every 2 steps
    hist = lab.loss_history(max_points=3)
    assert hist["gru"]["train"].shape == (3, 3) and hist["gru"]["binned"]
    assert hist["gru"]["valid"].shape == (3, 3)
    m = lab.metrics()["lstm"]
    assert m["updates"] == 4 and np.isfinite(m["train_nll"]) and m["valid_nll"] < 70
    csv = history_csv(lab.history_rows()).splitlines()
    assert csv[0] == "model,kind,updates,seconds,nll,accuracy"
    assert len(csv) == 1 + 3 * (4 + 3)


def test_views_are_windows_of_exact_traces(small_lab):
    v = small_lab.views(piece=1, start=8, length=16)
    piece = small_lab.pieces[1]
    assert v["start"] == 8 and v["n_steps"] == len(piece)
    assert np.array_equal(v["target"], piece[8:24])
    gru, lstm, tanh = v["models"]["gru"], v["models"]["lstm"], v["models"]["tanh"]
    assert set(gru["gates"]) == {"z", "r", "h_tilde"} and set(lstm["gates"]) == {"i", "f", "o", "g"}
    assert tanh["gates"] == {} and tanh["state_name"] == "h" and lstm["state_name"] == "c"
    assert gru["gates"]["z"].shape == (16, gru["units"]) and lstm["probs"].shape == (16, 88)
    assert gru["pca"].shape == (16, 2) and sorted(gru["unit_order"]) == list(range(gru["units"]))
    from core.insight.trace import trace
    full = trace(small_lab.trainers["gru"].model, piece)
    assert np.allclose(gru["gates"]["z"], full["z"][8:24], atol=1e-6)  # causal: prefix = full
    assert small_lab.views(piece=1, start=8, length=16) is v  # cached until the next step


def test_divergence_is_reported_and_undone(chorales):
    lab = Lab(LabSettings(lr=1e38, clip=0.0, archs=("gru",)), chorales)
    lab.step()
    assert lab.trainers["gru"].updates == 0 and lab.steps == 1
    assert any(w["kind"] == "diverged" and "smaller learning rate" in w["text"] for w in lab.warnings())


def test_worker_commands(chorales, monkeypatch):
    monkeypatch.setattr(worker_module, "load_lab_dataset", lambda name: chorales)
    w = Worker()
    assert w.handle("get")["status"]["ready"] is False
    w.handle("reset", LabSettings(archs=("lstm",)).to_dict())
    assert w.handle("play")["status"]["running"]
    w.tick()
    assert w.handle("pause")["status"]["updates"] == {"lstm": 1}
    w.tick()  # paused: no training
    reply = w.handle("step")
    assert reply["status"]["updates"] == {"lstm": 2} and not reply["status"]["running"]
    got = w.handle("get", {"views": {"piece": 0, "length": 8}, "csv": True})
    assert got["views"]["models"]["lstm"]["probs"].shape == (8, 88) and got["csv"].startswith("model,")
    assert got["metrics"]["lstm"]["updates"] == 2


def test_worker_reports_a_missing_dataset(monkeypatch):
    from core.music.rolls import DataError

    def missing(name):
        raise DataError(f"{name}: no local copy and the download failed (offline)")
    monkeypatch.setattr(worker_module, "load_lab_dataset", missing)
    w = Worker()
    status = w.handle("reset", LabSettings(dataset="jsb").to_dict())["status"]
    assert status["error"] == "jsb: no local copy and the download failed (offline)"
    assert not status["ready"] and not w.handle("play")["status"]["running"]


def test_run_worker_answers_then_exits_on_stop_or_end_of_file_never_on_silence(chorales, monkeypatch):
    monkeypatch.setattr(worker_module, "load_lab_dataset", lambda name: chorales)
    server, conn = Pipe()
    thread = threading.Thread(target=run_worker, args=(conn,), daemon=True)
    thread.start()
    server.send((1, "reset", LabSettings(archs=("tanh",)).to_dict()))
    server.send((2, "step"))
    assert server.recv()[0] == 1
    message_id, reply = server.recv()
    assert message_id == 2 and reply["status"]["updates"] == {"tanh": 1}
    thread.join(1.0)
    assert thread.is_alive()  # a silent page (a hidden tab) keeps its worker
    server.send((3, "stop"))
    thread.join(5)
    assert not thread.is_alive()
    server, conn = Pipe()
    closed = threading.Thread(target=run_worker, args=(conn,), daemon=True)
    closed.start()
    server.close()  # the server died: end of file
    closed.join(5)
    assert not closed.is_alive()


def test_an_over_large_setup_is_refused_with_the_numbers_for_the_page(chorales, monkeypatch):
    monkeypatch.setattr(worker_module, "load_lab_dataset", lambda name: chorales)
    w = Worker()
    longest = max(len(p) for p in chorales.splits["train"])
    huge = LabSettings(archs=("gru",), budget=500_000, batch_size=512, truncate=0)
    status = w.handle("reset", huge.to_dict())["status"]
    assert status["limit"] == {"budget": 500_000, "batch_size": 512, "chunk": longest,
                               "work": 500_000 * 512 * longest, "max_work": protocol.MAX_SESSION_WORK}
    assert not status["ready"] and "limit" in status["error"]
    ok = w.handle("reset", LabSettings(archs=("gru",)).to_dict())["status"]
    assert ok["ready"] and ok["limit"] is None and ok["error"] is None


def test_worker_keeps_the_last_views_traced_and_answers_them_from_the_reader(chorales, monkeypatch):
    monkeypatch.setattr(worker_module, "load_lab_dataset", lambda name: chorales)
    monkeypatch.setattr(Worker, "VIEWS_EVERY_S", 0.0)  # re-trace after every step
    w = Worker()
    w.handle("reset", LabSettings(archs=("gru",)).to_dict())
    request = {"piece": 1, "start": 0, "length": 8}
    assert worker_module._cached_reply(w, (1, "get", {"views": request})) is None  # never asked
    first = w.handle("get", {"views": request})
    cached = worker_module._cached_reply(w, (2, "get", {"views": request}))
    assert cached["views"]["piece"] == 1 and cached["status"]["steps"] == 0
    w.handle("play")
    w.tick()
    w.tick()
    later = worker_module._cached_reply(w, (3, "get", {"views": request}))
    assert later["status"]["steps"] == 2 and later["status"]["running"]
    gates = later["views"]["models"]["gru"]["gates"]["z"]
    assert not np.allclose(gates, first["views"]["models"]["gru"]["gates"]["z"])  # re-traced
    np.testing.assert_allclose(gates, w.lab.views(**request)["models"]["gru"]["gates"]["z"])
    assert not w.handle("pause")["status"]["running"]
    assert worker_module._cached_reply(w, (4, "get", {"views": request}))["status"]["running"] is False
    other = {"piece": 2, "start": 0, "length": 8}  # another piece, csv, weights: the loop answers
    assert worker_module._cached_reply(w, (5, "get", {"views": other})) is None
    assert worker_module._cached_reply(w, (6, "get", {"views": request, "csv": True})) is None
    w.handle("reset", LabSettings(archs=("gru",)).to_dict())
    assert worker_module._cached_reply(w, (7, "get", {"views": request})) is None  # new models


def test_the_loss_history_kept_as_an_array_is_the_rows_as_they_grow(chorales):
    """The loss history reads the train rows as an array kept up to date row by row (not the
    whole list converted ten times a second): after every round of new rows, across the
    buffer's growth, it equals a fresh conversion, binned and not."""
    lab = Lab(LabSettings(archs=("gru",)), chorales)
    rows = lab.train_rows["gru"]
    for n in (3, 250, 251, 1024, 1025, 5000):
        rows.extend((i, 0.01 * i, 5.0 + np.sin(i)) for i in range(len(rows), n))
        want = np.asarray(rows, dtype=float)
        got = lab.loss_history(max_points=250)["gru"]["train"]
        idx, nll = bin_means(want[:, 2], 250)
        np.testing.assert_array_equal(got[:, 2], nll)
        np.testing.assert_allclose(got[:, 0], np.interp(idx, np.arange(n), want[:, 0]))
