"""What keeps one server fair to a class, as the page shows it (AppTest): a setting too large for
the server and a full server are messages in the page's language, never a traceback; the Lab
page runs in a web server that never imports PyTorch."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app import worker
from core.lab import protocol
from tests.apptest import new_app
from tests.test_app import ready, run_until

ROOT = Path(__file__).resolve().parents[1]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
HUGE = {"budget": "500000", "batch_size": "512", "truncate": "5000"}


def texts(at, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_an_over_large_url_setting_is_a_message_and_starts_no_worker(lang):
    before = worker.pool().count()
    at = new_app(lang=lang, **HUGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    [message] = [m for m in texts(at, "error") if "500,000" in m]
    assert f"{500_000 * 512 * 5000:,}" in message and f"{protocol.MAX_SESSION_WORK:,}" in message
    assert bool(HANGUL.search(message)) == (lang == "ko")
    assert "lab_client" not in at.session_state and worker.pool().count() == before


def test_a_full_server_says_so_and_the_page_takes_the_next_free_place(monkeypatch):
    small = worker.WorkerPool(limit=1)
    monkeypatch.setattr(worker, "_pool", small)
    try:
        other = small.open("another student", None)
        at = new_app(archs="lstm", budget="2000")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("The server is full" in w and "1 training places" in w for w in texts(at, "warning"))
        assert "lab_client" not in at.session_state and not at.button  # no Play: nothing to train
        other.close()  # the other student closes their tab
        run_until(at, ready, what="the freed place to be taken")
        assert not any("server is full" in w for w in texts(at, "warning"))
        at.session_state["lab_client"].close()
    finally:
        small.shutdown()


def test_no_page_imports_torch_into_the_server():
    """The server's heap stays small (Streamlit collects it after script runs), its memory is not
    a second copy of PyTorch, and its interpreter lock is never held by model maths: every page
    has its session's worker compute (the Gate tools here trace three shipped models)."""
    code = ("import sys; from tests.apptest import new_app\n"
            "for page in ['lab/lab.py', 'tools/tools.py', 'upload/upload.py', 'lesson/lesson.py',\n"
            "             'paper/paper.py', 'guide/guide.py', 'board/board.py']:\n"
            "    at = new_app(archs='lstm', budget='2000'); at.switch_page(page).run(timeout=120)\n"
            "    assert not at.exception, (page, [e.value for e in at.exception])\n"
            "    assert page != 'tools/tools.py' or at.get('plotly_chart'), 'no tool drawn'\n"
            "print('torch' in sys.modules, 'numba' in sys.modules, flush=True)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=400, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                           "HOME": str(Path.home())})
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["False", "False"]
