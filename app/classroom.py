"""The class board's data: the teacher's key, the students' names, and one row per open Lab.

The board adds no training and sends the workers nothing: each row is read from this server's
memory, from what the student's own page last got from its worker (``LabClient.numbers``, at
most ``core.lab.protocol.FAST_S`` old while that page trains) and the client's settings.

Names live in this process's memory only (``ROSTER``): never written to disk, never logged, and
forgotten once their session has no worker. The key is ``GATELAB_TEACHER_KEY``, or one drawn
when the server starts (``announce`` prints the board's address with it). Imports no streamlit
and no torch: the tests build rows from plain stand-ins for the clients.
"""
import hmac
import math
import os
import secrets
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np

from core.training.settings import LabSettings
from core.units import ALL_ARCHS

KEY_ENV = "GATELAB_TEACHER_KEY"
REPLICA_ENV = "GATELAB_REPLICA"  # "r2 of 3", set by deploy/serve.py for each replica it starts
NAME_MAX = 30           # characters of a student's name (longer ones are cut)
CURVE_POINTS = 80       # points per student's validation curve on the board: a projected chart's
                        # width needs no more, and a class of 30 stays ~100 kB a refresh
RANKED = 3              # students named per unit in the ranking
FORGET_S = 60.0         # a name whose session has no worker this long is forgotten (a closed tab)

_key: str | None = None
_key_lock = threading.Lock()
_announced = False


def teacher_key() -> str:
    """The board's key: ``GATELAB_TEACHER_KEY``, else one drawn once for this server's life."""
    global _key
    with _key_lock:
        if _key is None:
            _key = os.environ.get(KEY_ENV, "").strip() or secrets.token_urlsafe(16)
        return _key


def key_from_env() -> bool:
    """Whether the operator set the key (then the log never shows it)."""
    return bool(os.environ.get(KEY_ENV, "").strip())


def key_matches(given: str | None) -> bool:
    """Whether ``given`` is the board's key, compared in constant time (a wrong guess learns
    nothing from how long the answer took). Bytes, so any text can be compared."""
    if not given:
        return False
    return hmac.compare_digest(str(given).encode("utf-8", "replace"), teacher_key().encode("utf-8"))


def board_url(base: str) -> str:
    """The board's address under ``base`` (``http://host:port``), key included."""
    return f"{base.rstrip('/')}/board?{urlencode({'key': teacher_key()})}"


def local_base(port, base_path: str = "", host: str = "localhost") -> str:
    """``http://host:port[/base_path]``: this server as its own machine reaches it."""
    path = str(base_path or "").strip("/")
    return f"http://{host}:{port}" + (f"/{path}" if path else "")


def announce(base: str, out=None) -> None:
    """Print, once per server, where the teacher's board is: the whole address with a drawn key;
    with the operator's own key (``GATELAB_TEACHER_KEY``) the variable's name instead of it."""
    global _announced
    if _announced:
        return
    _announced = True
    url = (f"{base.rstrip('/')}/board?key=<{KEY_ENV}>" if key_from_env() else board_url(base))
    print(f"GateLab: the class board (for the teacher only): {url}", file=out or sys.stdout, flush=True)


def replica() -> str:
    """Which replica this server is (``deploy/serve.py`` says, e.g. "r2 of 3"); "" alone."""
    return os.environ.get(REPLICA_ENV, "")


# -- names ------------------------------------------------------------------------------------------

def clean_name(raw) -> str:
    """A name as the board shows it: control and format characters dropped, white space
    collapsed, at most ``NAME_MAX`` characters."""
    text = "".join(c for c in str(raw or "") if not unicodedata.category(c).startswith("C") or c.isspace())
    return " ".join(text.split())[:NAME_MAX].strip()


@dataclass
class Student:
    number: int            # "Student <number>" while the name is empty; kept for the session
    name: str = ""
    seen: float = field(default_factory=time.monotonic)  # last enrolled or seen with a worker


