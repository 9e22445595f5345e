"""The hash locks agree with the direct pins: requirements.lock (from requirements.txt) and
requirements-dev.lock (from requirements-dev.txt) pin every package, transitive ones included, each
with its sha256 hashes, and neither pulls in a CUDA build of torch. Parses the files; no network.
How to update the locks: docs/deploy.md."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {"requirements.lock": "requirements.txt", "requirements-dev.lock": "requirements-dev.txt"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")
# The CUDA stack that PyPI's torch build depends on; the CPU build needs none of it.
CUDA_PREFIXES = ("nvidia-", "triton", "cuda-")


def _name(name: str) -> str:
    """PEP 503 normalised: pretty_midi, Pretty.MIDI and pretty-midi are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _logical_lines(path: Path) -> list[str]:
    """The file's lines with comments dropped and backslash continuations joined."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            lines.append(current.strip())
        current = ""
    if current.strip():
        lines.append(current.strip())
    return lines


def _direct_pins(filename: str) -> dict[str, str]:
    """name -> version of every requirement in a requirements*.txt file, following `-r` includes."""
    pins = {}
    for line in _logical_lines(ROOT / filename):
        if line.startswith(("-r ", "--requirement ")):
            pins.update(_direct_pins(line.split(maxsplit=1)[1]))
            continue
        match = PIN.match(line.split(";", 1)[0].strip())
        assert match, f"{filename}: {line!r} is not an exact `name==version` pin"
        pins[_name(match[1])] = match[2]
    return pins


def _lock(filename: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hash options) of every entry in a lock file."""
    entries = {}
    for line in _logical_lines(ROOT / filename):
        requirement, *options = line.split()
        match = PIN.match(requirement)
        assert match, f"{filename}: {line[:120]!r} is not a `name==version --hash=sha256:...` entry"
        assert _name(match[1]) not in entries, f"{filename}: {match[1]} is pinned twice"
        entries[_name(match[1])] = (match[2], options)
    assert entries, f"{filename} pins nothing"
    return entries


def _same_release(pin: str, locked: str) -> bool:
    """`==2.13.0` admits 2.13.0 and a local build of it such as 2.13.0+cpu (PEP 440), nothing else."""
    return locked == pin or ("+" not in pin and locked.startswith(pin + "+"))


@pytest.mark.parametrize("lock, source", LOCKS.items())
def test_every_direct_pin_is_locked_at_the_same_version(lock, source):
    locked = _lock(lock)
    for name, version in _direct_pins(source).items():
        assert name in locked, f"{source} pins {name}=={version} but {lock} lacks it: re-run pip-compile"
        assert _same_release(version, locked[name][0]), (
            f"{source} pins {name}=={version} but {lock} has {locked[name][0]}: re-run pip-compile")


@pytest.mark.parametrize("lock", LOCKS)
def test_every_lock_entry_carries_sha256_hashes(lock):
    for name, (version, options) in _lock(lock).items():
        assert options, f"{lock}: {name}=={version} has no --hash=sha256: (pip-compile --generate-hashes)"
        for option in options:
            assert HASH.match(option), f"{lock}: {name}=={version} has {option!r}, not --hash=sha256:<64 hex>"


@pytest.mark.parametrize("lock", LOCKS)
def test_no_cuda_packages_and_torch_is_the_cpu_build(lock):
    locked = _lock(lock)
    cuda = sorted(name for name in locked if name.startswith(CUDA_PREFIXES))
    assert not cuda, f"{lock} pulls in the CUDA stack {cuda}: torch resolved to PyPI's CUDA build"
    assert locked["torch"][0].endswith("+cpu"), f"{lock} pins torch=={locked['torch'][0]}, not the +cpu build"


def test_the_dev_lock_keeps_the_runtime_lock_as_is():
    """`make setup-dev` installs requirements.lock, then requirements-dev.lock over it: the second
    must not move a runtime package (pip-compile ... -c requirements.lock ensures it)."""
    runtime, dev = _lock("requirements.lock"), _lock("requirements-dev.lock")
    for name, (version, hashes) in runtime.items():
        assert name in dev, f"requirements-dev.lock lacks {name} from requirements.lock"
        assert dev[name][0] == version, f"{name}: {version} in requirements.lock, {dev[name][0]} in the dev lock"
        assert sorted(dev[name][1]) == sorted(hashes), f"{name}: the two locks list different hashes"


@pytest.mark.parametrize("filename, lock", [("Makefile", "requirements.lock"), ("Makefile", "requirements-dev.lock"),
                                            ("Dockerfile", "requirements.lock")])
def test_installs_go_through_the_locks(filename, lock):
    assert f"--require-hashes -r {lock}" in (ROOT / filename).read_text(), (
        f"{filename} does not install with `pip install --require-hashes -r {lock}`")
