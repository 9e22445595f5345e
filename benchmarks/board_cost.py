"""What the class board costs the web server: its CPU with the board open on a projector, minus
its CPU without, with N students' Labs open (default 30).

    .venv/bin/python benchmarks/board_cost.py [--students 30] [--seconds 60] [--rounds 2]

The board reads only what the students' pages already got from their workers
(``LabClient.numbers``) and sends the workers nothing, so the students' trainings are no part
of its cost. Here the students are stand-ins inside the server: a client per student, its
numbers replaced every ``FAST_S`` (0.4 s) as a training page's refresh replaces them, each with
a validation history of 100-600 points per unit and three units. That keeps 30 students' worth
of training (30 cores) off this 2-core machine, whose CPU the measurement needs.

The server is ``streamlit run app/streamlit_app.py`` in this script's own child process (the
stand-ins are put into its worker pool first, as ``app.serve`` starts the zygote first); its
CPU is read from /proc (utime + stime, every thread). Rounds alternate a window without any
page open and a window with the board in headless Chromium (``?projector=1`` at 1280x720, the
heavier drawing); the board's cost is the mean difference. The load average before the run is
printed with the result: everything here (browser, server) shares this machine.
"""
import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.classroom_probes import TICKS, proc_stat
from benchmarks.live_page import free_port, open_browser, wait_for

FAKE = "bench-student-"  # the stand-ins' session ids
KEY = "board-cost-key"
TARGET_CORE = 0.05
COUNT_JS = """() => {  // the board's table rows, and how often its text changed (one per refresh)
    if (!window.__board) {
        const log = window.__board = {changes: 0, last: ''};
        new MutationObserver(() => {
            const text = [...document.querySelectorAll('table')].map(t => t.innerText).join();
            if (text !== log.last) { log.changes += 1; log.last = text; }
        }).observe(document.body, {subtree: true, childList: true, characterData: true});
    }
    return [document.querySelectorAll('table tr').length - 1, window.__board.changes];
}"""


class StandIn:
    """A Lab session's client as the board sees it: settings, status, the page's last numbers."""

    def __init__(self, i: int, rng: random.Random):
        from core.training.settings import LabSettings
        self.settings = LabSettings(archs=("tanh", "gru", "lstm"), seed=i).to_dict()
        self.alive, self.wanted, self.last_used, self.ended = True, None, time.monotonic(), None
        self.steps, self.rate = rng.randrange(500, 3000), rng.uniform(0.5, 1.5)
        self.valid = {a: [self._row(u, a) for u in range(0, self.steps + 1, 5)] for a in self.settings["archs"]}
        self.status = {"ready": True, "running": True, "generation": 1}
        self.numbers = None
        self.publish()

    def _row(self, updates: int, arch: str) -> tuple:
        return (updates, updates / 20, 9 + self.rate * 50 / (1 + updates / 40) + 0.2 * len(arch))

    def publish(self) -> None:
        """What the student's page gets every 0.4 s while training: fresh arrays, a new dict."""
        import numpy as np
        self.steps += 2
        if self.steps % 5 < 2:
            for arch, rows in self.valid.items():
                rows.append(self._row(self.steps, arch))
        loss = {a: {"train": np.zeros((250, 3)), "valid": np.asarray(rows), "binned": True}
                for a, rows in self.valid.items()}
        metrics = {a: {"valid_nll": rows[-1][2], "updates": self.steps} for a, rows in self.valid.items()}
        self.numbers = {"status": {**self.status, "steps": self.steps}, "metrics": metrics, "loss": loss,
                        "dataset": {"title": "Built-in chorales"}}
        self.last_used = time.monotonic()

    def end(self, reason=None) -> bool:
        return False

    def stop(self) -> None:
        pass


