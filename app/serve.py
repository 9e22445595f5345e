"""``python -m app.serve [streamlit options]``: GateLab's web server, as ``make run`` and the Docker
image start it. It starts the Lab workers' zygote (``app.worker``) and, meanwhile, imports what
the pages import (plotly, the figures); once the zygote is warm (torch imported, compiled loops
loaded: seconds) it runs ``streamlit run app/streamlit_app.py`` in this process. So the server
answers once it can serve a Lab at full speed, and the first student's page pays no warm-up.
A plain ``streamlit run app/streamlit_app.py`` works too: the zygote then starts with the first page.
Before the server starts it prints the address of the teacher's class board (``app.classroom``), with
a key drawn now unless ``GATELAB_TEACHER_KEY`` sets one.
"""
import importlib
import os
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parent / "streamlit_app.py"


def main() -> None:
    from streamlit.web import cli

    from app.worker import pool
    from core.lab.protocol import ZYGOTE_START_S
    zygote = pool().zygote()
    for module in ("app.lab.controls", "app.lab.views"):  # the Lab page's modules and plotly, ahead of the first page
        importlib.import_module(module)
    print("GateLab: warming up the training processes...", flush=True)
    if not _wait_for(zygote, ZYGOTE_START_S):
        print("GateLab: the training processes are slow to start; serving anyway", flush=True)
    from core.music.midi import upload_limit_mb
    # The web server refuses any upload above the uploaders' own limit as it streams in
    # (Streamlit's default is 200 MB per request, held in memory).
    limit = [] if any(a.startswith("--server.maxUploadSize") for a in sys.argv) else [
        f"--server.maxUploadSize={upload_limit_mb()}"]
    from app import classroom as board  # the teacher's board: its address, with the key drawn now if none was set
    port = _option("--server.port", os.environ.get("STREAMLIT_SERVER_PORT", "8501"))
    board.announce(board.local_base(port, _option("--server.baseUrlPath", "")))
    sys.argv = ["streamlit", "run", str(APP), *limit, *sys.argv[1:]]
    sys.exit(cli.main())


def _wait_for(zygote, timeout: float) -> bool:
    """Whether the zygote got ready within ``timeout`` s; exits at once, with its exit code and
    a message, if it died instead (its own reason is above, on stderr): a server that could
    never train is no server to start."""
    deadline = time.monotonic() + timeout
    while not zygote.ready.wait(0.2):
        if not zygote.alive:
            code = zygote.proc.returncode
            zygote.stop()
            sys.exit(f"GateLab: the training processes failed to start (exit code {code}; their "
                     "message is above). Not serving.")
        if time.monotonic() > deadline:
            return False
    return True


def _option(name: str, default: str) -> str:
    """A streamlit option's value on this command line (``--name value`` or ``--name=value``)."""
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


if __name__ == "__main__":
    main()
