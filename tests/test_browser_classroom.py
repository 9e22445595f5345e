"""A class on one server, in real Chromium pages against `streamlit run` (as `make run` starts
it): a page silent for two minutes keeps its worker and its models; students who close their
tabs free their workers within a minute; no process is ever left a zombie."""
import time
from pathlib import Path

from benchmarks.classroom_probes import counts, find_server_pid, open_student, snapshot
from benchmarks.live_page import click, open_browser, shared_steps, streamlit_server, wait_for

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser-classroom"
SILENT_S = 125   # "a session that sends no refresh for 2 minutes keeps its worker and models"
CLOSE_S = 60     # "a closed tab frees its worker within a minute"


def status_line(page) -> str:
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMarkdown"]')]
        .map(e => e.innerText).find(t => /^(training|paused) · step/.test(t)) || ''""")


def workers(server: int) -> dict[int, dict]:
    return {pid: p for pid, p in snapshot(server).items() if p["role"] == "worker" and p["state"] != "Z"}


def test_silent_pages_keep_their_models_and_closed_pages_free_their_workers():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server(log=ARTIFACTS / "server.log") as url, open_browser() as browser:
        server = find_server_pid(url)
        assert server is not None
        teacher = open_student(browser, url, timeout_s=90, offsite=[])
        assert teacher["ready_s"] is not None, teacher["error"]
        page = teacher["page"]
        click(page, "Play")
        wait_for(lambda: shared_steps(page) >= 20, 60, "20 shared updates")
        click(page, "Pause")
        wait_for(lambda: status_line(page).startswith("paused"), 10, "the page to say paused")
        time.sleep(1.0)
        paused_at, steps = time.monotonic(), shared_steps(page)
        [teacher_worker] = workers(server)

        students = [open_student(browser, url, timeout_s=60, offsite=[]) for _ in range(5)]
        assert all(s["ready_s"] is not None for s in students), [s["error"] for s in students]
        assert len(workers(server)) == 6
        # Pages idle for a while (the first ones > 10 s), then Play: each trains the URL's
        # models (once, the browser held the widgets' minimums and a Play rebuilt 500-parameter
        # models at lr 1e-8).
        for s in students:
            click(s["page"], "Play")
        for s in students:
            wait_for(lambda p=s["page"]: status_line(p).startswith("training"), 30, "a student's Play")
            assert "19,809 parameters" in s["page"].content()  # the GRU at the default 20k budget
        for s in students:
            s["context"].close()
        closed_at = time.monotonic()
        wait_for(lambda: set(workers(server)) == {teacher_worker}, CLOSE_S, "closed tabs' workers to exit")
        freed_s = time.monotonic() - closed_at
        # A worker that is exiting shows "Z" for a moment while its threads are torn down (the
        # zygote ignores SIGCHLD, so the kernel reaps it then); a real zombie would stay.
        left = {}
        try:
            wait_for(lambda: counts(snapshot(server))["zombies"] == 0, 20, "exiting workers to be gone")
        except AssertionError:
            tree = snapshot(server)
            left = {pid: (p["ppid"], tree.get(p["ppid"], {}).get("role")) for pid, p in tree.items()
                    if p["state"] == "Z"}
        assert left == {}, f"zombies (pid: parent, its role): {left}"

        time.sleep(max(0.0, paused_at + SILENT_S - time.monotonic()))  # the page sends nothing
        assert set(workers(server)) == {teacher_worker}
        assert shared_steps(page) == steps
        click(page, "Play")  # the same models go on from where they were
        wait_for(lambda: shared_steps(page) != steps, 60, "training to go on")
        assert shared_steps(page) > steps and "had stopped" not in page.content()
        page.screenshot(path=str(ARTIFACTS / "after-silence.png"))
        click(page, "Pause")
        assert set(workers(server)) == {teacher_worker}
        print(f"closed tabs freed their workers in {freed_s:.1f} s")