def serve(students: int, streamlit_args: list[str]) -> None:
    """In the server's process: the stand-ins in a worker pool, then Streamlit (as app.serve)."""
    from streamlit.web import cli

    from app import classroom as board
    from app import worker
    from core.lab.protocol import FAST_S, ZYGOTE_START_S
    pool = worker._pool = worker.WorkerPool(
        is_active=lambda sid: sid.startswith(FAKE) or worker._session_is_active(sid))
    rng = random.Random(0)
    stand_ins = {f"{FAKE}{i}": StandIn(i, rng) for i in range(students)}
    pool._clients.update(stand_ins)
    for i, sid in enumerate(stand_ins):
        board.ROSTER.enroll(sid, f"Student {i + 1:02d}" if i % 3 else "")

    def train():
        while True:
            time.sleep(FAST_S)
            for client in stand_ins.values():
                client.publish()
    threading.Thread(target=train, daemon=True, name="stand-ins").start()
    pool.zygote().ready.wait(ZYGOTE_START_S)  # its warm-up is its own process's CPU, and done first
    sys.argv = ["streamlit", "run", str(ROOT / "app" / "streamlit_app.py"), *streamlit_args]
    sys.exit(cli.main())


@contextlib.contextmanager
def server(students: int, timeout: float = 240.0):
    """This script as the server (``--serve``) on a free port; yields (url, pid), then stops it,
    its zygote with it (as ``live_page.streamlit_server``, whose command is ``app.serve``)."""
    port = free_port()
    env = {**os.environ, "GATELAB_TEACHER_KEY": KEY, "GATELAB_BENCH_STUDENTS": str(students)}
    cmd = [sys.executable, __file__, "--serve", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: proc.poll() is not None or healthy(url), timeout, "the server", poll=0.5)
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode})")
        yield url, proc.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def cpu_s(pid: int) -> float:
    return proc_stat(pid)["own"] / TICKS


def window(pid: int, seconds: float) -> float:
    """The server's CPU over ``seconds``, in cores."""
    t0, c0 = time.monotonic(), cpu_s(pid)
    time.sleep(seconds)
    return (cpu_s(pid) - c0) / (time.monotonic() - t0)


def measure(students: int, seconds: float, rounds: int) -> dict:
    load_before = os.getloadavg()[0]
    with server(students) as (url, pid), open_browser() as browser:
        time.sleep(5)  # the server settles after its start
        without, with_board, refreshes = [], [], []
        for _ in range(rounds):
            without.append(window(pid, seconds))
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{url}/board?key={KEY}&projector=1")
            wait_for(lambda p=page: p.evaluate(COUNT_JS)[0] == students, 90, f"the board's {students} rows")
            time.sleep(3)  # the chart drawn, the first refreshes through
            before = page.evaluate(COUNT_JS)[1]
            with_board.append(window(pid, seconds))
            refreshes.append((page.evaluate(COUNT_JS)[1] - before) / seconds)
            page.context.close()
            time.sleep(3)  # the session's last messages
    cost = statistics.mean(with_board) - statistics.mean(without)
    return {"students": students, "seconds_per_window": seconds, "rounds": rounds,
            "server_core_without_board": [round(c, 4) for c in without],
            "server_core_with_board": [round(c, 4) for c in with_board],
            "board_core": round(cost, 4), "target_core": TARGET_CORE, "within_target": cost <= TARGET_CORE,
            "board_refreshes_per_s": [round(r, 2) for r in refreshes],
            "load_before": round(load_before, 2), "cores": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30, help="Labs open on the server (default 30)")
    parser.add_argument("--seconds", type=float, default=60, help="each measured window (default 60)")
    parser.add_argument("--rounds", type=int, default=2, help="windows without / with the board (default 2)")
    args = parser.parse_args()
    print(json.dumps(measure(args.students, args.seconds, args.rounds)))


if __name__ == "__main__":
    if os.environ.get("GATELAB_BENCH_STUDENTS") and len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(os.environ["GATELAB_BENCH_STUDENTS"]), sys.argv[2:])
    else:
        main()
