"""Measurement helpers of benchmarks/classroom.py: the server's process tree read from /proc
(CPU ticks, PSS, roles, zombies), the browser's CPU, and the Chromium pages of a class (open,
Play, refresh rates, Pause, close).

Processes are found by walking /proc from the server's PID (parent links). A worker is a
descendant whose command line holds `core.lab.worker` but not `--zygote`, or any child of a
process whose command line holds `--zygote` (forked workers share the zygote's command line);
the zygote itself is reported apart. Under ``deploy/serve.py`` (``make serve``: the root is
its pid, role "supervisor") each replica's ``app.serve`` process is a "server" and HAProxy the
"balancer"; the three together are the serving side, whose CPU is reported as the server's.
The browser tests (tests/test_browser_classroom.py, tests/test_browser_upload_limits.py) use
these helpers too.
"""
import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

from benchmarks.live_page import METRIC, click, click_time, record, recorded, refreshes

TICKS = os.sysconf("SC_CLK_TCK")
LOCAL_HOSTS = ("127.0.0.1", "localhost")
VIEWPORT = {"width": 1500, "height": 1100}  # as live_page.open_lab
CLOSE_POLL_S = 90      # after the pages close: how long to wait for the workers to go
FIRST_POINT_S = 30     # after Play: how long to wait for a page's first trained point
PAUSE_SETTLE_S = 4.0   # after Pause: how long to watch for late numbers (as live_page.measure)
SERVING = ("server", "balancer", "supervisor")  # the roles whose CPU is the server's, not training's
ROOT = Path(__file__).resolve().parents[1]
BALANCER_READY_S = 240  # deploy/serve.py gives each replica 180 s, then starts HAProxy


# ---------------------------------------------------------------------------- processes

def proc_stat(pid: int) -> dict | None:
    """State, parent and CPU ticks of one process from /proc/<pid>/stat (None: gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its ')'.
    rest = text[text.rindex(")") + 2:].split()
    return {"state": rest[0], "ppid": int(rest[1]),
            "own": int(rest[11]) + int(rest[12]),        # utime + stime
            "children": int(rest[13]) + int(rest[14])}   # cutime + cstime: reaped children


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pss_kb(pid: int) -> int:
    """Proportional set size (shared pages split between their users); 0 for a zombie."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def snapshot(root: int) -> dict:
    """``root`` and all its descendants: pid -> stat fields, command line and role."""
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := proc_stat(int(p)))}
    if root not in stats:
        return {}
    children = {}
    for pid, s in stats.items():
        children.setdefault(s["ppid"], []).append(pid)
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        tree[pid] = stats[pid] | {"cmd": cmdline(pid)}
        todo += children.get(pid, [])
    for pid, p in tree.items():
        p["role"] = role(pid, p, tree, root)
    return tree


def role(pid: int, p: dict, tree: dict, root: int) -> str:
    if pid == root:
        return "supervisor" if "deploy/serve.py" in p["cmd"] else "server"
    # The parent test comes first: a worker forked by the zygote has the zygote's command line.
    parent = tree.get(p["ppid"])
    if parent and "--zygote" in parent["cmd"]:
        return "worker"
    if "--zygote" in p["cmd"]:
        return "zygote"
    if "core.lab.worker" in p["cmd"]:
        return "worker"
    if "app.serve" in p["cmd"].split():   # a replica under deploy/serve.py
        return "server"
    return "balancer" if os.path.basename(p["cmd"].split(" ")[0]) == "haproxy" else "other"


def tree_ticks(tree: dict) -> int:
    """CPU ticks of the whole tree, children already reaped included: a worker that exits
    in the window moves its ticks into its parent's cutime, so the tree's delta still
    counts it (it would vanish from a sum of live processes' own ticks)."""
    return sum(p["own"] + p["children"] for p in tree.values())


def counts(tree: dict) -> dict:
    live = [p for p in tree.values() if p["state"] != "Z"]
    return {"workers": sum(p["role"] == "worker" for p in live),
            "zygotes": sum(p["role"] == "zygote" for p in live),
            "zombies": sum(p["state"] == "Z" for p in tree.values())}


def workers_per_server(tree: dict) -> dict[int, int]:
    """Live workers under each server process (its pid -> count)."""
    per = {pid: 0 for pid, p in tree.items() if p["role"] == "server"}
    for p in tree.values():
        if p["role"] == "worker" and p["state"] != "Z":
            up = p["ppid"]
            while up in tree and tree[up]["role"] != "server":
                up = tree[up]["ppid"]
            if up in per:
                per[up] += 1
    return per


