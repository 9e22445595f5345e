"""The Lab's process protocol in one place: who talks to whom, the messages, every timeout and
interval, and the limits that keep one server fair to a class. Imports no torch.

Processes (one web server serves a class):

    web server (Streamlit)         app/worker.py: WorkerPool, one LabClient per browser session
      └─ zygote                     core/lab/worker.py --zygote: imports torch and numba, compiles
           ├─ worker (session 1)    the loops, loads the built-in data once, then forks one worker
           └─ worker (session 2)    per session; forked workers share those pages (copy on write)

Transport: ``multiprocessing.connection`` messages over a Unix socket in a directory only the
server's user can enter (``socket_dir``). A session's client connects; the zygote forks a worker
that owns that connection. The worker's first message is ``(0, {"pid": PID})``.

Messages: the client sends ``(id, command, *args)``; the worker replies ``(id, reply)``, every
reply a dict holding ``status`` (ready, running, error, generation, steps, epoch, messages,
updates). Commands:

- ``reset`` (LabSettings dict [, Dataset]): new models; ``play`` / ``pause``; ``step``: one update;
- ``get`` (request dict): numbers and loss history; ``{"views": ...}`` traces of one piece,
  ``{"csv": True}`` the metrics history, ``{"weights": True}`` the models' weights;
- ``compute`` (name, args, kwargs): one of ``COMPUTE`` on a model the page names with a
  ``core.units.records.ModelRef`` (first argument; another first argument is passed as it is); the
  reply's ``result`` is plain data (numpy, dicts, ``core.units.records.Trace``), or ``failed`` with
  the reason. Pages that show models (Gate tools,
  Your own music, the lesson) ask this way: the web server never imports torch;
- ``stop``: the worker exits.

Lifetime (like JupyterHub's idle culler, not a heartbeat): a worker lives as long as its browser
session. It ends when the server says ``stop``, when its connection closes (the server died), or
when its zygote is gone. The server's reaper stops the worker of a session whose browser has
been disconnected for ``CLOSED_GRACE_S``, and culls a session idle (no request from its page) for
``idle_cull_s()``. A hidden tab keeps its worker, and keeps training if it was playing.
"""
import os

COMMANDS = ("reset", "play", "pause", "step", "get", "compute", "stop")
# what a page may ask a worker to compute: name -> (module, function), each f(model, ...)
COMPUTE = {
    "trace": ("core.insight.trace", "trace"),
    "saturation": ("core.insight.analysis", "model_saturation"),
    "memory_gradients": ("core.insight.analysis", "memory_gradients"),
    "memory_curve": ("core.insight.analysis", "memory_curve"),
    "intervention": ("core.insight.interventions", "intervention"),
    "step_numbers": ("core.insight.interventions", "step_numbers"),
    "sample": ("core.insight.sample", "sample"),
    "checkpoint_bytes": ("core.training.checkpoint", "to_bytes"),        # a Lab model, to download
    "read_checkpoint": ("core.training.checkpoint", "weights_from_bytes"),  # an uploaded file (bytes, no model)
    "take_apart": ("core.lab.take_apart", "take_apart"),  # the lesson: the LSTM with and without a gate
}
MODELS_KEPT = 24       # models a worker keeps built for ``compute`` (pretrained sets, Lab snapshots)

# -- the page (app/lab/views.py) ------------------------------------------------------------------------
FAST_S = 0.4    # metrics + loss chart refresh, while training or while the worker gets ready;
                # a paused page sends nothing (an idle page costs the server nothing)
PENDING_S = 60.0  # after Play / Pause the page refreshes until the worker confirms, at most this long
SLOW_S = 2.5    # gates / states / prediction refresh while training (a trace is ~10 ms, a chart more)
NOTE_S = 10.0   # a note on the worker (restarted, culled) stays this long: the fragment reruns every
                # FAST_S, and a note shown once would be gone before anyone read it
BOARD_S = 2.0   # the class board's refresh (app/board/views.py): it reads what the students' pages last
                # got from their workers (``LabClient.numbers``), so it sends the workers nothing

