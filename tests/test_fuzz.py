"""Property-based tests of every input surface a user reaches: the invariant is "a clear message
or a result; never a traceback, a hang, or lost state". Hypothesis draws the inputs; CI runs a
bounded, derandomised number of examples (profile ``ci``), ``make fuzz`` many more (``fuzz``).
Inputs it found that once broke GateLab are kept below as ``@example``s.
"""
import io
import os
import pickle
import signal
import time
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.errors import GateLabError
from core.music.midi import midi_to_roll
from core.training import checkpoint
from tests.apptest import new_app
from tests.test_upload import GOOD

ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = ROOT / "assets" / "pretrained" / "jsb-gru-torch.pt"
settings.register_profile("ci", max_examples=25, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("fuzz", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
PROFILE = os.environ.get("GATELAB_FUZZ_PROFILE", "ci")
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """``n`` examples in CI, ten times as many on demand (``make fuzz``)."""
    return n if PROFILE == "ci" else 10 * n
PER_INPUT_S = 10  # "never a hang": one input must be answered within this


@contextmanager
def within(seconds: float):
    """Fail, instead of hanging, when the block takes longer than ``seconds``."""
    def timeout(*_):
        raise AssertionError(f"no answer within {seconds} s: a hang")
    previous = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- numbers and text as a URL or a command line carries them ----------------------------------------
EXTREME = st.sampled_from(["inf", "-inf", "nan", "1e400", "-1e400", "1e308", "-0", "0", "-1", "1e-320",
                           "9" * 40, "0x10", "1_000", " 3 ", "", "NaN", "Infinity", "１２", "٣"])
NUMBERS = st.one_of(EXTREME, st.integers(-2**70, 2**70).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr))
VALUES = st.one_of(NUMBERS, st.text(max_size=12), st.sampled_from(["true", "false", "gru,lstm", "tanh,x",
                                                                   "paper", "rmsprop", "midi", "jsb"]))


# -- MIDI bytes ---------------------------------------------------------------------------------------
def mutate(data: bytes, ops) -> bytes:
    out = bytearray(data)
    for kind, at, value in ops:
        at = at % max(len(out), 1)
        if kind == "flip" and out:
            out[at] ^= 1 << (value % 8)
        elif kind == "cut":
            del out[at:]
        elif kind == "insert":
            out[at:at] = b"MTrk" + (value % 2**32).to_bytes(4, "big")  # a chunk of any declared length
        elif kind == "length" and len(out) >= 22:
            out[18:22] = (value % 2**32).to_bytes(4, "big")  # the first track's declared length
    return bytes(out)


OPS = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "length"]), st.integers(0, 10**6),
                         st.integers(0, 2**32)), min_size=1, max_size=6)


@given(OPS)
@example([("length", 0, 2**32 - 1)])   # a track that claims 4 GB
@example([("insert", 14, 2**31)])      # an inserted chunk that claims 2 GB
@example([("cut", 13, 0)])             # the header cut mid-way
def test_any_midi_bytes_give_a_roll_or_a_midi_error(ops):
    data = mutate(GOOD, ops)
    with within(PER_INPUT_S):
        try:
            piece = midi_to_roll(data)
        except GateLabError as e:
            assert str(e) and e.kind != "other" or str(e)
            return
    assert piece.roll.shape[1] == 88 and piece.roll.dtype == np.uint8


# -- checkpoint bytes ---------------------------------------------------------------------------------
GOOD_CHECKPOINT = PRETRAINED.read_bytes()


class Smuggled:
    """An object a pickle would rebuild by running code: weights_only must refuse it."""

    def __reduce__(self):
        return (os.system, ("echo smuggled",))


def other_files() -> dict[str, bytes]:
    extra = io.BytesIO()
    torch.save({**torch.load(io.BytesIO(GOOD_CHECKPOINT), weights_only=True), "extra": Smuggled()}, extra)
    plain = io.BytesIO()
    torch.save({"format": "something else", "state_dict": {"w": torch.zeros(2)}}, plain)
    wrong = torch.load(io.BytesIO(GOOD_CHECKPOINT), weights_only=True)
    wrong["spec"] = {**wrong["spec"], "arch": "lstm"}  # another model's weights under this name
    other = io.BytesIO()
    torch.save(wrong, other)
    return {"extra objects": extra.getvalue(), "not gatelab": plain.getvalue(), "another model": other.getvalue(),
            "empty": b"", "text": b"hello"}


@pytest.mark.parametrize("name, data", other_files().items())
def test_files_that_are_not_this_models_checkpoint_are_refused(name, data):
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.load(data)


@given(OPS)
@example([("cut", 100, 0)])
def test_any_checkpoint_bytes_give_a_model_or_a_checkpoint_error(ops):
    data = mutate(GOOD_CHECKPOINT, [(k, a, v) for k, a, v in ops if k != "length"])
    with within(PER_INPUT_S):
        try:
            model, payload = checkpoint.load(data)
        except checkpoint.CheckpointError as e:
            assert str(e)
            return
    assert model.spec.arch == "gru" and payload["format"] == checkpoint.FORMAT


