"""A class on one server, without browsers: how fast each student's Lab trains when K train at once.

In a class the browsers run on the students' machines; on one machine they would eat the cores
being measured. So this forks N workers from the zygote exactly as the server does
(``app.worker.WorkerPool``, one ``LabClient`` per student, the Lab's default setup), lets K of
them play, and polls each training worker the way its page does (a ``get`` every 0.4 s, the
fast fragment's cadence). For each K, over one window of --window seconds after --settle
seconds of training, it prints:

- each training student's updates/s against a lone student's (K = 1 comes first, and again last
  by default: the lone rate is the mean of its runs, so a drift over the run shows);
- the slowest student's rate, and its ratio to the median;
- the cores the workers used (their CPU seconds over the window), and the zygote's;
- the PSS of every process (the zygote and all N workers; this driver plays the web server and
  imports no torch) in MB.

    .venv/bin/python benchmarks/class_headless.py [--students 30] [--training 1,8,16,30]
        [--window 20] [--settle 5] [--json FILE]

Every student's worker that played must have trained (updates > 0) by the end, or it exits with 1: on a
CUDA build of torch this is the check that the workers can train at all (docs/classroom.md).
The load average before the run is part of the result: other work on the machine counts.
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.worker import LabClient, WorkerPool
from core.lab import protocol
from core.training.settings import LabSettings

POLL_S = protocol.FAST_S  # what a training page asks for: its numbers, every 0.4 s
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def steps(client: LabClient) -> int:
    return int(client.status.get("steps") or 0)


class Poller:
    """Polls one training student's worker like its page does, until stopped."""

    def __init__(self, client: LabClient):
        self.client, self.stopped = client, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stopped.wait(POLL_S):
            self.client.get(timeout=protocol.NUMBERS_WAIT_S)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


def open_class(pool: WorkerPool, n: int, settings: dict, timeout: float) -> list[LabClient]:
    clients = [pool.open(f"student-{i}", settings) for i in range(n)]
    deadline = time.monotonic() + timeout
    for client in clients:
        while not client.status.get("ready"):
            client.get(timeout=0.5)
            if time.monotonic() > deadline:
                sys.exit(f"a worker was not ready after {timeout:.0f} s: {client.status}")
    return clients


def measure(clients: list[LabClient], k: int, zygote: int, window: float, settle: float) -> dict:
    """K students play; their rates over one window after ``settle`` seconds."""
    playing = clients[:k]
    for client in playing:
        client.request("play")
    pollers = [Poller(c) for c in playing]
    time.sleep(settle)
    pids = [c.pid for c in clients]
    start_steps = [steps(c) for c in playing]
    start_cpu, start_zygote, t0 = sum(map(cpu_seconds, pids)), cpu_seconds(zygote), time.monotonic()
    time.sleep(window)
    elapsed = time.monotonic() - t0
    end_steps = [steps(c) for c in playing]
    used = (sum(map(cpu_seconds, pids)) - start_cpu) / elapsed
    zygote_used = (cpu_seconds(zygote) - start_zygote) / elapsed
    pss = pss_mb(zygote) + sum(map(pss_mb, pids))
    for poller in pollers:
        poller.stop()
    for client in playing:
        client.request("pause")
    rates = [(b - a) / elapsed for a, b in zip(start_steps, end_steps)]
    return {"training": k, "rates": rates, "median": statistics.median(rates), "slowest": min(rates),
            "workers_cores": round(used, 2), "zygote_cores": round(zygote_used, 3),
            "pss_mb": round(pss), "window_s": round(elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=30, help="workers forked (N)")
    parser.add_argument("--training", default="1,8,16,30,1", help="students training at once (K), in turn")
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured per K")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds of training before each window")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for every worker to be ready")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    ks = [int(k) for k in args.training.split(",")]
    if ks[0] != 1 or max(ks) > args.students:
        parser.error("--training must start with 1 (the lone student) and stay within --students")
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    print(f"{cores} cores, load average {load:.2f} before; {args.students} students", flush=True)
    pool = WorkerPool(limit=args.students, is_active=lambda session: True)
    zygote = pool.zygote()
    t0 = time.monotonic()
    if not zygote.ready.wait(protocol.ZYGOTE_START_S):
        sys.exit("the zygote never got ready")
    print(f"zygote ready after {time.monotonic() - t0:.1f} s", flush=True)
    results = []
    try:
        clients = open_class(pool, args.students, LabSettings().to_dict(), args.timeout)
        idle_pss = pss_mb(zygote.proc.pid) + sum(pss_mb(c.pid) for c in clients)
        print(f"{args.students} workers ready; PSS {idle_pss:.0f} MB", flush=True)
        for k in ks:
            r = measure(clients, k, zygote.proc.pid, args.window, args.settle)
            r["slowest_vs_median"] = round(r["slowest"] / r["median"], 2) if r["median"] else 0.0
            results.append(r)
            print(f"K={k:3d}: {r['median']:.2f} updates/s each (median); slowest {r['slowest']:.2f} "
                  f"({r['slowest_vs_median']:.2f} of the median); workers {r['workers_cores']:.2f} cores, "
                  f"zygote {r['zygote_cores']:.3f}; PSS {r['pss_mb']} MB", flush=True)
        lone = statistics.mean(r["median"] for r in results if r["training"] == 1)
        print(f"a lone student: {lone:.2f} updates/s (mean of {ks.count(1)} runs)")
        for r in results:
            r["each_vs_lone"], r["slowest_vs_lone"] = round(r["median"] / lone, 2), round(r["slowest"] / lone, 2)
            print(f"K={r['training']:3d}: each {r['each_vs_lone']:.2f} of a lone student, the slowest "
                  f"{r['slowest_vs_lone']:.2f}; slowest/median {r['slowest_vs_median']:.2f}", flush=True)
        for client in clients:
            client.get(timeout=2)  # the latest status
        never = [c.pid for c in clients[:max(ks)] if steps(c) == 0]
    finally:
        pool.shutdown()
    summary = {"cores": cores, "load_before": round(load, 2), "students": args.students,
               "date": time.strftime("%Y-%m-%d"), "results": results, "never_trained": never}
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    print(f"every worker trained: {not never}" + (f" (not: {never})" if never else ""), flush=True)
    sys.exit(1 if never else 0)


if __name__ == "__main__":
    main()
