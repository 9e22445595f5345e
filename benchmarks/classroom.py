"""GateLab serving a class: N students' Lab pages, K of them training, on one server or on N replicas.

Opens N Lab pages one after another, each in its own browser context (its own cookies: a
separate student and Streamlit session), and records per page the seconds from goto() until the
Play button and a metric value show (the Lab shows its metrics once its worker is ready). Then,
over equal windows of --window seconds, it measures the server with all pages idle, and with K
pages training: per training page the metric refreshes/s the browser sees (as
benchmarks/live_page.py counts them); CPU in cores of the Streamlit process alone and of all
its descendants (workers, zygote); each process's PSS and their total; zombie descendants; the
load average. Then Pause on each training page (seconds until its numbers stop), and after
closing every context, how long the workers take to go (polled each second, at most 90 s).

    .venv/bin/python benchmarks/classroom.py --pages 8 --training 4 [--window 10]
        [--url http://127.0.0.1:8501 [--server-pid PID] | --replicas 2] [--timeout 60]
        [--note "what changed"] [--write docs/classroom.md]

Without --url it starts its own server exactly as live_page.streamlit_server does
(`python -m app.serve`, what `make run` runs) and always stops it. With --url
it measures a server already running on this machine (127.0.0.1 only); process figures then
come from --server-pid, or are left out. With --replicas N it starts `deploy/serve.py --replicas N`
(what `make serve` runs: N servers behind HAProxy) on free ports, sends the students to the
balancer, measures the whole tree under serve.py (replicas, their zygotes and workers, HAProxy;
"server CPU" is then the replicas', HAProxy's and serve.py's), reports how many students each
replica got (their GATELAB_REPLICA cookies), says so in the row, and stops it with Ctrl-C (SIGINT).
Browser, server and workers share this machine, so its load counts: the load average before
the run is part of every result.

Processes are found by walking /proc from the server's PID (parent links). A worker is a
descendant whose command line holds `core.lab.worker` but not `--zygote`, or any child of a
process whose command line holds `--zygote` (forked workers share the zygote's command line);
the zygote itself is reported apart.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.classroom_probes import (
    CLOSE_POLL_S,
    LOCAL_HOSTS,
    CpuWindow,
    balanced_servers,
    close_and_watch,
    counts,
    find_server_pid,
    open_class,
    pause_all,
    refresh_rates,
    replica_split,
    snapshot,
    start_training,
)
from benchmarks.live_page import open_browser, streamlit_server

HEADING = "## Measured: classroom benchmark"
COLUMNS = ["date", "cores", "load before", "pages N", "training K", "ready max / median (s)",
           "refreshes/s min", "pause max (s)", "server CPU idle / training (cores)",
           "workers CPU idle / training (cores)", "browser CPU training (cores)", "total PSS (MB)",
           "zombies training / after close",
           "workers left after close (s)", "note"]


# ---------------------------------------------------------------------------- run

def run(args, url: str, server: int | None, replicas: dict | None = None) -> dict:
    """``replicas``: {replica's server pid: "r1", ...} when ``url`` is deploy/serve.py's balancer."""
    result = {"cores": os.cpu_count(), "load_before": round(os.getloadavg()[0], 2),
              "pages": args.pages, "training": args.training, "window_s": args.window,
              "url": url, "server_pid": server, "replicas": len(replicas) if replicas else 0}
    offsite = []
    with open_browser() as browser:
        print(f"opening {args.pages} pages on {url} (server pid {server})", flush=True)
        students = open_class(browser, url, args.pages, args.timeout, args.open_budget, offsite)
        ready = [s for s in students if s["ready_s"] is not None]
        result["ready_s"] = [s["ready_s"] for s in students]
        result["errors"] = [s["error"] for s in students]
        tree = snapshot(server) if server else {}
        result["after_open"] = counts(tree) if tree else None
        if replicas:
            result["split"] = replica_split(students, replicas, tree)

        time.sleep(3.0)  # the last page finishes drawing: the window measures idle, not loading
        window = CpuWindow(server)
        time.sleep(args.window)
        result["idle"] = window.stop()

        trainers = ready[:args.training]
        print(f"Play on {len(trainers)} pages", flush=True)
        result["play_to_first_point_s"] = start_training(trainers)
        t1, window = time.time(), CpuWindow(server)
        time.sleep(args.window)
        result["train"] = window.stop()
        result["refreshes_per_s"] = refresh_rates(trainers, t1, time.time())
        result["load_end"] = round(os.getloadavg()[0], 2)

        result["pause_to_stop_s"] = pause_all(trainers)
        print(f"closing {len(students)} pages; watching the workers (at most {CLOSE_POLL_S} s)", flush=True)
        result["after_close"] = close_and_watch(students, server)
    result["offsite_requests"] = sorted(set(offsite))
    return result


def summary(r: dict) -> dict:
    """The headline numbers (also the markdown row)."""
    ready = [x for x in r["ready_s"] if x is not None]
    idle, train, close = r["idle"], r["train"], r["after_close"] or {}
    opened = len(ready)
    return {
        "replicas": r["replicas"], "pages_per_replica": r["split"]["pages"] if r["replicas"] else None,
        "cores": r["cores"], "load_before": r["load_before"], "load_end": r["load_end"],
        "pages": r["pages"], "ready": opened, "training": len(r["refreshes_per_s"]),
        "ready_max_s": max(ready, default=None),
        "ready_median_s": round(statistics.median(ready), 2) if ready else None,
        "refreshes_per_s_min": min(r["refreshes_per_s"], default=None),
        "pause_max_s": max(r["pause_to_stop_s"], default=None),
        "server_cores_idle": idle.get("server_cores"),
        "server_cores_idle_per_page": round(idle["server_cores"] / opened, 3)
        if opened and "server_cores" in idle else None,
        "server_cores_training": train.get("server_cores"),
        "descendants_cores_idle": idle.get("descendants_cores"),
        "descendants_cores_training": train.get("descendants_cores"),
        "browser_cores_training": train.get("browser_cores"),
        "total_pss_mb": train.get("memory", {}).get("total_pss_mb"),
        "zombies": train.get("zombies"),
        "workers_left_after_close": close.get("workers_left"),
        "zombies_after_close": close.get("zombies"),
        "close_seconds": close.get("seconds"),
    }


def report(r: dict, s: dict) -> None:
    """Human-readable report on stdout."""
    print("\n=== classroom benchmark ===")
    print(f"machine: {s['cores']} cores, load {s['load_before']} before, {s['load_end']} at the end of training")
    if r["replicas"]:
        split = r["split"]
        print(f"balancer: {r['url']}, {r['replicas']} replicas under deploy/serve.py pid {r['server_pid']}")
        print(f"  students per replica (GATELAB_REPLICA cookie): {split['pages']}; "
              f"workers per replica after opening: {split['workers']}")
    else:
        print(f"server: {r['url']} (pid {r['server_pid'] or 'unknown: no process figures'})")
    print(f"pages: {s['ready']}/{s['pages']} ready; ready s: {r['ready_s']}")
    if any(r["errors"]):
        print(f"  not ready: {[e for e in r['errors'] if e]}")
    if r["after_open"]:
        print(f"  after opening: {r['after_open']}")
    for name in ("idle", "train"):
        w = r[name]
        if "server_cores" in w:
            roles = {}
            for p in w["memory"]["processes"]:
                roles.setdefault(p["role"], []).append(p["pss_mb"])
            print(f"{name:5} ({w['seconds']} s): server {w['server_cores']} cores, descendants "
                  f"{w['descendants_cores']} cores, browser {w['browser_cores']} cores "
                  f"(serving: {w['serving_cores']}); "
                  f"PSS total {w['memory']['total_pss_mb']} MB "
                  f"{roles}; workers {w['workers']}, zygotes "
                  f"{w['zygotes']}, zombies {w['zombies']}")
    if s["server_cores_idle_per_page"] is not None:
        print(f"idle cost: {s['server_cores_idle_per_page']} server cores per open page")
    print(f"training pages: {s['training']}; play -> first point s: {r['play_to_first_point_s']}")
    print(f"  refreshes/s: {r['refreshes_per_s']}   pause -> stop s: {r['pause_to_stop_s']}")
    close = r["after_close"]
    if close:
        print(f"after close: {close['workers_left']} workers left after {close['seconds']} s, "
              f"{close['zombies']} zombies, {close['zygotes']} zygotes")
    if r["offsite_requests"]:
        print(f"WARNING: the pages asked for non-local addresses: {r['offsite_requests']}")


def row_note(s: dict, note: str) -> str:
    """The row's note; through the balancer it always says so, with each replica's students."""
    if not s.get("replicas"):
        return note
    split = ", ".join(f"{k} {v}" for k, v in s["pages_per_replica"].items())
    return f"{note}{'; ' if note else ''}through HAProxy, {s['replicas']} replicas (pages: {split})"


def write_row(s: dict, path: Path, note: str) -> None:
    """Append a row to the table under HEADING in ``path`` (heading and table made if missing)."""
    def pair(a, b):
        return " / ".join("n/a" if x is None else str(x) for x in (a, b))
    after = ("n/a" if s["workers_left_after_close"] is None
             else f"{s['workers_left_after_close']} ({s['close_seconds']} s)")
    cells = [time.strftime("%Y-%m-%d %H:%M"), s["cores"], s["load_before"], s["pages"], s["training"],
             pair(s["ready_max_s"], s["ready_median_s"]), s["refreshes_per_s_min"], s["pause_max_s"],
             pair(s["server_cores_idle"], s["server_cores_training"]),
             pair(s["descendants_cores_idle"], s["descendants_cores_training"]), s["browser_cores_training"],
             s["total_pss_mb"], pair(s["zombies"], s["zombies_after_close"]), after, note.replace("|", "/")]
    row = "| " + " | ".join("n/a" if c is None else str(c) for c in cells) + " |"
    header = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines = path.read_text().splitlines() if path.exists() else []
    if HEADING not in lines:
        lines += ([""] if lines else []) + [
            HEADING, "",
            "Rows appended by `benchmarks/classroom.py` (one server, N pages each in its own browser "
            "context, K training; CPU in cores over the window, PSS while training).", ""] + header
    at = lines.index(HEADING) + 1
    while at < len(lines) and not lines[at].startswith("|") and not lines[at].startswith("#"):
        at += 1
    if at == len(lines) or not lines[at].startswith("|"):  # heading without its table
        lines[at:at] = header
    while at < len(lines) and lines[at].startswith("|"):
        at += 1
    lines.insert(at, row)
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, required=True, help="students (browser contexts) N")
    parser.add_argument("--training", type=int, required=True, help="pages that press Play K")
    parser.add_argument("--window", type=float, default=10, help="seconds of each measuring window")
    parser.add_argument("--timeout", type=float, default=60, help="seconds for one page to get ready")
    parser.add_argument("--open-budget", type=float, default=180,
                        help="seconds for opening all pages (later ones are recorded as not opened)")
    parser.add_argument("--url", help="measure this running server (127.0.0.1 only) instead of starting one")
    parser.add_argument("--server-pid", type=int, help="with --url: the server's PID, for process figures")
    parser.add_argument("--replicas", type=int, default=0,
                        help="N >= 1: start deploy/serve.py (make serve) with N replicas behind HAProxy "
                             "and measure through it (default 0: one server, as make run)")
    parser.add_argument("--log", type=Path, help="own server's output (default: a temporary file)")
    parser.add_argument("--note", default="", help="a remark for the results row")
    parser.add_argument("--write", type=Path, help="append the result to this markdown file")
    args = parser.parse_args()
    if not 0 <= args.training <= args.pages:
        parser.error("--training must be between 0 and --pages")
    if args.replicas and args.url:
        parser.error("--replicas starts its own servers: leave out --url")
    if not 0 <= args.replicas <= 64:
        parser.error("--replicas must be between 0 and 64")
    if args.url and urlparse(args.url).hostname not in LOCAL_HOSTS:
        parser.error("--url must be on 127.0.0.1 (the benchmark sends no traffic off this machine)")

    log = args.log or (None if args.url else Path(tempfile.mkstemp(prefix="classroom-server-", suffix=".log")[1]))
    if args.url:
        result = run(args, args.url.rstrip("/"), args.server_pid)
    elif args.replicas:
        print(f"starting deploy/serve.py with {args.replicas} replicas (log: {log})", flush=True)
        with balanced_servers(args.replicas, log) as (url, root, names):  # Ctrl-C'd on any exit
            result = run(args, url, root, names)
    else:
        print(f"starting streamlit (log: {log})", flush=True)
        with streamlit_server(log=log) as url:  # stops the server (and its workers) on any exit
            result = run(args, url, find_server_pid(url))
    s = summary(result)
    report(result, s)
    note = row_note(s, args.note)
    print(json.dumps(s | {"note": note}))
    if args.write:
        write_row(s, args.write, note)
        print(f"row appended to {args.write}")


if __name__ == "__main__":
    main()
