"""Faults and watchers planted in the real server's processes, for tests that start one.

``plant(tmp_path)`` writes a ``sitecustomize.py`` and returns the environment that puts it on
the path of every Python process the server starts (the server, its zygote, the workers it
forks: the zygote passes PYTHONPATH on). What it does in them, each switched by a variable:

- ``GATELAB_TEST_AUTOGRAD_LOG=FILE``: every run of autograd's engine (``backward()``,
  ``torch.autograd.grad``) appends the process id to FILE, in every process, on any torch build;
- ``GATELAB_TEST_FAIL_FORK=FILE``: in the zygote, while FILE exists, ``os.fork()`` fails as it
  does under a pids limit (EAGAIN); each failure appends a line to FILE.
"""
import os
import textwrap
from pathlib import Path

SITECUSTOMIZE = textwrap.dedent('''
    import errno, importlib.abc, os, sys

    def _record_autograd(log):
        def patch(torch_autograd):
            for module in (torch_autograd, sys.modules.get("torch.autograd.graph")):
                run = getattr(module, "_engine_run_backward", None)
                if run is None:
                    continue
                def recorded(*args, _run=run, **kwargs):
                    with open(log, "a") as f:
                        f.write(f"{os.getpid()}\\n")
                    return _run(*args, **kwargs)
                module._engine_run_backward = recorded

        class AfterImport(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name != "torch.autograd":
                    return None
                for finder in sys.meta_path:
                    spec = finder is not self and getattr(finder, "find_spec", None) and \\
                        finder.find_spec(name, path, target)
                    if spec:
                        break
                else:
                    return None
                run = spec.loader.exec_module
                def exec_module(module):
                    run(module)
                    patch(module)
                spec.loader.exec_module = exec_module
                return spec
        sys.meta_path.insert(0, AfterImport())

    def _fail_fork(flag):
        fork = os.fork
        def failing_fork():
            if os.path.exists(flag):
                with open(flag, "a") as f:
                    f.write("refused\\n")
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            return fork()
        os.fork = failing_fork

    if os.environ.get("GATELAB_TEST_AUTOGRAD_LOG"):
        _record_autograd(os.environ["GATELAB_TEST_AUTOGRAD_LOG"])
    if os.environ.get("GATELAB_TEST_FAIL_FORK") and "--zygote" in sys.argv:
        _fail_fork(os.environ["GATELAB_TEST_FAIL_FORK"])
''')


def plant(directory: Path, **variables: str) -> dict:
    """Write the sitecustomize into ``directory``; the environment that loads it, with ``variables``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE)
    path = os.pathsep.join(p for p in (str(directory), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, **variables}


def process_tree(pid: int) -> dict[int, int]:
    """pid -> parent pid of ``pid`` and all its descendants, from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                pass
    tree, frontier = {}, [pid]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in tree:
                tree[child] = p
                frontier.append(child)
    return tree


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
