"""How live is the Lab page? Measured in headless Chromium against a real `streamlit run`.

Records: seconds from the Play click to the first loss chart with a trained point; distinct
metric values the browser shows per second while the Lab's ~20k-parameter models (the paper's
three, or ``--archs``: up to six, units taken apart included) train on the built-in corpus
(target >= 2); seconds from a Pause click until the numbers stop (target < 1).

    .venv/bin/python benchmarks/live_page.py [--seconds 10] [--cycles 3] [--sessions 1]
        [--archs lstm,lstm-nfg,lstm-cifg,mgu,gru,tanh] [--note "what changed"] [--write docs/dashboard.md]

Everything (browser, server, workers) runs on this machine, so its other load counts: the
result records the load average before the run, and each quantity is the median over several
Reset -> Play -> Pause cycles (their range is kept beside it).

The helpers here (``streamlit_server``, ``open_browser``, ``open_lab``, ``loss_points``) are also
used by the browser test (tests/test_browser_lab.py).
"""
import argparse
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("GATELAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
METRIC = '[data-testid="stMetricValue"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(env: dict | None = None, timeout: float = 60.0, log: Path | None = None):
    """``python -m app.serve`` (``streamlit run app/streamlit_app.py``, as ``make run`` starts it) on a
    free localhost port; yields its URL and
    stops it (and its workers, which die with it) afterwards. Its output goes to ``log``."""
    port = free_port()
    log_file = open(log, "wb") if log else subprocess.DEVNULL
    cmd = [sys.executable, "-m", "app.serve",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
           "--logger.level", os.environ.get("GL_LOG", "info")]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start (exit code {proc.poll()}); see {log}") from None
                time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the workers it started
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if log:
            log_file.close()


@contextlib.contextmanager
def browser_test_server(artifacts: Path):
    """A browser test's server: Chromium must be there; the server's log is kept in ``artifacts``."""
    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    artifacts.mkdir(parents=True, exist_ok=True)
    with streamlit_server(log=artifacts / "server.log") as url:
        yield url


@contextlib.contextmanager
def open_browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_for(condition, timeout: float, what: str, poll: float = 0.2):
    """Poll ``condition()`` until it returns something true (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll)


def open_lab(browser, url: str, timeout_s: float = 90.0, archs: str = ""):
    """A new page on the Lab (training ``archs``, comma-separated, when given: ``?archs=``),
    waiting until the models are built (the metrics show)."""
    if archs:
        url = f"{url}/?{urllib.parse.urlencode({'archs': archs})}"
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector(METRIC, timeout=timeout_s * 1000)
    return page, errors


def click(page, label: str) -> None:
    """Click like a user: at once. (Playwright's default click first waits for the button to
    hold still over two frames, which a button in a fragment redrawn every 0.4 s on a loaded
    machine may not do for seconds; that wait is not the page's latency.)"""
    page.get_by_role("button", name=label).first.click(force=True)


# Points of the loss chart's traces beyond update 0, from plotly's own data (-1: no chart).
LOSS_POINTS_JS = """() => {
    const loss = [...document.querySelectorAll('.js-plotly-plot')]
        .find(p => (p.layout?.yaxis?.title?.text || '').startsWith('NLL'));
    return loss ? loss._fullData.reduce(
        (n, t) => n + Array.from(t.x || []).filter(v => v > 0).length, 0) : -1;
}"""


def loss_points(page) -> int:
    """Points of the loss chart's traces beyond update 0 (-1 while there is no chart)."""
    return page.evaluate(LOSS_POINTS_JS)


def shared_steps(page) -> int:
    """The page's "step N" (shared updates done), from its status line; -1 if not shown."""
    text = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMarkdown"]')]
        .map(e => e.innerText).find(t => /^(training|paused) · step/.test(t)) || ''""")
    match = re.search(r"step (\d+)", text)
    return int(match.group(1)) if match else -1


# Records, inside the page, when the metric values change and when the loss chart first has a
# trained point (a MutationObserver), and when each click reached the browser (the event's own
# timestamp: when the browser received it, before its main thread got to it). Timestamps are
# epoch milliseconds on this machine's clock. Polling the page from here instead, tens of times
# a second, took the browser's main thread from the page it was measuring; and timing from the
# moment Playwright is asked to click adds its own protocol round trips (0.06-0.7 s measured
# here), which no user's click has: they are reported apart, as ``click_delivery_s``.
RECORDER = """(metric) => {
    const lossPoints = """ + LOSS_POINTS_JS + """;
    if (!window.__gatelab) {
        const log = window.__gatelab = {changes: [], clicks: [], first_point: null, last: null};
        document.addEventListener('click', e => log.clicks.push(performance.timeOrigin + e.timeStamp), true);
        new MutationObserver(() => {
            const now = Date.now();
            const values = [...document.querySelectorAll(metric)].map(e => e.innerText).join('|');
            if (values !== log.last) { log.changes.push(now); log.last = values; }
            if (log.first_point === null && lossPoints() > 0) log.first_point = now;
        }).observe(document.body, {subtree: true, childList: true, characterData: true});
    }
    window.__gatelab.changes = [];
    window.__gatelab.first_point = lossPoints() > 0 ? Date.now() : null;
}"""


def record(page) -> None:
    """Start (or restart) the in-page record of metric changes and of the first loss point."""
    page.evaluate(RECORDER, METRIC)


def recorded(page) -> dict:
    """The in-page record: ``changes`` (epoch seconds) and ``first_point`` (epoch s or None)."""
    log = page.evaluate("() => window.__gatelab")
    return {"changes": [c / 1000 for c in log["changes"]], "clicks": [c / 1000 for c in log["clicks"]],
            "first_point": log["first_point"] / 1000 if log["first_point"] else None}


def click_time(page, asked: float) -> float:
    """When the browser received the click asked for at ``asked`` (epoch s)."""
    return min((c for c in recorded(page)["clicks"] if c >= asked - 0.05), default=asked)


def refreshes(changes: list[float], gap: float = 0.15) -> list[float]:
    """One time per refresh: the browser may apply one refresh's new numbers in several
    steps (one metric, then the next), so changes closer than ``gap`` s count once."""
    out = []
    for c in sorted(changes):
        if not out or c - out[-1][-1] >= gap:
            out.append([c])
        else:
            out[-1].append(c)
    return [group[0] for group in out]


def measure(page, seconds: float) -> dict:
    """One cycle from the page's current (reset) state: Play; time to the first trained loss
    point; metric refresh rate while training; Pause latency."""
    record(page)
    asked = time.time()
    click(page, "Play")
    t0 = click_time(page, asked)
    while (first := recorded(page)["first_point"]) is None:
        if time.time() - t0 > 30:
            raise RuntimeError("no loss point 30 s after Play")
        time.sleep(0.1)
    t1, steps0 = time.time(), shared_steps(page)
    time.sleep(seconds)
    t1_end, steps1 = time.time(), shared_steps(page)
    changes = refreshes([c for c in recorded(page)["changes"] if t1 <= c < t1_end])
    asked_pause = time.time()
    click(page, "Pause")
    t2 = click_time(page, asked_pause)
    time.sleep(4.0)
    after = [c for c in recorded(page)["changes"] if c >= t2]
    return {"play_to_first_chart_s": round(first - t0, 2),
            "refreshes_per_s": round(len(changes) / (t1_end - t1), 2),
            "pause_to_stop_s": round(max(after, default=t2) - t2, 2),
            "training_steps_per_s": round((steps1 - steps0) / (t1_end - t1), 1),
            "click_delivery_s": round(max(t0 - asked, t2 - asked_pause), 2)}


def reset(page, timeout: float = 60.0) -> None:
    """Reset and wait until the rebuilt models show step 0 and an untrained loss chart."""
    click(page, "Reset")
    wait_for(lambda: shared_steps(page) == 0 and loss_points(page) == 0, timeout,
             "the reset models")


def drawn_charts(page) -> int:
    """How many plotly charts the page has drawn (with their data)."""
    return page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .filter(p => (p._fullData || []).length > 0).length""")


def settle(page, timeout: float = 60.0) -> None:
    """Wait until the page is drawn as a user sees it before pressing Play: the loss chart
    and the view under it (gates), then a second more for the browser to finish painting."""
    wait_for(lambda: drawn_charts(page) >= 2, timeout, "the loss chart and the gates")
    time.sleep(1.0)


def measure_cycles(page, seconds: float, cycles: int) -> dict:
    """``cycles`` Reset -> Play -> Pause cycles on one page, each started on a drawn page
    (``settle``). One cycle is a few seconds of a noisy shared machine, so the result is each
    quantity's median over the cycles, with every cycle's value kept beside it (``all``)."""
    runs = []
    for i in range(cycles):
        if i:
            reset(page)
        settle(page)
        runs.append(measure(page, seconds))
    result = {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}
    return result | {"all": {k: [r[k] for r in runs] for k in runs[0]}}


def write_row(result: dict, path: Path, note: str = "") -> None:
    """Append the result as a row of the results table in ``path`` (docs/dashboard.md):
    medians, with the range over the cycles in brackets."""
    def cell(k):
        values = result["all"][k]
        spread = f" ({min(values)}-{max(values)})" if len(values) > 1 else ""
        return f"{result[k]}{spread}"
    models = f"{len(result['archs'].split(','))} models: {result['archs']}" if result.get("archs") else ""
    remarks = "; ".join(r for r in (models, note) if r)
    when = time.strftime('%Y-%m-%d %H:%M') + (f" ({remarks})" if remarks else "")
    row = (f"| {when} | {result['sessions']} | {result['cycles']} | {result['load_before']} | "
           f"{cell('play_to_first_chart_s')} | {cell('refreshes_per_s')} | "
           f"{cell('pause_to_stop_s')} | {cell('training_steps_per_s')} |")
    text = path.read_text()
    marker = "<!-- live_page.py appends rows above this line -->"
    path.write_text(text.replace(marker, row + "\n" + marker))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="how long to count refreshes")
    parser.add_argument("--sessions", type=int, default=1, help="browser pages training at once")
    parser.add_argument("--cycles", type=int, default=3,
                        help="Reset -> Play -> Pause cycles measured (medians reported)")
    parser.add_argument("--archs", default="",
                        help="the units each page trains, comma-separated (the Lab's ?archs=; default: its three)")
    parser.add_argument("--note", default="", help="a remark for the results row (what changed)")
    parser.add_argument("--write", type=Path, help="append the result to this markdown file")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with streamlit_server() as url, open_browser() as browser:
        pages = [open_lab(browser, url, archs=args.archs)[0] for _ in range(args.sessions)]
        for extra in pages[1:]:
            click(extra, "Play")
        result = measure_cycles(pages[0], args.seconds, args.cycles)
    result.update(sessions=args.sessions, cycles=args.cycles, seconds_counted=args.seconds,
                  load_before=round(load_before, 1), load_after=round(os.getloadavg()[0], 1),
                  cores=os.cpu_count(), archs=args.archs)
    print(json.dumps(result))
    if args.write:
        write_row(result, args.write, args.note)


if __name__ == "__main__":
    main()
