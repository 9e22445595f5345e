"""The four datasets of Boulanger-Lewandowski et al. (2012), as used by Chung et al. (2014).

Each comes from the first of: ``$GATELAB_DATA_DIR/<file>``, ``<cache>/<file>``, or a download
from ``$GATELAB_DATA_URL`` (default: the authors' site) into the cache. The pickle is read by
a restricted unpickler, converted to piano rolls, and its content checked against a
fingerprint written below; the rolls are then cached as ``.npz`` keyed by the file's sha256,
so later loads skip the pickle entirely.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.parse
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.music.download import DownloadError, Progress, download_file
from core.music.rolls import (
    HIGHEST_PITCH,
    LOWEST_PITCH,
    N_KEYS,
    PACKED_WIDTH,
    SPLITS,
    DataError,
    Dataset,
    fingerprint_packed,
    unpack_rolls,
)
from core.music.safe_pickle import safe_load_bytes

DEFAULT_URL = "http://www-etud.iro.umontreal.ca/~boulanni/"
CACHE_FORMAT = 1  # bump when the .npz layout changes, so old caches are ignored


@dataclass(frozen=True)
class PaperSpec:
    """One of the four published datasets."""

    title: str
    filename: str  # name in the original distribution (and in the data dir and cache)
    steps_per_beat: float
    # core.music.rolls.fingerprint_splits of the published content. Computed from the published
    # pickles; the independent .mat conversion of each set hashes the same.
    fingerprint: str
    description: str


PAPER_SPECS = {
    "jsb": PaperSpec(
        "JSB Chorales", "JSB Chorales.pickle", 1,
        "c8bc3bb7654ed3a214e89daee7da3df410f19d5651024a4c5a20213347a2859f",
        "382 four-part chorales harmonised by J. S. Bach, one step per quarter note, "
        "transposed to C major / C minor. Small and regular: the quickest real data to learn."),
    "nottingham": PaperSpec(
        "Nottingham", "Nottingham.pickle", 2,
        "3b0877a425a5d7ddf7d3f009bdc0278f1f594a1c4898cfcc5d66baaa266b6681",
        "1037 British and American folk tunes with chord accompaniment, one step per eighth "
        "note. Simple, repetitive harmony: models reach low loss."),
    "musedata": PaperSpec(
        "MuseData", "MuseData.pickle", 2,
        "f5ff24bb71e0a16f72a7bb9ecd47254fdd98b51ba5c1a5f9e16d7074196a480f",
        "783 pieces of orchestral and piano classical music from the MuseData library, one step "
        "per eighth note. The largest set, with long pieces and up to 15 simultaneous notes."),
    "piano-midi": PaperSpec(
        "Piano-midi.de", "Piano-midi.de.pickle", 2,
        "7c7c66f5982227e5f74b4673761376467ffd3662df75fcb9d89138d1e57f9534",
        "124 classical piano pieces from piano-midi.de, one step per eighth note. Few, long, "
        "and varied pieces: the hardest of the four to predict."),
}


def data_dir() -> Path | None:
    """The folder named by ``$GATELAB_DATA_DIR``, or None when the variable is unset/empty."""
    value = os.environ.get("GATELAB_DATA_DIR", "").strip()
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """``$GATELAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/gatelab``, else ``~/.cache/gatelab``."""
    value = os.environ.get("GATELAB_CACHE_DIR", "").strip()
    if value:
        return Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gatelab"


def data_url(filename: str) -> str:
    """Download address of an original file: ``$GATELAB_DATA_URL`` (or the authors' site)."""
    base = os.environ.get("GATELAB_DATA_URL", "").strip() or DEFAULT_URL
    return base.rstrip("/") + "/" + urllib.parse.quote(filename)


def find_local(filename: str) -> Path | None:
    """The data dir's copy of ``filename``, else the cache's, else None (no network)."""
    folder = data_dir()
    for path in ([folder / filename] if folder else []) + [cache_dir() / filename]:
        if path.is_file():
            return path
    return None


def load_paper_dataset(name: str, progress: Progress | None = None, download: bool = True,
                       timeout: float = 30.0) -> Dataset:
    """Load ``jsb``, ``nottingham``, ``musedata`` or ``piano-midi`` as verified piano rolls.

    Parameters
    ----------
    name : str
        A key of ``PAPER_SPECS``.
    progress : callable, optional
        Download progress, ``progress(bytes_done, bytes_total_or_None)``.
    download : bool
        Whether to fetch the file when no local copy exists.
    timeout : float
        Seconds per network operation.

    Raises
    ------
    DataError
        No local copy and no download; unsafe or malformed pickle; fingerprint mismatch.
    """
    spec = PAPER_SPECS[name]
    path, fetched = find_local(spec.filename), False
    if path is None:
        if not download:
            raise DataError(_missing_message(spec, "downloading is switched off"))
        path, fetched = _fetch(spec, progress, timeout), True
    try:
        splits = _load_verified(spec, path)
    except DataError:
        if fetched:  # a bad download must not poison the cache for the next try
            path.unlink(missing_ok=True)
        raise
    return Dataset(name=name, title=spec.title, splits=splits,
                   steps_per_beat=spec.steps_per_beat, description=spec.description,
                   source=str(path))


def _fetch(spec: PaperSpec, progress, timeout: float) -> Path:
    url = data_url(spec.filename)
    try:
        return download_file(url, cache_dir() / spec.filename, progress, timeout=timeout)
    except DownloadError as exc:
        raise DataError(_missing_message(spec, str(exc))) from None


def _missing_message(spec: PaperSpec, reason: str) -> str:
    where = f"the folder GATELAB_DATA_DIR names ({data_dir()})" if data_dir() else (
        "a folder and set the environment variable GATELAB_DATA_DIR to it")
    return (f"{spec.title} is not available: {reason}.\n"
            f"To use it offline, download '{spec.filename}' from {DEFAULT_URL} "
            f"(or the copy your course provides) and put it in {where}, or in {cache_dir()}.\n"
            "The built-in datasets 'chorales' and 'long-memory' work without it.")


def _load_verified(spec: PaperSpec, path: Path) -> dict[str, list[np.ndarray]]:
    """Rolls of ``path``, from the .npz cache when one matches its bytes, else converted."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    npz = cache_dir() / "rolls" / f"{path.stem}-{digest[:16]}-{len(data)}-v{CACHE_FORMAT}.npz"
    cached = _read_npz(npz)
    if cached is not None and fingerprint_packed(*cached) == spec.fingerprint:
        return {s: unpack_rolls(cached[0][s], cached[1][s]) for s in SPLITS}
    packed, lengths = _convert(spec, path, data)
    found = fingerprint_packed(packed, lengths)
    if found != spec.fingerprint:
        raise DataError(
            f"{path} does not contain the published {spec.title} data (content fingerprint "
            f"{found[:12]}..., expected {spec.fingerprint[:12]}...). The file was altered or "
            "is another version; replace it with the original.")
    _write_npz(npz, packed, lengths)
    return {s: unpack_rolls(packed[s], lengths[s]) for s in SPLITS}


def _convert(spec: PaperSpec, path: Path, data: bytes):
    """Safely unpickle ``data`` and pack each split's rolls (see core.music.rolls.pack_rolls)."""
    try:
        content = safe_load_bytes(data)
    except Exception as exc:  # unsafe globals, truncation, garbage: all one user-facing error
        raise DataError(f"{path} cannot be read as the {spec.title} pickle: {exc}") from None
    if not isinstance(content, dict) or set(content) != set(SPLITS):
        raise DataError(f"{path} is not a dict with keys {', '.join(SPLITS)}")
    packed, lengths = {}, {}
    for split in SPLITS:
        try:
            packed[split], lengths[split] = _pack_split(content[split])
        except (TypeError, ValueError) as exc:
            raise DataError(f"{path}: unexpected content in '{split}': {exc}") from None
    return packed, lengths


def _pack_split(pieces) -> tuple[np.ndarray, np.ndarray]:
    """Pieces (lists of steps, each a tuple of pitches) -> packed rows and lengths."""
    if not isinstance(pieces, list) or not all(isinstance(p, list) for p in pieces):
        raise TypeError("expected a list of pieces, each a list of steps")
    lengths = np.array([len(piece) for piece in pieces], dtype=np.int64)
    # Flat comprehensions, then numpy: a per-pitch Python loop is 3x slower on MuseData.
    counts = [len(step) for piece in pieces for step in piece]
    pitches = np.array([p for piece in pieces for step in piece for p in step])
    if pitches.size and (pitches.dtype.kind not in "iu" or pitches.min() < LOWEST_PITCH
                         or pitches.max() > HIGHEST_PITCH):
        raise ValueError("a pitch is not a piano key number 21..108")
    roll = np.zeros((len(counts), N_KEYS), dtype=bool)
    roll[np.repeat(np.arange(len(counts)), counts), pitches.astype(np.intp) - LOWEST_PITCH] = True
    return np.packbits(roll, axis=1), lengths


def _read_npz(path: Path):
    """(packed, lengths) dicts from a cache file, or None when absent, unreadable or malformed."""
    try:
        with np.load(path, allow_pickle=False) as z:
            packed = {s: z[f"{s}_packed"] for s in SPLITS}
            lengths = {s: z[f"{s}_lengths"] for s in SPLITS}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    for s in SPLITS:  # the fingerprint covers the bytes; the shapes must be checked too
        p, n = packed[s], lengths[s]
        if (p.dtype != np.uint8 or p.ndim != 2 or p.shape[1] != PACKED_WIDTH or n.ndim != 1
                or n.dtype != np.int64 or (n < 0).any() or n.sum() != len(p)):
            return None
    return packed, lengths


def _write_npz(path: Path, packed, lengths) -> None:
    """Write the cache atomically; a read-only or full cache only costs speed."""
    arrays = {f"{s}_packed": packed[s] for s in SPLITS}
    arrays.update({f"{s}_lengths": lengths[s] for s in SPLITS})
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".npz.part", dir=path.parent)
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **arrays)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