def browser_ticks() -> int:
    """CPU ticks of every Chromium process on this machine (the benchmark's pages share its
    cores with the server: where the CPU went is part of the result)."""
    ticks = 0
    for p in os.listdir("/proc"):
        if p.isdigit() and "chrom" in cmdline(int(p)).split(" ")[0] and (s := proc_stat(int(p))):
            ticks += s["own"]
    return ticks


class CpuWindow:
    """CPU over a window, in cores: of the serving processes (the server; or the replicas, HAProxy
    and deploy/serve.py), of the rest of the tree (zygotes, workers) and of the browser."""

    def __init__(self, server: int | None):
        self.server = server
        self.t0 = time.monotonic()
        self.start = snapshot(server) if server else {}
        self.browser = browser_ticks()

    def stop(self) -> dict:
        seconds = time.monotonic() - self.t0
        browser = round((browser_ticks() - self.browser) / TICKS / seconds, 2)
        if not self.server:
            return {"seconds": round(seconds, 1), "browser_cores": browser}
        end = snapshot(self.server)
        if not end or not self.start:
            return {"seconds": round(seconds, 1), "error": "server process gone"}
        serving = {}
        for pid, p in end.items():
            if p["role"] in SERVING:
                ticks = p["own"] - self.start.get(pid, {}).get("own", 0)
                serving[p["role"]] = serving.get(p["role"], 0) + ticks
        own = sum(serving.values())
        total = tree_ticks(end) - tree_ticks(self.start)
        return {"seconds": round(seconds, 1), "browser_cores": browser,
                "server_cores": round(own / TICKS / seconds, 2),
                "serving_cores": {r: round(t / TICKS / seconds, 2) for r, t in serving.items()},
                "descendants_cores": round((total - own) / TICKS / seconds, 2),
                "memory": memory(end), **counts(end)}


def memory(tree: dict) -> dict:
    """PSS of each process (MB), grouped by role, and the total."""
    per = [{"pid": pid, "role": p["role"], "pss_mb": round(pss_kb(pid) / 1024, 1)}
           for pid, p in sorted(tree.items())]
    return {"total_pss_mb": round(sum(p["pss_mb"] for p in per), 1), "processes": per}


def find_server_pid(url: str) -> int | None:
    """Our own `streamlit run` child, recognised by its port (live_page does not hand it out)."""
    port = str(urlparse(url).port)
    for p in os.listdir("/proc"):
        if p.isdigit() and (s := proc_stat(int(p))) and s["ppid"] == os.getpid():
            cmd = cmdline(int(p)).split()
            if ("streamlit" in " ".join(cmd) or "app.serve" in cmd) and port in cmd:
                return int(p)
    return None


def free_ports(n: int) -> int:
    """A port P with P..P+n-1 free on 127.0.0.1."""
    for _ in range(200):
        base, sockets = random.randint(20_000, 60_000), []
        try:
            for port in range(base, base + n):
                sockets.append(socket.socket())
                sockets[-1].bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free ports")


@contextlib.contextmanager
def balanced_servers(replicas: int, log: Path):
    """``deploy/serve.py --replicas N`` (what ``make serve`` runs) on free 127.0.0.1 ports, in its
    own process group; yields (the balancer's URL, serve.py's pid, {replica pid: "r1", ...}) once
    it prints ``balancer: pid``, and stops it with SIGINT (Ctrl-C) afterwards. Its output (and
    HAProxy's log) goes to ``log``."""
    port = free_ports(replicas + 2)
    cmd = [sys.executable, str(ROOT / "deploy" / "serve.py"), "--replicas", str(replicas),
           "--port", str(port), "--host", "127.0.0.1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines: list[str] = []

    def pump():
        with open(log, "w") as out:
            for line in proc.stdout:
                lines.append(line)
                out.write(line)
                out.flush()
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + BALANCER_READY_S
        while not any(line.startswith("balancer: pid") for line in lines):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"deploy/serve.py did not start (exit code {proc.poll()}); see {log}")
            time.sleep(0.3)
        names = {int(m[2]): m[1] for line in lines if (m := re.match(r"replica (r\d+): pid (\d+)", line))}
        yield f"http://127.0.0.1:{port}", proc.pid, names
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: serve.py stops its replicas and HAProxy
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=5)


def replica_split(students: list, names: dict, tree: dict) -> dict:
    """Per replica (r1, r2, ...): the students its GATELAB_REPLICA cookie sends there, and the
    workers its server holds (a cross-check from /proc)."""
    cookies = []
    for s in students:
        jar = {c["name"]: c["value"] for c in s["context"].cookies()} if s["context"] else {}
        cookies.append(jar.get("GATELAB_REPLICA"))
    pages = Counter(cookies)
    workers = workers_per_server(tree)
    return {"replica_of": cookies,
            "pages": {n: pages.get(n, 0) for n in sorted(names.values())} | (
                {"none": pages[None]} if None in pages else {}),
            "workers": {names.get(pid, str(pid)): n for pid, n in sorted(workers.items())}}


