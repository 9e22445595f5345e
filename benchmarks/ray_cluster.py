"""A Ray cluster on 127.0.0.1 for the tests and benchmarks, that stops only what it started.

Each node is a ``ray start --block`` in a process group of its own: its GCS, raylet, agents and
workers are its children, and a SIGTERM to it drains and stops them all (the group is killed
after ``STOP_S`` if anything is left). ``ray stop`` is not used: it stops every Ray process of
the machine, another user's cluster too.

The nodes run as docs/reproduce.md asks of each machine of a cluster: ``RAY_AUTH_MODE=token``,
with a token in ``~/.ray/auth_token`` (here a home directory of the cluster's own, holding a
fresh token, so a developer's own ``~/.ray`` plays no part), and the session files in a
temporary directory of the cluster's own instead of the machine's shared ``/tmp/ray``.
"""
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).parent / "ray")
START_S = 120        # a node's start; on 2 busy cores a cold one takes 5-30 s
STOP_S = 40          # after SIGTERM Ray drains a node for up to 30 s, then stops its processes
STARTED = "Ray runtime started"   # what `ray start` prints once its node is up


def cluster_env(root: Path) -> dict:
    """The environment of every node: a home of its own under ``root`` holding a fresh token
    (``ray get-auth-token --generate``), token authentication on, no usage statistics."""
    env = {**os.environ, "HOME": str(root / "home"), "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}
    for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS"):
        env.pop(name, None)
    subprocess.run([RAY, "get-auth-token", "--generate"], env=env, check=True, capture_output=True, timeout=60)
    return env


def start_node(args: list, env: dict, log: Path) -> subprocess.Popen:
    """``ray start --block *args`` in a new process group; returns once the node is up."""
    with open(log, "wb") as out:
        node = subprocess.Popen([RAY, "start", "--block", "--disable-usage-stats", *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + START_S
    while STARTED not in log.read_text(errors="replace"):
        if not _running(node.pid) or time.monotonic() > deadline:
            stop_node(node)
            raise RuntimeError(f"ray start {' '.join(args)} did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.5)
    return node


def stop_node(node: subprocess.Popen) -> None:
    """SIGTERM the node's ``ray start`` (it drains the node and stops its processes), then SIGKILL
    whatever is left of its process group. The leader is reaped last: until then its pid, the
    group's id, cannot be given to another process."""
    node.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_S
    while time.monotonic() < deadline and _running(node.pid):
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(node.pid, signal.SIGKILL)
    node.wait()


def _running(pid: int) -> bool:
    """Whether ``pid`` (our child) has not exited yet; an exited child stays unreaped."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
    except ChildProcessError:   # reaped already
        return False


class LocalCluster:
    """``with LocalCluster(port) as cluster:`` a head on 127.0.0.1:``port`` (``head``: its extra
    ``ray start`` arguments); ``cluster.add_node(...)`` starts one more; all stop at the end.
    ``cluster.address`` is the head's; ``cluster.env`` the nodes' environment, for a driver."""

    def __init__(self, port: int, head=("--num-cpus=1",)):
        self.address, self.head_args = f"127.0.0.1:{port}", list(head)
        self.nodes: list[subprocess.Popen] = []   # each node's `ray start --block`, the head first

    def __enter__(self) -> "LocalCluster":
        self.root = Path(tempfile.mkdtemp(prefix="gl-ray-"))   # short: Ray's socket paths must fit 107 bytes
        try:
            self.env = cluster_env(self.root)
            port = self.address.rsplit(":", 1)[1]
            self._start(["--head", f"--port={port}", "--include-dashboard=false", *self.head_args])
        except BaseException:
            self.__exit__()
            raise
        return self

    def add_node(self, *extra) -> subprocess.Popen:
        """One more node, joined to the head (``extra``: e.g. ``--num-cpus=1``)."""
        return self._start([f"--address={self.address}", *extra])

    def _start(self, args: list) -> subprocess.Popen:
        common = ["--node-ip-address=127.0.0.1", f"--temp-dir={self.root / 't'}"]
        node = start_node([*args, *common], self.env, self.root / f"node{len(self.nodes)}.log")
        self.nodes.append(node)
        return node

    def __exit__(self, *exc) -> None:
        for node in reversed(self.nodes):
            stop_node(node)
        shutil.rmtree(self.root, ignore_errors=True)
