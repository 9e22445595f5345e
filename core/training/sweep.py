"""Run a sweep's training runs: on this machine's cores (``engine="local"``, a pool of spawned
processes) or on a Ray cluster (``engine="ray"``: each run a Ray task of one CPU, on a Ray
started for the command or an existing cluster at ``address`` / ``$RAY_ADDRESS``).

Either way the runs compute in workers and this process, the driver, writes each result file
as its run finishes (atomically: a run is finished or absent), so the results land in the same
layout whichever machine ran them, and an interrupted sweep resumes by skipping the files that
exist. A run that raises is recorded beside its result path as ``<run>.failed.json`` (its
message; it is retried on the next resume) and the others go on; a Ray node that dies has its
runs retried on the others (Ray's task retries).

Ray is optional (``requirements-ray.txt``) and imported only when asked for.
"""
import json
import multiprocessing as mp
import os
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from core.errors import GateLabError

ENGINES = ("local", "ray")
RAY_REQUIREMENTS = "requirements-ray.txt"
RAY_RETRIES = 3          # a run whose worker or node dies is retried this often elsewhere
# What a Ray cluster's nodes need of this repository (the code); the rest stays here (Ray
# leaves out .git and what .gitignore names by itself). The pretrained checkpoints (assets/,
# 3.3 MB, most of the repository) are for the dashboard: no run reads them.
RAY_EXCLUDES = ["results", "artifacts", "assets", "docs", "tests", "benchmarks", "scripts",
                "deploy", "**/__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"]
# Ray's token authentication (Ray >= 2.52): the variable that turns it on, and where a token is
# looked for, in Ray's order (docs.ray.io, "Ray token authentication").
RAY_AUTH_MODE = "RAY_AUTH_MODE"
RAY_TOKEN_SOURCES = ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
RAY_DEFAULT_TOKEN = Path(".ray", "auth_token")   # under the home directory


@dataclass
class Job:
    """One run: ``fn(*args)`` returns its result record; the driver writes it to ``path``."""
    fn: object
    args: tuple
    path: Path
    label: str


class SweepError(GateLabError):
    """The sweep could not start (Ray missing, no cluster at the address)."""


def write_json(path: Path, record: dict) -> None:
    """Write ``record`` to ``path`` atomically (a reader sees the whole file or none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)


def failed_path(path: Path) -> Path:
    return path.with_suffix(".failed.json")


def _compute(fn, args) -> dict:
    """In a worker: the run's record with the node it ran on, or its failure."""
    node = socket.gethostname()
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():  # several nodes may share a host: name the node too
        node += "/" + ray.get_runtime_context().get_node_id()[:8]
    try:
        return {"ok": True, "result": fn(*args), "node": node}
    except Exception as e:  # noqa: BLE001 - a failed run is recorded and the sweep goes on
        return {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(), "node": node}


def _compute_indexed(item):
    i, fn, args = item
    return i, _compute(fn, args)


def run_jobs(jobs: list[Job], engine: str = "local", workers: int = 1, address: str | None = None,
             progress=print, done_before: int = 0, total: int | None = None) -> list[dict]:
    """Run ``jobs`` on ``engine``, writing each result as it comes; one progress line per run
    (runs done / total, the run's numbers, the node, elapsed and estimated time left).
    Returns the failures: ``{"label", "error", "node"}`` each."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if not jobs:
        return []
    total = total or done_before + len(jobs)
    start, failures = time.perf_counter(), []
    outcomes = _local(jobs, workers) if engine == "local" else _ray(jobs, workers, address)
    for i, (job, out) in enumerate(outcomes, 1):
        elapsed = time.perf_counter() - start
        eta = elapsed / i * (len(jobs) - i)
        head = f"[{done_before + i}/{total}] {job.label}"
        if out["ok"]:
            r = out["result"]
            write_json(job.path, r)
            failed_path(job.path).unlink(missing_ok=True)
            line = (f"{head} lr {r['settings']['lr']:.2e}: valid {r['valid_nll']:.3f} test {r['test_nll']:.3f} "
                    f"({r['epochs']} epochs, {r['wall_seconds']:.0f} s on {out['node']})")
        else:
            write_json(failed_path(job.path), {"label": job.label, "error": out["error"], "node": out["node"],
                                               "trace": out.get("trace", "")})
            failures.append({"label": job.label, "error": out["error"], "node": out["node"]})
            line = f"{head} FAILED on {out['node']}: {out['error']}"
        progress(f"{line}; elapsed {elapsed:.0f} s, about {eta:.0f} s left")
    return failures


def _local(jobs: list[Job], workers: int):
    """(job, outcome) pairs as runs finish, from ``workers`` spawned processes."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(min(workers, len(jobs))) as pool:
        items = [(i, j.fn, j.args) for i, j in enumerate(jobs)]
        for i, out in pool.imap_unordered(_compute_indexed, items, chunksize=1):
            yield jobs[i], out


def carry_ray_token(environ=os.environ, home: Path | None = None) -> bool:
    """Before connecting to a cluster by address: with ``RAY_AUTH_MODE`` unset and a token at
    hand, set ``RAY_AUTH_MODE=token`` so this driver sends it. Returns whether it did.

    Why: ``ray start --head`` turns token authentication on by itself wherever a token exists
    (``~/.ray/auth_token``, which any local ``ray.init()`` writes, this module's no-address mode
    included), but ``ray.init(address=...)`` sends none unless told, and the head refuses it
    (``InvalidAuthToken``). A cluster without authentication accepts a driver that sends a
    token, so carrying it never hurts. An explicit ``RAY_AUTH_MODE`` is left as it is.
    Call it before ``import ray``: Ray reads the mode once, when it loads."""
    if RAY_AUTH_MODE in environ:
        return False
    token_file = (home or Path.home()) / RAY_DEFAULT_TOKEN
    if any(environ.get(k) for k in RAY_TOKEN_SOURCES) or token_file.is_file():
        environ[RAY_AUTH_MODE] = "token"
        return True
    return False


def _ray(jobs: list[Job], workers: int, address: str | None):
    """(job, outcome) pairs as runs finish, each run a Ray task of one CPU."""
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        carry_ray_token()
    try:
        import ray
    except ImportError:
        raise SweepError(f"--engine ray needs Ray: pip install -r {RAY_REQUIREMENTS}") from None
    root = Path(__file__).resolve().parents[2]  # the repository: core/training/sweep.py
    env = {k: v for k, v in os.environ.items() if k.startswith("GATELAB_")}
    runtime_env = {"working_dir": str(root), "excludes": RAY_EXCLUDES, "env_vars": env}
    try:
        if address:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, runtime_env=runtime_env, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, ray.exceptions.AuthenticationError) as e:
        raise SweepError(f"no Ray cluster at {address}: {e} (is it running? Under token authentication this "
                         "machine needs the cluster's token: docs/reproduce.md, \"On a Ray cluster\")") from None
    task = ray.remote(num_cpus=1, max_retries=RAY_RETRIES, retry_exceptions=False)(_compute)
    try:
        pending = {task.remote(j.fn, j.args): j for j in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(done[0])
            try:
                out = ray.get(done[0])
            except Exception as e:  # noqa: BLE001 - retries exhausted (its node kept dying): recorded
                out = {"ok": False, "error": f"{type(e).__name__}: {str(e).splitlines()[0]}", "node": "?"}
            yield job, out
    finally:
        ray.shutdown()
