"""The process that forks the Lab's workers (the zygote) never runs autograd.

Why: on a CUDA build of torch, autograd's first run starts device threads, and PyTorch then
refuses autograd in every child forked afterwards: no student's Lab could train
(``core.lab.warm_up.warm_up``). CPU builds (CI's) start no such threads, so the failure itself
never shows here: this test watches for the cause instead. A real server, started as
``make run`` starts it, serves a Lab page in Chromium that trains; a watcher planted in every
one of its Python processes records the process id of each autograd run.
"""
import time
from pathlib import Path

import pytest

from benchmarks.live_page import click, loss_points, open_browser, open_lab, streamlit_server, wait_for
from tests.faults import cmdline, plant, process_tree

pytestmark = pytest.mark.browser


def server_pid(url: str) -> int:
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and "app.serve" in cmdline(int(entry.name)) and port in cmdline(int(entry.name)):
            return int(entry.name)
    raise AssertionError("the server's process was not found")


def test_the_zygote_never_runs_autograd_while_a_page_trains(tmp_path):
    log = tmp_path / "autograd.pids"
    env = plant(tmp_path / "site", GATELAB_TEST_AUTOGRAD_LOG=str(log))
    with streamlit_server(env=env, log=tmp_path / "server.log") as url, open_browser() as browser:
        tree = process_tree(server_pid(url))
        zygotes = [p for p in tree if "--zygote" in cmdline(p)]
        assert len(zygotes) == 1, f"one zygote expected under the server: {tree}"
        page, errors = open_lab(browser, url)
        click(page, "Play")
        wait_for(lambda: loss_points(page) > 3, 60, "the Lab to train")
        click(page, "Pause")
        workers = {p for p, parent in process_tree(server_pid(url)).items() if parent == zygotes[0]}
        time.sleep(0.5)
    ran = {int(line) for line in log.read_text().split()}
    assert ran, "the watcher saw no autograd at all: it is not watching"
    assert zygotes[0] not in ran, "the zygote ran autograd: on a CUDA build no worker could train"
    assert ran <= workers, f"autograd ran outside the workers: {ran - workers} (workers {workers})"
    assert errors == [], errors
