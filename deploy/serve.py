"""``make serve REPLICAS=N PORT=P``: N GateLab servers behind HAProxy, for a class or a school.

The replicas listen on 127.0.0.1, ports P+1..P+N (each is ``python -m app.serve``, with its own
Lab workers' zygote and its own share of this machine's worker cap); HAProxy listens on
HOST:P and keeps each browser on its replica by a cookie, so a session's websocket, uploads and
media reach the server that holds it. A replica that dies is taken out by the health checks
within seconds and its students land on a live one when their page reconnects. The
balancer's status page is on 127.0.0.1:P+N+1. Ctrl-C (or SIGTERM) stops everything started here.
Each replica's class board shows the students on that replica; the teacher reaches replica rN's
through the balancer at ``/board?replica=rN&key=K`` (one key for all, printed at start).

Why a small script rather than a process manager: it renders one HAProxy config
(``deploy/haproxy.cfg.in``), starts N+1 processes, waits for them and stops them; supervisord or
systemd would add a dependency and a config each for the same. docs/deploy.md.
"""
import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "haproxy.cfg.in"
READY_S = 180      # a replica's start: imports, the zygote's warm-up (seconds on a busy machine)
STOP_S = 10        # SIGTERM, then SIGKILL


COMPOSE_CONFIG = ROOT / "deploy" / "haproxy-compose.cfg"
COMPOSE_SLOTS = 16  # replicas the compose balancer can hold (docker compose up --scale gatelab=N)


def render(port: int, replicas: int, host: str = "0.0.0.0") -> str:
    """HAProxy's config for ``replicas`` servers on 127.0.0.1:port+1.. behind host:port."""
    servers = "\n".join(f"    server r{i} 127.0.0.1:{port + i} cookie r{i}" for i in range(1, replicas + 1))
    return _fill(host=host, port=port, servers=servers, resolvers="", cookie_mode="",
                 board_routes=board_routes(replicas), status_host="127.0.0.1", status_port=port + replicas + 1)


def board_routes(replicas: int) -> str:
    """The teacher's way to each replica's class board through the balancer: ``/board?replica=r2``
    goes to r2 and sets the stickiness cookie to it, so the page's websocket (which carries no
    such parameter) follows; a request without ``replica`` is balanced as ever."""
    picks = "\n".join(f"    use-server r{i} if {{ url_param(replica) -m str r{i} }}" for i in range(1, replicas + 1))
    return ("    # The class board of one replica (docs/deploy.md): /board?replica=rN&key=... reaches rN.\n"
            "    http-request set-var(txn.replica) url_param(replica) if { url_param(replica) -m found }\n"
            f"{picks}\n"
            '    http-response add-header Set-Cookie "GATELAB_REPLICA=%[srv_name]; path=/; HttpOnly" '
            "if { var(txn.replica) -m found }")


def render_compose() -> str:
    """The same config for deploy/compose.yaml: the replicas are the ``gatelab`` service's
    containers, found by Docker's DNS (up to COMPOSE_SLOTS), each cookie derived from its address."""
    resolvers = ("# Docker's own DNS: the gatelab service's name resolves to every replica.\n"
                 "resolvers docker\n    nameserver dns 127.0.0.11:53\n    hold valid 5s\n")
    servers = (f"    server-template r 1-{COMPOSE_SLOTS} gatelab:8501 resolvers docker init-addr none\n"
               "    dynamic-cookie-key gatelab-replicas")
    # Scaled containers have no names of their own: each replica's board shows its students, and
    # the balancer has no route to a chosen one (docs/deploy.md).
    return _fill(host="0.0.0.0", port=8501, servers=servers, resolvers=resolvers, cookie_mode=" dynamic",
                 board_routes="", status_host="0.0.0.0", status_port=8404)


def _fill(**values) -> str:
    text = TEMPLATE.read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    return text


