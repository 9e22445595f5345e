"""The class board's logic on hand-built stand-ins for the students' clients: the key (constant
time, any text), names (cleaned, numbered, forgotten with their session), the rows, the ranking,
the links, the chart's spec, and that reading the board sends the workers nothing."""
import hmac
import io
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from app import classroom as board
from app import worker
from app.board.views import md
from app.classroom import Roster, board_rows, clean_name, ranking, row_of, setup_link
from app.figures.board import board_figure
from app.figures.common import MODEL_COLORS
from core.training.settings import LabSettings
from tests.apptest import decode


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setattr(board, "_key", None)
    monkeypatch.setenv(board.KEY_ENV, "s3cret-key")
    return "s3cret-key"


def test_the_key_is_compared_in_constant_time(key, monkeypatch):
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    assert board.key_matches(key)
    assert not board.key_matches("s3cret-kez") and not board.key_matches("s3cret-key ")
    assert not board.key_matches("비밀")  # any text: compared as bytes, never a TypeError
    assert compared == [(k.encode(), key.encode()) for k in (key, "s3cret-kez", "s3cret-key ", "비밀")]
    assert not board.key_matches("") and not board.key_matches(None)


def test_without_a_key_set_one_is_drawn_once_and_announced_in_full(monkeypatch):
    monkeypatch.setattr(board, "_key", None)
    monkeypatch.setattr(board, "_announced", False)
    monkeypatch.delenv(board.KEY_ENV, raising=False)
    drawn = board.teacher_key()
    assert len(drawn) >= 20 and board.teacher_key() == drawn and not board.key_from_env()
    out = io.StringIO()
    board.announce(board.local_base(8660, "/school/"), out)
    board.announce(board.local_base(8660), out)  # once per server
    assert out.getvalue().splitlines() == [
        f"GateLab: the class board (for the teacher only): http://localhost:8660/school/board?key={drawn}"]


def test_an_operators_key_is_used_and_never_printed(key, monkeypatch):
    monkeypatch.setattr(board, "_announced", False)
    out = io.StringIO()
    board.announce("http://localhost:8501", out)
    assert board.teacher_key() == key and key not in out.getvalue()
    assert out.getvalue().strip().endswith("/board?key=<GATELAB_TEACHER_KEY>")


def test_make_run_finds_the_port_on_its_command_line(monkeypatch):
    from app import serve
    for argv, port in ((["--server.port", "8662", "--server.headless", "true"], "8662"),
                       (["--server.port=8663"], "8663"), ([], "8501")):
        monkeypatch.setattr("sys.argv", ["app.serve", *argv])
        assert serve._option("--server.port", "8501") == port


def test_names_are_cleaned():
    assert clean_name("  Ada \n Lovelace\t") == "Ada Lovelace"
    assert clean_name("Bob\x00\x1b[31m\u200e") == "Bob[31m"  # control and format characters dropped
    assert clean_name("김민준") == "김민준" and clean_name(None) == ""
    assert len(clean_name("x" * 100)) == board.NAME_MAX


def test_students_are_numbered_from_one_and_forgotten_with_their_session():
    roster = Roster()
    assert [roster.enroll(s, "", now=0.0).number for s in ("a", "b", "c")] == [1, 2, 3]
    assert roster.enroll("a", "Ada", open_ids={"a", "b", "c"}, now=10.0).name == "Ada"
    assert roster.student("a").number == 1  # kept for the session
    # c's tab closed (no worker): forgotten after FORGET_S, and its number is free again
    roster.enroll("a", "Ada", open_ids={"a", "b"}, now=10.0 + board.FORGET_S - 1)
    assert len(roster) == 3
    roster.enroll("a", "Ada", open_ids={"a", "b"}, now=10.0 + board.FORGET_S + 1)
    assert len(roster) == 2 and roster.enroll("d", "", now=100.0).number == 3


def client(archs=("gru", "lstm"), dataset="chorales", running=True, generation=1, steps=40, valid=None):
    """A stand-in for a LabClient: settings, status and the numbers its page last got."""
    settings = LabSettings(dataset=dataset, archs=archs, budget=2000).to_dict()
    valid = valid or {a: np.array([[0, 0.0, 60.0], [20, 1.0, 12.0], [40, 2.0, 11.0 + i]])
                      for i, a in enumerate(archs)}
    numbers = {"status": {"generation": generation, "steps": steps, "running": running},
               "metrics": {a: {"valid_nll": float(v[-1, 2])} for a, v in valid.items()},
               "loss": {a: {"train": np.empty((0, 3)), "valid": v, "binned": False} for a, v in valid.items()},
               "dataset": {"title": dataset}}
    return SimpleNamespace(settings=settings, numbers=numbers, alive=True,
                           status={"ready": True, "running": running, "generation": generation})


