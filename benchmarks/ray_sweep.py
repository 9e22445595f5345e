"""Wall time of one tiny reproduction sweep: the local pool (1 and 2 workers) and a Ray cluster
on this machine (1 node, then 2 nodes of one CPU each, started with `ray start`, under token
authentication as docs/reproduce.md sets a cluster up), the same runs each time (built-in chorales,
tanh and GRU, 4 learning-rate candidates, 10 epochs). The cluster stops only its own processes
(`benchmarks/ray_cluster.py`).

    .venv/bin/python benchmarks/ray_sweep.py
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.live_page import free_port
from benchmarks.ray_cluster import LocalCluster

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["--datasets", "chorales", "--archs", "tanh", "gru", "--candidates", "4", "--max-epochs", "10",
         "--patience", "10", "--batch-size", "16"]


def sweep(*extra, env=None) -> float:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "core", "reproduce", *SWEEP, "--out", out, *extra], cwd=ROOT,
                       check=True, capture_output=True, env=env)
        return time.perf_counter() - t0


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    rows = [("local pool, 1 worker", sweep("--workers", "1")), ("local pool, 2 workers", sweep("--workers", "2"))]
    with LocalCluster(free_port()) as cluster:
        on_ray = ("--engine", "ray", "--address", cluster.address)
        rows.append(("Ray, 1 node (1 CPU)", sweep(*on_ray, env=cluster.env)))
        cluster.add_node("--num-cpus=1")
        rows.append(("Ray, 2 nodes (1 CPU each)", sweep(*on_ray, env=cluster.env)))
    print("| engine | wall time of the sweep (8 runs) |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} s |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