def replica_cap(replicas: int) -> int:
    """Each replica's worker cap: this machine's (``core.lab.protocol.max_workers``) shared out."""
    sys.path.insert(0, str(ROOT))
    from core.lab.protocol import max_workers
    return max(1, max_workers() // replicas)


def port_taken(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def listening(addresses: list[tuple[str, int]], proc: subprocess.Popen, timeout: float = 15.0) -> bool:
    """True once every (host, port) accepts connections; False if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            for address in addresses:
                socket.create_connection(address, timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM every process group started here, then SIGKILL what is left."""
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + STOP_S
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in procs:  # the group too: a replica's zygote and workers share its group
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="make serve", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2, help="GateLab servers (default 2)")
    parser.add_argument("--port", type=int, default=8501, help="the balancer's port (default 8501)")
    parser.add_argument("--host", default="0.0.0.0",
                        help="the balancer's address (default 0.0.0.0: students' machines reach it)")
    parser.add_argument("--compose-config", action="store_true",
                        help=f"write {COMPOSE_CONFIG.relative_to(ROOT)} (the balancer of deploy/compose.yaml) and exit")
    args = parser.parse_args(argv)
    if args.compose_config:
        COMPOSE_CONFIG.write_text(render_compose())
        print(f"wrote {COMPOSE_CONFIG}")
        return 0
    if not 1 <= args.replicas <= 64:
        parser.error("--replicas must be between 1 and 64")
    if not 1024 <= args.port <= 65535 - args.replicas - 1:
        parser.error(f"--port must leave room for {args.replicas + 1} more ports below 65536")
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        print("error: HAProxy is not installed (Debian: apt-get install haproxy)", file=sys.stderr)
        return 2
    ports = [(args.host, args.port)] + [("127.0.0.1", args.port + i) for i in range(1, args.replicas + 2)]
    taken = [p for h, p in ports if port_taken(h, p)]
    if taken:
        print(f"error: port(s) {', '.join(map(str, taken))} in use; choose another PORT", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="gatelab-serve-"))
    config = work / "haproxy.cfg"
    config.write_text(render(args.port, args.replicas, args.host))
    check = subprocess.run([haproxy, "-c", "-q", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        print(f"error: HAProxy refused the config {config}:\n{check.stdout}{check.stderr}", file=sys.stderr)
        return 2

    # One cookie secret for all replicas, so a student sent to another replica keeps valid cookies.
    # (Streamlit takes the secret from its environment only, not from the command line.)
    # One class-board key for all replicas too (drawn here unless GATELAB_TEACHER_KEY sets one).
    key = os.environ.get("GATELAB_TEACHER_KEY", "").strip()
    env = {**os.environ, "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(16),
           "GATELAB_TEACHER_KEY": key or secrets.token_urlsafe(16),
           "GATELAB_MAX_WORKERS": os.environ.get("GATELAB_MAX_WORKERS", str(replica_cap(args.replicas)))}
    procs: list[subprocess.Popen] = []
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for i in range(1, args.replicas + 1):
            cmd = [sys.executable, "-m", "app.serve", "--server.port", str(args.port + i),
                   "--server.address", "127.0.0.1", "--server.headless", "true",
                   "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env={**env, "GATELAB_REPLICA": f"r{i}"},
                                          start_new_session=True))
            print(f"replica r{i}: pid {procs[-1].pid} on 127.0.0.1:{args.port + i}", flush=True)
        deadline = time.monotonic() + READY_S
        waiting = set(range(1, args.replicas + 1))
        while waiting and not stopping:
            waiting = {i for i in waiting if not healthy(args.port + i)}
            dead = [i for i in waiting if procs[i - 1].poll() is not None]
            if dead or time.monotonic() > deadline:
                why = "exited" if dead else f"not ready after {READY_S} s"
                print(f"error: replica(s) {', '.join(f'r{i}' for i in dead or sorted(waiting))} {why}",
                      file=sys.stderr)
                return 1
            time.sleep(0.5)
        if stopping:
            return 0
        procs.append(subprocess.Popen([haproxy, "-db", "-f", str(config)], start_new_session=True))
        local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        if not listening([(local, args.port), ("127.0.0.1", args.port + args.replicas + 1)], procs[-1]):
            print("error: the balancer did not start listening", file=sys.stderr)
            return 1
        print(f"balancer: pid {procs[-1].pid}; GateLab on http://{args.host}:{args.port} "
              f"({args.replicas} replicas, up to {env['GATELAB_MAX_WORKERS']} Lab workers each); "
              f"status on http://127.0.0.1:{args.port + args.replicas + 1}/", flush=True)
        shown = "<GATELAB_TEACHER_KEY>" if key else env["GATELAB_TEACHER_KEY"]
        for i in range(1, args.replicas + 1):  # each replica's board shows its own students
            print(f"class board of r{i} (for the teacher only): "
                  f"http://{local}:{args.port}/board?replica=r{i}&key={shown}", flush=True)
        reported = set()
        while not stopping:
            if procs[-1].poll() is not None:
                print("error: the balancer stopped; stopping the replicas", file=sys.stderr)
                return 1
            for i, p in enumerate(procs[:-1], start=1):
                if p.poll() is not None and i not in reported:
                    reported.add(i)
                    print(f"replica r{i} exited ({p.returncode}); the balancer sends its students "
                          "to the others", flush=True)
            time.sleep(0.5)
        return 0
    finally:
        print("stopping GateLab's replicas and balancer...", flush=True)
        stop(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