def test_a_row_holds_the_latest_numbers_and_the_lowest_so_far():
    roster = Roster()
    row = row_of(client(valid={"gru": np.array([[0, 0, 60.0], [20, 1, 9.5], [40, 2, 10.0]])}),
                 roster.enroll("s1", "Ada"))
    assert (row.number, row.name, row.dataset, row.archs, row.steps, row.running) == \
        (1, "Ada", "chorales", ("gru",), 40, True)
    assert row.valid == {"gru": 10.0} and row.best == {"gru": 9.5}
    assert row.curves["gru"][0].tolist() == [0, 20, 40] and row.curves["gru"][1].tolist() == [60, 9.5, 10]


def test_rows_leave_out_sessions_without_a_lab_and_numbers_of_replaced_models():
    roster = Roster()
    tools_only = SimpleNamespace(settings=None, numbers=None, status={}, alive=True)
    reset = client()
    reset.status["generation"] = 2  # a reset is under way: the numbers are the old models'
    rows = board_rows({"b": client(archs=("tanh", "lstm")), "a": reset, "t": tools_only}, roster)
    assert [r.number for r in rows] == [1, 2]  # by student number
    fresh, old = rows
    assert fresh.archs == ("tanh", "lstm") and fresh.steps == 40
    assert old.steps is None and old.valid == {} and old.archs == ("gru", "lstm")  # from its settings


def test_long_curves_are_thinned_for_the_board():
    x = np.arange(10_000, dtype=float)
    tx, ty = board.thin(x, x * 2)
    assert len(tx) == board.CURVE_POINTS and tx[0] == 0 and tx[-1] == 9999 and (ty == 2 * tx).all()
    short = np.arange(5.0)
    assert board.thin(short, short)[0] is short


def test_the_ranking_is_per_dataset_and_unit_lowest_first():
    roster = Roster()

    def c(gru, lstm=None, dataset="chorales"):
        v = {"gru": np.array([[0, 0, 60.0], [10, 1, gru]])}
        if lstm is not None:
            v["lstm"] = np.array([[0, 0, 60.0], [10, 1, lstm]])
        return client(archs=tuple(v), dataset=dataset, valid=v)
    sessions = {"a": c(9.0, 8.0), "b": c(8.5), "c": c(math.nan, 7.0), "d": c(9.5), "e": c(7.5, dataset="jsb"),
                "f": c(8.5)}
    for sid in sessions:
        roster.enroll(sid, sid.upper())
    ranked = ranking(board_rows(sessions, roster))
    assert list(ranked) == ["chorales", "jsb"]
    assert [(r.name, nll) for r, nll in ranked["chorales"]["gru"]] == [("B", 8.5), ("F", 8.5), ("A", 9.0)]
    assert [(r.name, nll) for r, nll in ranked["chorales"]["lstm"]] == [("C", 7.0), ("A", 8.0)]
    assert [(r.name, nll) for r, nll in ranked["jsb"]["gru"]] == [("E", 7.5)]


def test_a_student_training_units_taken_apart_is_a_row_and_ranked():
    """A Lab may train any six units (issue 29): the board keeps every one of them, in the
    choosers' order, and ranks each (a unit outside the paper's three once stopped the board)."""
    roster = Roster()
    v = {"lstm-nfg": np.array([[0, 0, 60.0], [10, 1, 8.0]]), "mgu": np.array([[0, 0, 60.0], [10, 1, 9.0]]),
         "lstm": np.array([[0, 0, 60.0], [10, 1, 9.5]])}
    rows = board_rows({"a": client(archs=tuple(v), valid=v)}, roster)
    assert rows[0].archs == ("lstm", "lstm-nfg", "mgu") and rows[0].best["lstm-nfg"] == 8.0
    assert list(ranking(rows)["chorales"]) == ["lstm", "lstm-nfg", "mgu"]


def test_the_setup_link_is_the_settings_only():
    roster = Roster()
    row = row_of(client(), roster.enroll("s", "Ada"))
    link = setup_link(row, lang="ko", projector=None)
    assert link.startswith("lab?dataset=chorales&") and "archs=gru%2Clstm" in link and link.endswith("&lang=ko")
    assert "Ada" not in link and "key" not in link and "projector" not in link
    params = dict(p.split("=") for p in link[4:].split("&"))
    assert LabSettings.from_params({**params, "archs": "gru,lstm"})[0] == LabSettings(**client().settings)


