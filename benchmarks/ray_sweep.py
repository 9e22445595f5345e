"""Wall time of one tiny reproduction sweep: the local pool (1 and 2 workers) and a Ray cluster
on this machine (1 node, then 2 nodes of one CPU each, started with `ray start`), the same runs
each time (built-in chorales, tanh and GRU, 4 learning-rate candidates, 10 epochs).

    .venv/bin/python benchmarks/ray_sweep.py
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAY = str(Path(sys.executable).parent / "ray")
SWEEP = ["--datasets", "chorales", "--archs", "tanh", "gru", "--candidates", "4", "--max-epochs", "10",
         "--patience", "10", "--batch-size", "16"]
PORT = 6390
ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}


def sweep(*extra) -> float:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "core", "reproduce", *SWEEP, "--out", out, *extra], cwd=ROOT,
                       check=True, capture_output=True, env=ENV)
        return time.perf_counter() - t0


def ray(*args) -> None:
    subprocess.run([RAY, *args], check=True, capture_output=True, env=ENV, timeout=120)


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    rows = [("local pool, 1 worker", sweep("--workers", "1")), ("local pool, 2 workers", sweep("--workers", "2"))]
    address = f"127.0.0.1:{PORT}"
    try:
        ray("start", "--head", f"--port={PORT}", "--node-ip-address=127.0.0.1", "--num-cpus=1",
            "--include-dashboard=false", "--disable-usage-stats")
        rows.append(("Ray, 1 node (1 CPU)", sweep("--engine", "ray", "--address", address)))
        ray("start", f"--address={address}", "--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats")
        rows.append(("Ray, 2 nodes (1 CPU each)", sweep("--engine", "ray", "--address", address)))
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=ENV)
    print("| engine | wall time of the sweep (8 runs) |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} s |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
