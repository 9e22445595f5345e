"""The class board under AppTest, beside two students' Labs in the same server: behind its key
(none, wrong, right; a right key leaves the address bar), one row per open Lab with each
student's name, setup, updates and validation NLLs as their own page shows them, in English,
Korean and projector mode; and the Lab's name field."""
import json
import re

import pytest

from app import classroom as board
from app import session
from tests.apptest import decode, new_app, open_page
from tests.test_app import run_until, updates

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def page_text(at) -> str:
    """Everything the page holds (every element's message, charts' specs included)."""
    out = []

    def walk(node):
        if getattr(node, "proto", None) is not None:
            out.append(str(node.proto))
        for child in getattr(node, "children", {}).values():
            walk(child)
    walk(at._tree)
    return "\n".join(out)


def values(at, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def numbers_shown(at) -> bool:
    return any(m.label.startswith("GRU") for m in at.metric) and at.session_state["lab_client"].numbers


@pytest.fixture(scope="module")
def as_student():
    """AppTest gives every app the same session id; here each student gets their own, as each
    browser does (the pool keys a worker by it): ``as_student(at, "id")`` runs ``at`` as "id"."""
    current, real = {}, session._session_id
    patch = pytest.MonkeyPatch()
    patch.setattr(session, "_session_id", lambda: current.get("id") or real())

    def student(at, sid: str):
        run = at._run

        def run_as(*args, **kwargs):
            current["id"] = sid
            try:
                return run(*args, **kwargs)
            finally:
                current.pop("id", None)
        at._run = run_as
        return at
    yield student
    patch.undo()


@pytest.fixture(scope="module")
def students(as_student):
    """Hypatia (named by her link) trains GRU and LSTM; the second student types "Euclid" in the
    sidebar and trains the tanh RNN and the GRU; each takes one Step."""
    hypatia = run_until(as_student(new_app(name="Hypatia", archs="gru,lstm", budget="2000"), "hypatia"), numbers_shown,
                    what="Hypatia's Lab")
    euclid = run_until(as_student(new_app(archs="tanh,gru", budget="2000"), "euclid"), numbers_shown,
                    what="the second Lab")
    assert euclid.sidebar.text_input(key="student_name").placeholder.startswith("Student ")
    euclid.sidebar.text_input(key="student_name").input("Euclid").run()
    assert euclid.query_params["name"] == "Euclid"  # a reload keeps it
    for at in (hypatia, euclid):
        at.button(key="step").click().run()
        run_until(at, lambda a: updates(a) == [1, 1], what="one update")
    yield hypatia, euclid
    for at in (hypatia, euclid):
        at.session_state["lab_client"].close()


@pytest.mark.parametrize("params", [{}, {"key": "wrong"}, {"key": "KEY+"}, {"key": "비밀번호"},
                                    {"key": "", "lang": "ko"}, {"key": "wrong", "projector": "1"}])
def test_without_the_key_the_board_shows_a_message_and_no_session_data(students, params):
    params = {k: board.teacher_key() + "x" if v == "KEY+" else v for k, v in params.items()}
    at = open_page("board/board.py", **params)
    [message] = values(at, "warning")
    assert "/board?key=" in message and bool(HANGUL.search(message)) == (params.get("lang") == "ko")
    text = page_text(at)
    assert "Hypatia" not in text and "Euclid" not in text and "lab?" not in text and board.teacher_key() not in text
    assert not at.get("plotly_chart")
    assert "board_unlocked" not in at.session_state or not at.session_state["board_unlocked"]


def row_cells(at) -> dict[str, list[str]]:
    """Student name -> the cells of their row in the board's table (markdown)."""
    [table] = [m for m in values(at, "markdown") if m.startswith("| ")]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        rows[re.match(r"\[(.*?)\]", cells[0]).group(1)] = cells
    return rows


def valid_metrics(at) -> dict[str, str]:
    return {m.label.split(":")[0]: m.value for m in at.metric if "validation" in m.label}


def test_the_board_shows_each_open_lab_as_its_page_does(students):
    hypatia, euclid = students
    at = open_page("board/board.py", key=board.teacher_key())
    assert "key" not in at.query_params  # off the address bar a projector shows
    rows = row_cells(at)
    assert {"Hypatia", "Euclid"} <= set(rows)
    header = [m for m in values(at, "markdown") if m.startswith("| ")][0].splitlines()[0]
    assert [h.strip() for h in header.strip("|").split("|")][:4] == ["Student", "Data", "Units", "Updates"]
    assert "tanh RNN valid NLL" in header and "GRU valid NLL" in header and "LSTM valid NLL" in header
    a, b = rows["Hypatia"], rows["Euclid"]
    assert a[1] == r"Built\-in chorales" and a[2] == r"GRU\, LSTM" and a[3] == "1"
    assert b[2] == r"tanh RNN\, GRU" and b[3] == "1"
    assert a[4] == "" and [a[5], a[6]] == [valid_metrics(hypatia)["GRU"], valid_metrics(hypatia)["LSTM"]]
    assert [b[4], b[5]] == [valid_metrics(euclid)["tanh RNN"], valid_metrics(euclid)["GRU"]] and b[6] == ""
    link = re.search(r"\]\((lab\?[^)]*)\)", a[0]).group(1)
    assert "archs=gru%2Clstm" in link and "budget=2000" in link and "Hypatia" not in link
    ranked = [m for m in values(at, "markdown") if m.startswith("- **")]
    assert ranked and "Hypatia" in ranked[0] and "Euclid" in ranked[0]
    [chart] = at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    named = {n for trace in spec["data"] for n in trace.get("text", [])}
    assert {"Hypatia", "Euclid"} <= named
    gru = [t for t in spec["data"] if t.get("name") == "GRU"][0]
    assert {"Hypatia", "Euclid"} <= set(gru["text"]) and decode(gru["x"])[0] == 0  # evaluated at update 0
    # the right key unlocked this session: refreshes need no key in the address bar
    at.run()
    assert set(row_cells(at)) >= {"Hypatia", "Euclid"}
    at.query_params["key"] = "wrong"  # a wrong key locks it again
    at.run()
    assert values(at, "warning") and "Hypatia" not in page_text(at)


def test_the_board_in_korean_and_projector_mode(students):
    at = open_page("board/board.py", key=board.teacher_key(), lang="ko", projector="1")
    header = [m for m in values(at, "markdown") if m.startswith("| ")][0].splitlines()[0]
    assert header.startswith("| 학생 | 데이터 | 유닛 | 업데이트 |") and "GRU 검증 NLL" in header
    assert HANGUL.search(values(at, "title")[0])
    link = re.search(r"\]\((lab\?[^)]*)\)", row_cells(at)["Hypatia"][0]).group(1)
    assert link.endswith("&lang=ko&projector=1")  # the setup opens as the board is shown
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["xaxis"]["title"]["text"] == "업데이트" and spec["layout"]["font"]["size"] == 18


def test_a_students_page_shows_no_key_and_no_other_student(students):
    hypatia, euclid = students
    for at, own, other in ((hypatia, "Hypatia", "Euclid"), (euclid, "Euclid", "Hypatia")):
        at.run()
        text = page_text(at)
        assert own in text and "GRU" in text  # the page as drawn: its own name field, its models
        assert board.teacher_key() not in text and other not in text and "/board" not in text


def test_teacher_mode_takes_the_name_from_the_url(as_student):
    at = run_until(as_student(new_app(teacher="1", name="Cem\u200e  Yilmaz", archs="gru", budget="2000"), "cem"),
                   lambda a: a.session_state["lab_client"].numbers, what="a teacher-mode Lab")
    try:
        assert not at.sidebar.text_input  # no field: the URL's name
        assert board.ROSTER.student("cem").name == "Cem Yilmaz"
    finally:
        at.session_state["lab_client"].close()
