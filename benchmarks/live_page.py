"""How live is the Lab page? Measured in headless Chromium against a real `streamlit run`.

Records: seconds from the Play click to the first loss chart with a trained point; distinct
metric values the browser shows per second while three ~20k-parameter models train on the
built-in corpus (target >= 2); seconds from a Pause click until the numbers stop (target < 1).

    .venv/bin/python benchmarks/live_page.py [--seconds 15] [--sessions 1] [--write docs/dashboard.md]

Everything (browser, server, workers) runs on this machine, so its other load counts: the
result records the load average before the run.

The helpers here (``streamlit_server``, ``open_browser``, ``page_numbers``) are also used by
the browser test (tests/test_browser_lab.py).
"""
import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
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
    """``streamlit run app/streamlit_app.py`` on a free localhost port; yields its URL and
    stops it (and its workers, which die with it) afterwards. Its output goes to ``log``."""
    port = free_port()
    log_file = open(log, "wb") if log else subprocess.DEVNULL
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "streamlit_app.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--logger.level", os.environ.get("GL_LOG", "info")]
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
                    raise RuntimeError(f"streamlit did not start (exit code {proc.poll()}); see {log}")
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


def page_numbers(page) -> list[str]:
    """The metric values on the page, in order."""
    return page.eval_on_selector_all(METRIC, "els => els.map(e => e.innerText)")


def open_lab(browser, url: str, timeout_s: float = 90.0):
    """A new page on the Lab, waiting until the models are built (the metrics show)."""
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


def loss_points(page) -> int:
    """Points of the loss chart's traces beyond update 0 (read from plotly's own data)."""
    return page.evaluate("""() => {
        const plots = [...document.querySelectorAll('.js-plotly-plot')];
        const loss = plots.find(p => (p.layout?.yaxis?.title?.text || '').startsWith('NLL'));
        if (!loss) return -1;
        return loss._fullData.reduce((n, t) => n + Array.from(t.x || []).filter(v => v > 0).length, 0);
    }""")


def shared_steps(page) -> int:
    """The page's "step N" (shared updates done), from its status line; -1 if not shown."""
    text = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMarkdown"]')]
        .map(e => e.innerText).find(t => /^(training|paused) · step/.test(t)) || ''""")
    match = re.search(r"step (\d+)", text)
    return int(match.group(1)) if match else -1


def measure(page, seconds: float) -> dict:
    """Play; time to the first trained loss point; metric refresh rate; Pause latency."""
    t0 = time.monotonic()
    click(page, "Play")
    while loss_points(page) <= 0:
        if time.monotonic() - t0 > 30:
            raise RuntimeError("no loss point 30 s after Play")
        time.sleep(0.02)
    first_chart = time.monotonic() - t0
    seen, changes, last = set(), 0, None
    t1, steps0 = time.monotonic(), shared_steps(page)
    while time.monotonic() - t1 < seconds:
        values = tuple(page_numbers(page))
        if values != last:
            changes += last is not None
            seen.add(values)
            last = values
        time.sleep(0.02)
    rate = changes / (time.monotonic() - t1)
    steps_rate = (shared_steps(page) - steps0) / (time.monotonic() - t1)
    t2 = time.monotonic()
    click(page, "Pause")
    last_change, last = time.monotonic(), tuple(page_numbers(page))
    while time.monotonic() - t2 < 4:
        values = tuple(page_numbers(page))
        if values != last:
            last_change, last = time.monotonic(), values
        time.sleep(0.02)
    return {"play_to_first_chart_s": round(first_chart, 2), "refreshes_per_s": round(rate, 2),
            "pause_to_stop_s": round(max(last_change - t2, 0.0), 2),
            "training_steps_per_s": round(steps_rate, 1)}


def write_row(result: dict, path: Path) -> None:
    """Append the result as a row of the results table in ``path`` (docs/dashboard.md)."""
    row = (f"| {time.strftime('%Y-%m-%d %H:%M')} | {result['sessions']} | {result['load_before']} | "
           f"{result['play_to_first_chart_s']} | {result['refreshes_per_s']} | "
           f"{result['pause_to_stop_s']} | {result['training_steps_per_s']} |")
    text = path.read_text()
    marker = "<!-- live_page.py appends rows above this line -->"
    path.write_text(text.replace(marker, row + "\n" + marker))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="how long to count refreshes")
    parser.add_argument("--sessions", type=int, default=1, help="browser pages training at once")
    parser.add_argument("--write", type=Path, help="append the result to this markdown file")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with streamlit_server() as url, open_browser() as browser:
        pages = [open_lab(browser, url)[0] for _ in range(args.sessions)]
        for extra in pages[1:]:
            click(extra, "Play")
        result = measure(pages[0], args.seconds)
    result.update(sessions=args.sessions, seconds_counted=args.seconds,
                  load_before=round(load_before, 1), cores=os.cpu_count())
    print(json.dumps(result))
    if args.write:
        write_row(result, args.write)


if __name__ == "__main__":
    main()