def test_names_are_text_in_markdown():
    assert md("[x](javascript:alert(1))") == r"\[x\]\(javascript\:alert\(1\)\)"
    assert md("a|b *c* $x$ <b>") == r"a\|b \*c\* \$x\$ \<b\>"
    assert md("김민준") == "김민준"


def test_the_chart_has_one_colour_per_unit_and_one_line_per_student():
    curves = {"gru": [("Ada", [0, 10, 20], [60.0, 10.0, 9.0]), ("Bob", [0, 10], [60.0, 11.0])],
              "lstm": [("Ada", [0, 10, 20], [60.0, 12.0, 9.5]), ("Cem", [], [])]}
    spec = json.loads(board_figure(curves).to_json())  # as the browser gets it
    lines, ends = spec["data"][0::2], spec["data"][1::2]
    assert [t["name"] for t in lines] == ["GRU", "LSTM"]
    assert [t["line"]["color"] for t in lines] == [MODEL_COLORS["gru"], MODEL_COLORS["lstm"]]
    assert [t["marker"]["color"] for t in ends] == [MODEL_COLORS["gru"], MODEL_COLORS["lstm"]]
    gru_x, gru_y = decode(lines[0]["x"]), decode(lines[0]["y"])
    assert gru_x.tolist()[:3] == [0, 10, 20] and math.isnan(gru_x[3]) and gru_x.tolist()[4:6] == [0, 10]
    assert gru_y[:3].tolist() == [60, 10, 9] and not lines[0]["connectgaps"]
    assert lines[0]["text"] == ["Ada"] * 3 + [""] + ["Bob"] * 2 + [""]
    assert decode(ends[0]["x"]).tolist() == [20, 10] and decode(ends[0]["y"]).tolist() == [9, 11]
    assert ends[0]["text"] == ["Ada", "Bob"] and ends[1]["text"] == ["Ada"]  # Cem: no point yet
    assert "%{text}" in lines[0]["hovertemplate"]
    assert spec["layout"]["yaxis"]["autorange"]  # a few points: the whole history
    # long curves: the early ~60 nats are above the fitted range, and the chart says how high they go
    x = np.arange(0, 200, 5.0)
    spec = board_figure({"gru": [(n, x, 9 + 50 * np.exp(-x / 10) + i) for i, n in enumerate("AB")]}).to_json()
    spec = json.loads(spec)
    assert spec["layout"]["yaxis"]["range"][1] < 20 and "60" in spec["layout"]["annotations"][0]["text"]


def test_the_chart_speaks_korean():
    spec = json.loads(board_figure({"gru": [("민준", [0, 5], [10.0, 9.0])]}, lang="ko").to_json())
    assert spec["layout"]["xaxis"]["title"]["text"] == "업데이트"
    assert "업데이트" in spec["data"][0]["hovertemplate"]


def test_a_client_keeps_its_pages_latest_numbers_and_the_pool_lists_sessions(monkeypatch):
    c = object.__new__(worker.LabClient)
    c.numbers = None
    reply = {"status": {"generation": 1, "steps": 5}, "metrics": {}, "loss": {}, "dataset": {}}
    c.request = lambda *args, **kwargs: reply
    assert c.get(timeout=0.1) is reply and c.numbers is reply
    # other requests (views, up to a second older while training; the CSV) leave them
    c.request = lambda *args, **kwargs: {**reply, "status": {"generation": 1, "steps": 4}, "views": {}}
    c.get(views={"piece": 0})
    c.request = lambda *args, **kwargs: {"status": {}, "csv": "x"}
    c.get(csv=True)
    assert c.numbers is reply
    pool = worker.WorkerPool(limit=3, is_active=lambda sid: sid != "closing")
    pool._clients = {"a": SimpleNamespace(alive=True), "b": SimpleNamespace(alive=False),
                     "closing": SimpleNamespace(alive=True)}  # e.g. the session of a reloaded page
    assert list(pool.sessions()) == ["a"]
    pool._clients = {}  # nothing for its reaper thread to end


def test_reading_the_board_sends_the_workers_nothing():
    class Client(SimpleNamespace):
        def request(self, *args, **kwargs):
            raise AssertionError("the board asked a worker")
        get = request
    stand_in = client()
    sessions = {"a": Client(**vars(stand_in))}
    assert board_rows(sessions, Roster())[0].valid == {"gru": 11.0, "lstm": 12.0}