# -- dataset files ------------------------------------------------------------------------------------
@given(OPS, st.sampled_from(["jsb", "nottingham"]))
@settings(max_examples=examples(15))
def test_any_dataset_file_gives_data_or_a_data_error(tmp_path_factory, ops, name):
    from core.music.data import load_dataset
    from core.music.polyphonic import PAPER_SPECS
    source = pickle.dumps({"train": [[(60, 64)], [(62,)]], "valid": [[(65,)]], "test": [[(67, 71)]]})
    folder = tmp_path_factory.mktemp("data")
    (folder / PAPER_SPECS[name].filename).write_bytes(mutate(source, ops))
    mp = pytest.MonkeyPatch()
    mp.setenv("GATELAB_DATA_DIR", str(folder))
    mp.setenv("GATELAB_CACHE_DIR", str(folder / "cache"))
    try:
        with within(PER_INPUT_S), pytest.raises(GateLabError):  # never the published content:
            load_dataset(name, download=False)                   # its fingerprint fails at least
    finally:
        mp.undo()


def test_another_datasets_pickle_under_this_name_is_refused(data_dir, tmp_path, monkeypatch):
    from core.music.data import load_dataset
    (tmp_path / "JSB Chorales.pickle").write_bytes((data_dir / "Nottingham.pickle").read_bytes())
    monkeypatch.setenv("GATELAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATELAB_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(GateLabError, match="JSB Chorales.pickle"):
        load_dataset("jsb", download=False)


# -- the command line ---------------------------------------------------------------------------------
def cli(*argv) -> tuple[int, str]:
    from core.cli import main
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:  # argparse: a usage message and exit 2
            code = e.code
    return code, err.getvalue()


PATHS = st.sampled_from(["/nonexistent/x.pt", "/", "/proc/self", "/dev/null", str(PRETRAINED), "", "-"])


@given(st.sampled_from(["sample", "trace", "evaluate"]), NUMBERS, NUMBERS, PATHS, PATHS)
@example("sample", "1e9", "1", str(PRETRAINED), "/proc/x/out.mid")  # a billion steps: refused, not a hang
@example("trace", "99999", "0", str(PRETRAINED), "/nonexistent/dir/t.npz")
def test_any_cli_arguments_give_a_result_or_one_clear_line(tmp_path_factory, command, a, b, source, out):
    folder = tmp_path_factory.mktemp("cli")
    target = out if out.startswith("/proc") or out.startswith("/nonexistent") else str(folder / "out")
    argv = {"sample": ["sample", "--checkpoint", source, "--steps", a, "--temperature", b, "--out", target + ".mid"],
            "trace": ["trace", "--checkpoint", source, "--dataset", "chorales", "--index", a, "--out", target],
            "evaluate": ["evaluate", "--checkpoint", source, "--dataset", "chorales", "--split", "valid"]}[command]
    t0 = time.monotonic()
    with within(PER_INPUT_S * 3):
        code, err = cli(*argv)
    assert code in (0, 2), err
    assert "Traceback" not in err and (code == 0 or err.strip().splitlines()[-1].startswith(
        ("error:", "python -m core"))), err
    assert time.monotonic() - t0 < PER_INPUT_S * 3


# -- URL parameters of every page ---------------------------------------------------------------------
PAGES = ["lab/lab.py", "tools/tools.py", "lesson/lesson.py", "paper/paper.py", "guide/guide.py",
         "upload/upload.py", "board/board.py"]
KEYS = st.sampled_from(["dataset", "archs", "variant", "budget", "optimizer", "lr", "clip", "weight_noise",
                        "batch_size", "truncate", "carry_state", "reshuffle", "seed", "eval_every", "lang", "projector",
                        "teacher", "show", "hide", "tool", "piece", "K", "t", "arch", "gate", "value", "source",
                        "set", "data", "step", "autostart", "low", "high", "über", "", "page", "key", "name"])


@given(st.sampled_from(PAGES), st.dictionaries(KEYS, st.one_of(VALUES, st.lists(VALUES, min_size=2, max_size=3)),
                                               max_size=5))
@settings(max_examples=examples(12))
@example("lab/lab.py", {"batch_size": "inf", "seed": "1e400", "budget": "-inf", "truncate": "1e999"})
@example("tools/tools.py", {"teacher": "1", "tool": "memory", "K": "inf", "piece": "1e400"})
@example("lesson/lesson.py", {"teacher": "1", "step": "nan", "autostart": "1"})
@example("board/board.py", {"key": "비밀\x00", "projector": "1", "lang": "ko"})
@example("lab/lab.py", {"name": "[x](javascript:alert(1))\n| $x$ \u202e", "archs": "gru"})
def test_any_url_gives_a_page_never_a_traceback(page, params):
    at = new_app(timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    try:
        at.switch_page(page).run()
        assert not at.exception, (page, params, [e.value for e in at.exception])
    finally:
        client = at.session_state["lab_client"] if "lab_client" in at.session_state else None
        if client is not None:
            client.close()
