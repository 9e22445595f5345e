"""The class board in real Chromium pages against `python -m app.serve` (as `make run` starts it),
the key set by GATELAB_TEACHER_KEY: two students name themselves (one by the link's ?name=, one
in the sidebar) and train; the teacher's board, opened with the key, shows both rows with the
numbers their own pages show and a link that opens their setup; without the key, or with a wrong
one, the board shows a message and no names; a student's page (and every websocket message it
got) holds neither the key nor the other student's name. Screenshots: artifacts/browser-board/."""
import re
from pathlib import Path

import pytest

from benchmarks.live_page import METRIC, click, open_browser, shared_steps, streamlit_server, wait_for

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser-board"
KEY = "board-test-key-7Q9"
NAMES = ("Hypatia", "Euclid")
HANGUL = re.compile(r"[\uac00-\ud7a3]")

pytestmark = pytest.mark.browser

METRICS_JS = """() => [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => [
    m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
    m.querySelector('[data-testid="stMetricValue"]').innerText.trim()])"""
TABLE_JS = """() => [...document.querySelectorAll('table tr')]
    .map(tr => [...tr.children].map(c => c.innerText.trim()))"""
CHART_NAMES_JS = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .flatMap(p => (p.data || []).flatMap(t => Array.from(t.text || [])))"""
PAUSED_JS = """() => [...document.querySelectorAll('[data-testid="stMarkdown"]')]
    .some(e => /^paused · step/.test(e.innerText))"""
LINKS_JS = """() => Object.fromEntries([...document.querySelectorAll('table a')]
    .map(a => [a.innerText.trim(), a.href]))"""


def watch_frames(page) -> list[bytes]:
    """Every websocket message the page receives from now on (Streamlit's protobuf deltas)."""
    frames = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: frames.append(payload if isinstance(payload, bytes) else payload.encode())))
    return frames


def address(page) -> str:
    """The address bar as the page has it now (Streamlit rewrites it with history.replaceState)."""
    return page.evaluate("() => location.href")


def student(browser, url: str, query: str, name: str | None = None):
    """A student's Lab in its own browser context, every websocket message it gets recorded."""
    page, errors = browser.new_page(viewport={"width": 1500, "height": 1100}), []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    frames = watch_frames(page)
    page.goto(f"{url}/?{query}")
    page.wait_for_selector(METRIC, timeout=90_000)
    if name:
        field = page.get_by_label("Your name (for the class board)", exact=True)
        field.fill(name)
        field.press("Tab")  # leaving the field applies it
        wait_for(lambda: f"name={name}" in address(page), 30, "the typed name in the address bar")
    return page, errors, frames


def valid_nll(page) -> dict[str, str]:
    """Model -> the validation NLL the student's page shows."""
    return {label.split(":")[0]: value for label, value in page.evaluate(METRICS_JS) if "validation" in label}


def board_rows(page) -> dict[str, dict[str, str]]:
    """Student -> column -> cell of the board's table."""
    table = page.evaluate(TABLE_JS)
    if not table:
        return {}
    head = table[0]
    return {cells[0]: dict(zip(head, cells)) for cells in table[1:]}


def locked(browser, url: str, path: str):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url + path)
    page.wait_for_selector('[data-testid="stAlert"]', timeout=60_000)
    page.wait_for_timeout(2500)  # a board refresh would have come by now
    return page