# ---------------------------------------------------------------------------- pages

def offsite_url(url: str) -> bool:
    parts = urlparse(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS


def open_student(browser, url: str, timeout_s: float, offsite: list) -> dict:
    """A new student (own context: own cookies, own session) on the Lab; seconds from goto()
    until Play and a metric value are visible, or the error/timeout."""
    context = browser.new_context(viewport=VIEWPORT)
    # Passive check that the page fetches nothing off this machine (a routing handler would
    # stall the page's requests whenever this script sleeps, so only watch).
    context.on("request", lambda r: offsite.append(r.url) if offsite_url(r.url) else None)
    page = context.new_page()
    student = {"context": context, "page": page, "ready_s": None, "error": None}
    t0 = time.monotonic()
    try:
        page.goto(url, timeout=timeout_s * 1000)
        for locator in (page.get_by_role("button", name="Play").first, page.locator(METRIC).first):
            left = timeout_s - (time.monotonic() - t0)
            locator.wait_for(state="visible", timeout=max(left, 0.001) * 1000)
        student["ready_s"] = round(time.monotonic() - t0, 2)
    except Exception as e:  # noqa: BLE001 - a page that never gets ready is a result, not a crash
        student["error"] = "timeout" if "Timeout" in type(e).__name__ else f"{type(e).__name__}: {e}"[:200]
    return student


def open_class(browser, url: str, n: int, timeout_s: float, budget_s: float, offsite: list) -> list:
    """N students one after another; the whole phase is capped at ``budget_s`` so that a
    server that stops answering cannot make the run last N x timeout."""
    students, deadline = [], time.monotonic() + budget_s
    for i in range(n):
        left = deadline - time.monotonic()
        if left <= 1:
            students.append({"context": None, "page": None, "ready_s": None, "error": "not opened (budget)"})
            continue
        students.append(open_student(browser, url, min(timeout_s, left), offsite))
        s = students[-1]
        print(f"  page {i + 1}/{n}: " + (f"ready in {s['ready_s']} s" if s["ready_s"] is not None else s["error"]),
              flush=True)
    return students


def start_training(trainers: list) -> list:
    """Play on each training page; seconds from the click until its first trained loss point
    (waited for, so the window that follows measures training, not starting)."""
    clicks = []
    for s in trainers:
        record(s["page"])
        asked = time.time()
        click(s["page"], "Play")
        clicks.append(click_time(s["page"], asked))
    firsts = []
    for s, t0 in zip(trainers, clicks):
        while (first := recorded(s["page"])["first_point"]) is None and time.time() - t0 < FIRST_POINT_S:
            time.sleep(0.2)
        firsts.append(round(first - t0, 2) if first else None)
    return firsts


def refresh_rates(trainers: list, t1: float, t2: float) -> list:
    """Distinct metric values per second each training page showed in [t1, t2)."""
    return [round(len(refreshes([c for c in recorded(s["page"])["changes"] if t1 <= c < t2])) / (t2 - t1), 2)
            for s in trainers]


def pause_all(trainers: list) -> list:
    """Pause each training page; seconds from its click until its numbers stopped changing."""
    clicks = []
    for s in trainers:
        asked = time.time()
        click(s["page"], "Pause")
        clicks.append(click_time(s["page"], asked))
    time.sleep(PAUSE_SETTLE_S)
    return [round(max((c for c in recorded(s["page"])["changes"] if c >= t), default=t) - t, 2)
            for s, t in zip(trainers, clicks)]


def close_and_watch(students: list, server: int | None) -> dict:
    """Close every context, then count the workers still alive (and zombies) each second."""
    for s in students:
        if s["context"]:
            with contextlib.suppress(Exception):  # a context whose page crashed still closes
                s["context"].close()
    if not server:
        return {}
    t0, trace = time.monotonic(), []
    while True:
        c = counts(snapshot(server))
        elapsed = round(time.monotonic() - t0, 1)
        trace.append((elapsed, c["workers"], c["zombies"]))
        if c["workers"] == 0 or elapsed >= CLOSE_POLL_S:
            break
        time.sleep(1.0)
    return {"workers_left": c["workers"], "seconds": elapsed, "zombies": c["zombies"],
            "zygotes": c["zygotes"], "trace": trace}