# -- the client's waits (app/worker.py) -------------------------------------------------------------
REPLY_S = 2.0          # default wait for a reply; a late one is read and dropped by the next call
NUMBERS_WAIT_S = 0.3   # the page's numbers: the worker's reader thread answers at once when ready
RESET_WAIT_S = 0.5     # after reset the page polls for ``ready`` instead of waiting
STEP_WAIT_S = 30.0     # one Step button press: one update of up to three models
COMPUTE_WAIT_S = 120.0 # one ``compute``: a trace of a long upload or a memory curve takes seconds
WEIGHTS_WAIT_S = 10.0  # the models' weights, for the Gate tools and the lesson
FULL_RETRY_S = 5.0     # a page refused a place (server full) asks again this often
STOP_WAIT_S = 2.0      # after ``stop`` a worker that has not exited is killed
CONNECT_S = 5.0        # a fork from the warm zygote takes milliseconds; this bounds a stuck one
ZYGOTE_START_S = 180.0 # the zygote's warm-up (torch import, numba loops from the disk cache or
                       # compiled afresh: ~15 s on a new machine) before the first session can start

# -- the worker (core/lab/worker.py) ----------------------------------------------------------------
PUBLISH_EVERY_S = 0.1  # while training, the latest numbers are rebuilt at most this often (~1 ms)
VIEWS_EVERY_S = 1.0    # while training, the last requested views are re-traced this often (~10 ms)
IDLE_POLL_S = 0.2      # a paused worker waits this long for a command before looking around
ZYGOTE_POLL_S = 1.0    # the zygote checks this often that its server still runs

# -- lifetime (the server's reaper, app/worker.py) --------------------------------------------------
REAP_EVERY_S = 5.0      # the reaper looks at every session this often
CLOSED_GRACE_S = 30.0   # a browser disconnected this long has closed its tab (Streamlit keeps a
                        # disconnected session 2 min for a reconnect; a closed tab must free its
                        # worker within a minute: 30 s + one reaper round)
IDLE_CULL_MIN = 30.0    # default: a session with no request from its page for this long is culled


def idle_cull_s() -> float:
    """Seconds without a request from the page before a session's worker is culled
    (``GATELAB_IDLE_CULL_MIN``, default 30 minutes)."""
    return 60.0 * _env_float("GATELAB_IDLE_CULL_MIN", IDLE_CULL_MIN)


# -- limits -----------------------------------------------------------------------------------------
WORKER_MB = 200          # what one more worker costs, for the default cap (measured: docs/classroom.md)
WORKERS_PER_CORE = 8     # sessions per core: most of a class is paused or reading at any moment
MAX_SESSION_WORK = 1_000_000_000  # parameters x sequences per batch x steps per chunk, per model:
                                  # 30x the default (20k x 8 x 200); one update stays near a second
                                  # (Pause acts between updates) and its memory well under 1 GB


def max_workers() -> int:
    """How many sessions may have a worker at once (``GATELAB_MAX_WORKERS``; default from the
    machine: ``WORKERS_PER_CORE`` per core, no more than the free memory holds at ``WORKER_MB``)."""
    if "GATELAB_MAX_WORKERS" in os.environ:
        return max(1, int(_env_float("GATELAB_MAX_WORKERS", 1)))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    by_memory = (_available_mb() - 1024) // WORKER_MB  # 1 GB left for the server and the zygote
    return int(max(1, min(WORKERS_PER_CORE * cores, by_memory)))


def session_work(budget: int, batch_size: int, chunk: int) -> int:
    """The size of one update of one model: parameters x sequences x steps."""
    return int(budget) * int(batch_size) * int(chunk)


def too_large(settings: dict, longest: int | None = None) -> dict | None:
    """None if a Lab setup (a ``LabSettings`` dict) fits ``MAX_SESSION_WORK``, else the numbers
    for the page's message. ``truncate`` 0 trains whole pieces: their ``longest`` length counts
    (unknown: only the worker, which has the data, can tell)."""
    chunk = settings["truncate"] or longest
    if chunk is None:
        return None
    work = session_work(settings["budget"], settings["batch_size"], chunk)
    if work <= MAX_SESSION_WORK:
        return None
    return {"budget": settings["budget"], "batch_size": settings["batch_size"], "chunk": int(chunk),
            "work": work, "max_work": MAX_SESSION_WORK}


def _available_mb() -> int:
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 4096  # not Linux: assume a small machine


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 and value == value and value != float("inf") else default