class Roster:
    """Students by session id, in memory only. Each session keeps its number; a new one gets the
    lowest number free, so a class of 30 is Student 1 .. Student 30."""

    def __init__(self):
        self._lock = threading.Lock()
        self._students: dict[str, Student] = {}

    def enroll(self, session_id: str, name: str, open_ids=(), now: float | None = None) -> Student:
        """Record ``session_id``'s name (cleaned); forget sessions that have had no worker
        (not in ``open_ids``) for ``FORGET_S``."""
        with self._lock:
            self._forget(set(open_ids) | {session_id}, now or time.monotonic())
            student = self._get(session_id, now)
            student.name = clean_name(name)
            return student

    def student(self, session_id: str, now: float | None = None) -> Student:
        """The session's entry (a number given if it has none)."""
        with self._lock:
            return self._get(session_id, now)

    def _get(self, session_id: str, now: float | None) -> Student:
        student = self._students.get(session_id)
        if student is None:
            taken = {s.number for s in self._students.values()}
            number = next(n for n in range(1, len(taken) + 2) if n not in taken)
            student = self._students[session_id] = Student(number)
        student.seen = now or time.monotonic()
        return student

    def _forget(self, open_ids: set, now: float) -> None:
        for sid, student in list(self._students.items()):
            if sid in open_ids:
                student.seen = now
            elif now - student.seen >= FORGET_S:
                del self._students[sid]

    def __len__(self) -> int:
        return len(self._students)


ROSTER = Roster()  # this server's students


# -- rows -------------------------------------------------------------------------------------------

@dataclass
class Row:
    """One open Lab as the board shows it; NLLs by unit key, NaN where not measured yet."""
    number: int
    name: str
    dataset: str                 # the registry name (core.music.data)
    archs: tuple                 # the units it trains, in ``core.units.ALL_ARCHS`` order
    settings: dict               # its LabSettings as URL parameters (the link to its setup)
    running: bool = False
    steps: int | None = None     # shared updates so far (None: no numbers yet)
    valid: dict = field(default_factory=dict)   # arch -> validation NLL now
    best: dict = field(default_factory=dict)    # arch -> lowest validation NLL so far
    curves: dict = field(default_factory=dict)  # arch -> (updates, NLL) arrays, thinned


def thin(x: np.ndarray, y: np.ndarray, points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``points`` of a curve, evenly spread over its rows, first and last kept."""
    if len(x) <= points:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, points).round().astype(int))
    return x[keep], y[keep]


def _lowest(y: np.ndarray) -> float:
    finite = y[np.isfinite(y)]
    return float(finite.min()) if finite.size else math.nan


def row_of(client, student: Student) -> Row | None:
    """The board's row for one session's client (None: not a Lab, e.g. only the Gate tools)."""
    settings = client.settings
    if not settings:
        return None
    try:
        params = LabSettings(**settings).to_params()
    except (TypeError, ValueError):
        return None
    status, numbers = client.status or {}, client.numbers
    if numbers is not None and numbers["status"].get("generation") != status.get("generation"):
        numbers = None  # the numbers of models a reset replaced
    archs = tuple(a for a in ALL_ARCHS if a in (numbers["metrics"] if numbers else settings["archs"]))
    row = Row(student.number, student.name, settings["dataset"], archs, params,
              running=bool(status.get("running")))
    if numbers is None:
        return row
    row.steps = int(numbers["status"].get("steps", 0))
    for arch, m in numbers["metrics"].items():
        row.valid[arch] = float(m["valid_nll"])
        valid = np.asarray(numbers["loss"].get(arch, {}).get("valid", np.empty((0, 3))), dtype=float)
        valid = valid.reshape(-1, 3)
        row.best[arch] = _lowest(valid[:, 2])
        row.curves[arch] = thin(valid[:, 0], valid[:, 2])
    return row


def board_rows(sessions: dict, roster: Roster = ROSTER) -> list[Row]:
    """One row per open Lab among ``sessions`` (session id -> client), by student number."""
    rows = [row_of(client, roster.student(sid)) for sid, client in sessions.items()]
    return sorted((r for r in rows if r is not None), key=lambda r: r.number)


def ranking(rows: list[Row], top: int = RANKED) -> dict[str, dict[str, list[tuple[Row, float]]]]:
    """Dataset -> unit -> the ``top`` rows with the lowest validation NLL so far, lowest first
    (NLLs on different data do not compare: each dataset is ranked on its own)."""
    out: dict[str, dict[str, list]] = {}
    for row in rows:
        for arch, nll in row.best.items():
            if math.isfinite(nll):
                out.setdefault(row.dataset, {}).setdefault(arch, []).append((row, nll))
    return {d: {a: sorted(v, key=lambda rn: (rn[1], rn[0].number))[:top]
                for a, v in sorted(units.items(), key=lambda kv: ALL_ARCHS.index(kv[0]))}
            for d, units in out.items()}


def setup_link(row: Row, **extra) -> str:
    """A relative link to the Lab with the row's setup (no name, no key): ``lab?dataset=...``;
    ``extra`` adds page flags (``lang``, ``projector``)."""
    return "lab?" + urlencode({**row.settings, **{k: v for k, v in extra.items() if v}})
