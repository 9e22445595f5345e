"""The Lab's cost line in a real browser shows this machine's timings, not constants: the same
models trained on a server given a whole core, then on one that shares its core with two busy
processes, show more milliseconds per update the second time, for every unit.

The server (and the workers it starts, which inherit it) is pinned to CPU 0; the busy
processes are pinned there too. The worker waits between updates, and Linux favours a task
that wakes, so it gets more than an equal share: with four busy processes, updates took 1.66 to
2.2 times as long in three runs here (not 5 times), while two runs in a row on the idle core
differed by at most 1.2 times (six pairs). The test asks for 1.3 times; a line of constants
would show 1.0. Only the per-update time is compared: it is the mean over every update trained,
while a trace of 128 steps lasts a few milliseconds and may fall inside one of the worker's
time slices.
"""
import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.live_page import click, open_browser, open_lab, reset, shared_steps, streamlit_server, wait_for

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"
CPU = 0
BUSY = 4    # busy processes beside the server: a waking worker is favoured, yet gets far less than all
MODELS = 3  # the Lab's default: tanh RNN, GRU, LSTM

pytestmark = pytest.mark.browser


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (from /proc: a process's parent is field 4 of its stat)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += [c for c, parent in parents.items() if parent == p]
    return tree


def server_pid(port: int) -> int:
    """The process listening on ``port`` (the Streamlit server), from ``ss``."""
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"pid=(\d+)", out).group(1))


def ms_per_update(page) -> list[float]:
    """Each model's "N ms per update" from its cost line ([] until every model has one)."""
    text = page.evaluate("() => document.body.innerText")
    found = [float(x) for x in re.findall(r"([0-9.]+) ms per update", text)]
    return found if len(found) == MODELS else []


def train_and_read(page, updates: int = 200) -> list[float]:
    """Play until ``updates`` shared updates are done, pause, and read the cost line."""
    click(page, "Play")
    wait_for(lambda: shared_steps(page) >= updates, 180, f"{updates} updates")
    click(page, "Pause")
    wait_for(lambda: "paused · step" in page.evaluate("() => document.body.innerText"), 30, "the pause")
    return wait_for(lambda: ms_per_update(page), 30, "every model's ms per update")


@contextlib.contextmanager
def busy(n: int, cpu: int):
    """``n`` processes spinning on ``cpu`` until the block ends."""
    code = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True:\n    pass\n"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_the_cost_line_shows_the_machine_s_timings():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server(log=ARTIFACTS / "server-costs.log") as url, open_browser() as browser:
        for pid in descendants(server_pid(int(url.rsplit(":", 1)[1]))):
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(pid, {CPU})  # the workers started later inherit it
        page, errors = open_lab(browser, url)
        alone = train_and_read(page)
        reset(page)
        with busy(BUSY, CPU):
            time.sleep(1.0)  # the busy processes at full speed before the first update
            shared = train_and_read(page)
        pinned = {pid: os.sched_getaffinity(pid) for pid in descendants(server_pid(int(url.rsplit(":", 1)[1])))}
        page.screenshot(path=str(ARTIFACTS / "lab-costs.png"), full_page=True)
    assert errors == [], errors
    assert len(pinned) > 1 and all(cpus == {CPU} for cpus in pinned.values()), pinned  # the workers too
    print("ms per update alone / sharing CPU", CPU, "with", BUSY, "busy processes:", alone, shared)
    for before, after in zip(alone, shared):
        assert after > 1.3 * before, (alone, shared)
