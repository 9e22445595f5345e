"""A school's setup in a real browser: ``make serve REPLICAS=2`` (two GateLab servers behind
HAProxy) on 127.0.0.1, four students (own browser contexts: own cookies) through the
balancer's port. Sessions land on both replicas and keep to theirs (the Lab trains, an upload
draws its charts); after one replica is killed, the balancer says it is down and every page,
reloaded, works on the other; Ctrl-C stops everything ``make serve`` started.
"""
import os
import random
import re
import signal
import socket
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from benchmarks.classroom_probes import open_student
from benchmarks.live_page import CHROMIUM, click, open_browser, shared_steps, wait_for
from tests.test_browser_upload import GATES, drawn
from tests.test_upload import GOOD

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "browser"
STUDENTS = 4

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


def free_ports(n: int) -> int:
    """A port P with P..P+n-1 free on 127.0.0.1."""
    for _ in range(200):
        base = random.randint(20_000, 60_000)
        sockets = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free ports")


def status(port: int) -> dict:
    """Replica name -> UP / DOWN, from HAProxy's status page (CSV)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/;csv", timeout=5) as r:
        rows = [line.split(",") for line in r.read().decode().splitlines()]
    head = rows[0]
    name, state = head.index("svname"), head.index("status")
    # "UP 1/3": up, one failed check of the three that take it out
    return {row[name]: row[state].split()[0] for row in rows[1:]
            if row and row[0] == "replicas" and row[name] != "BACKEND"}


def replica_of(student: dict) -> str | None:
    cookies = {c["name"]: c["value"] for c in student["context"].cookies()}
    return cookies.get("GATELAB_REPLICA")


def trains(page) -> int:
    """Play until the shared step count moves, then Pause; the steps seen."""
    click(page, "Play")
    steps = wait_for(lambda: (n := shared_steps(page)) > 0 and n, 90, "the Lab to train")
    click(page, "Pause")
    return steps


def uploads(page, url: str, midi: Path) -> dict:
    page.goto(url + "/upload")
    page.wait_for_selector('input[type="file"]', state="attached", timeout=90_000)
    page.set_input_files('input[type="file"]', str(midi))
    return wait_for(lambda: (d := drawn(page)) and all(g in d for g in GATES) and d, 90,
                    "the upload's gate heatmaps")


def test_two_replicas_behind_haproxy_share_a_class_and_survive_one_dying(tmp_path):
    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    midi = tmp_path / "chorale.mid"
    midi.write_bytes(GOOD)
    port = free_ports(4)
    url = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(["make", "serve", "REPLICAS=2", f"PORT={port}", "HOST=127.0.0.1"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(serve.stdout), daemon=True)
    reader.start()
    log, pids = ARTIFACTS / "replicas-serve.log", {}
    try:
        wait_for(lambda: any(line.startswith("balancer: pid") for line in lines) or serve.poll() is not None,
                 240, "the replicas and the balancer")
        assert serve.poll() is None, "".join(lines)
        pids = {m[1]: int(m[2]) for line in lines if (m := re.match(r"replica (r\d): pid (\d+)", line))}
        assert set(pids) == {"r1", "r2"}
        wait_for(lambda: status(port + 3) == {"r1": "UP", "r2": "UP"}, 30, "both replicas UP")
        with open_browser() as browser:
            students, offsite = [], []
            for _ in range(STUDENTS):
                students.append(open_student(browser, url, 120, offsite))
                assert students[-1]["error"] is None, students[-1]
            assert offsite == []
            on = [replica_of(s) for s in students]
            assert set(on) == {"r1", "r2"}, on                     # sessions land on both replicas
            for s in students[:-1]:
                assert trains(s["page"]) > 0                        # each keeps its session
            got = uploads(students[-1]["page"], url, midi)          # upload + media through it
            assert all(got[g] > 0 for g in GATES)
            assert [replica_of(s) for s in students] == on          # nobody changed replica

            os.kill(pids["r1"], signal.SIGKILL)
            wait_for(lambda: status(port + 3).get("r1") == "DOWN", 30, "the balancer to take r1 out")
            wait_for(lambda: any("Server replicas/r1 is DOWN" in line for line in lines), 10, "its log line")
            for s in students[:-1]:
                s["page"].reload()
                s["page"].get_by_role("button", name="Play").first.wait_for(timeout=120_000)
                assert trains(s["page"]) > 0
            got = uploads(students[-1]["page"], url, midi)
            assert all(got[g] > 0 for g in GATES)
            assert [replica_of(s) for s in students] == ["r2"] * STUDENTS
            students[0]["page"].screenshot(path=str(ARTIFACTS / "replicas-after-kill.png"))
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGINT)                     # Ctrl-C in its terminal
        try:
            serve.wait(timeout=60)
        finally:
            reader.join(timeout=5)
            log.write_text("".join(lines))
    # Ctrl-C stopped everything it started: no replica, no balancer, no port left open.
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids.values()), 30, "the replicas to stop")
    for p in range(port, port + 4):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", p)) != 0, f"port {p} still open"