def test_the_board_shows_each_students_run_to_the_teacher_only():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server(env={"GATELAB_TEACHER_KEY": KEY}, log=ARTIFACTS / "server.log") as url, \
            open_browser() as browser:
        hypatia, errors_h, frames_h = student(browser, url, f"name={NAMES[0]}&archs=gru,lstm&budget=2000")
        euclid, errors_e, frames_e = student(browser, url, "archs=tanh,gru&budget=2000", name=NAMES[1])
        for page in (hypatia, euclid):
            click(page, "Play")
        for page in (hypatia, euclid):
            wait_for(lambda p=page: shared_steps(p) >= 10, 90, "ten updates")
            click(page, "Pause")
        for page in (hypatia, euclid):
            wait_for(lambda p=page: p.evaluate(PAUSED_JS), 30, "the page to say paused")
        hypatia.wait_for_timeout(1500)
        steps = {NAMES[0]: shared_steps(hypatia), NAMES[1]: shared_steps(euclid)}

        teacher = browser.new_page(viewport={"width": 1500, "height": 1100})
        teacher.goto(f"{url}/board?key={KEY}")
        wait_for(lambda: set(NAMES) <= set(board_rows(teacher)) and all(
            board_rows(teacher)[n]["Updates"] == f"{steps[n]:,}" for n in NAMES), 60, "both students' rows")
        assert "key=" not in address(teacher)  # off the address bar a projector shows
        rows = board_rows(teacher)
        h, e = rows[NAMES[0]], rows[NAMES[1]]
        assert (h["Data"], h["Units"], h["State"]) == ("Built-in chorales", "GRU, LSTM", "paused")
        assert (e["Units"], e["tanh RNN valid NLL"]) == ("tanh RNN, GRU", valid_nll(euclid)["tanh RNN"])
        assert [h["GRU valid NLL"], h["LSTM valid NLL"]] == [valid_nll(hypatia)["GRU"], valid_nll(hypatia)["LSTM"]]
        assert e["GRU valid NLL"] == valid_nll(euclid)["GRU"] and h["tanh RNN valid NLL"] == ""
        wait_for(lambda: set(NAMES) <= set(teacher.evaluate(CHART_NAMES_JS)), 30, "both students on the chart")
        assert all(n in teacher.inner_text("body") for n in NAMES)  # the ranking names them too
        teacher.screenshot(path=str(ARTIFACTS / "board.png"), full_page=True)

        link = teacher.evaluate(LINKS_JS)[NAMES[0]]
        assert "/lab?" in link and "archs=gru%2Clstm" in link and "budget=2000" in link
        assert NAMES[0] not in link and KEY not in link
        with teacher.context.expect_page() as opened:  # the teacher shows Hypatia's setup to the room
            teacher.get_by_role("link", name=NAMES[0]).click()
        setup = opened.value
        setup.wait_for_selector(METRIC, timeout=90_000)
        assert sorted(label.split(":")[0] for label, _ in setup.evaluate(METRICS_JS) if "validation" in label) \
            == ["GRU", "LSTM"]
        assert "budget=2000" in address(setup) and KEY not in address(setup)

        projected = browser.new_page(viewport={"width": 1280, "height": 720})
        projected.goto(f"{url}/board?key={KEY}&lang=ko&projector=1")
        wait_for(lambda: set(NAMES) <= set(board_rows(projected)), 60, "the Korean board")
        wait_for(lambda: set(NAMES) <= set(projected.evaluate(CHART_NAMES_JS)), 30, "its chart")
        assert "학생" in projected.evaluate(TABLE_JS)[0] and HANGUL.search(projected.inner_text("h1"))
        projected.screenshot(path=str(ARTIFACTS / "board-ko-projector.png"))

        for path in ("/board", "/board?key=wrong", f"/board?key={KEY}x", "/board?key=%EB%B9%84%EB%B0%80&lang=ko"):
            page = locked(browser, url, path)
            body = page.inner_text("body")
            assert "/board?key=" in body, path  # the message says how to open it
            assert not any(n in page.content() for n in NAMES) and not page.query_selector("table"), path
            assert page.evaluate("() => document.querySelectorAll('.js-plotly-plot').length") == 0, path
        page.screenshot(path=str(ARTIFACTS / "no-key.png"))

        for page, frames, other in ((hypatia, frames_h, NAMES[1]), (euclid, frames_e, NAMES[0])):
            assert KEY not in page.content() and other not in page.content() and "/board" not in page.content()
            received = b"".join(frames)
            assert len(frames) > 20 and b"GRU" in received  # the watch saw the page's messages
            assert KEY.encode() not in received and other.encode() not in received
        assert errors_h == [] and errors_e == []
    log = (ARTIFACTS / "server.log").read_text()
    port = url.rsplit(":", 1)[1]
    assert f"GateLab: the class board (for the teacher only): http://localhost:{port}/board?key=" \
           "<GATELAB_TEACHER_KEY>" in log  # an operator's key is never printed
    assert KEY not in log and not any(n in log for n in NAMES)  # nor are names
