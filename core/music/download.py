"""Fetch a file over HTTP into the cache: bounded in time and size, atomic, with progress.

The file appears at its final path only once every byte has arrived, so an interrupted
download (broken connection, timeout, Ctrl-C) leaves nothing behind that a later run could
mistake for data.
"""
from __future__ import annotations

import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Optional

from core.music.rolls import DataError

# progress(bytes_done, bytes_total or None), called after every chunk (and at the end when the
# server did not say the size).
Progress = Callable[[int, Optional[int]], None]

TIMEOUT_S = 30.0  # per socket operation (connect, each read)
DEADLINE_S = 600.0  # whole download: a server trickling bytes cannot hold a run forever
MAX_BYTES = 64 * 2**20  # the largest original file is 5 MB; refuse to fill a disk
CHUNK = 64 * 1024


class DownloadError(DataError):
    """The file could not be fetched; ``str(e)`` says why, and nothing was written."""


def download_file(url: str, dest: Path, progress: Progress | None = None,
                  timeout: float = TIMEOUT_S, deadline: float = DEADLINE_S,
                  max_bytes: int = MAX_BYTES) -> Path:
    """Download ``url`` to ``dest`` atomically.

    Parameters
    ----------
    url : str
        http(s) address.
    dest : Path
        Final path; its folder is created. Written only when the download is complete.
    progress : callable, optional
        ``progress(bytes_done, bytes_total_or_None)``.
    timeout, deadline : float
        Seconds allowed per socket operation, and for the whole transfer.
    max_bytes : int
        Larger responses are abandoned.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DownloadError
        Server unreachable, HTTP error, connection broken mid-file, timeout or too large.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            _transfer(url, out, progress, timeout, time.monotonic() + deadline, max_bytes)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException as exc:  # KeyboardInterrupt too: never leave a partial file
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, DownloadError) or not isinstance(exc, Exception):
            raise
        raise DownloadError(f"could not download {url}: {_describe(exc)}") from None
    return dest


def _transfer(url, out, progress, timeout, deadline_at, max_bytes) -> None:
    """Stream the response body into ``out``, checking length, size and deadline."""
    request = urllib.request.Request(url, headers={"User-Agent": "GateLab"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > max_bytes:
            raise DownloadError(f"{url} is {total} bytes, more than the {max_bytes} allowed")
        done = 0
        while True:
            block = response.read(CHUNK)
            if not block:
                break
            done += len(block)
            if done > max_bytes:
                raise DownloadError(f"{url} sent more than the {max_bytes} bytes allowed")
            if time.monotonic() > deadline_at:
                raise DownloadError(f"{url} took too long: stopped after {done} bytes")
            out.write(block)
            if progress is not None:
                progress(done, total)
        if total is not None and done != total:
            raise DownloadError(
                f"the connection to {url} broke after {done} of {total} bytes")
        if progress is not None and total is None:  # the bar learns the size only now
            progress(done, done)


def _describe(exc: BaseException) -> str:
    """A one-line reason for a network failure, without a traceback."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered {exc.code} {exc.reason}"
    if isinstance(exc, http.client.IncompleteRead):
        return f"the connection broke after {len(exc.partial)} bytes"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, (TimeoutError, ConnectionError, OSError, http.client.HTTPException)):
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def text_progress(label: str = "downloading", stream=None, width: int = 30) -> Progress:
    """A progress callback that draws a one-line bar on stderr: the CLI's (``core.cli``).

    Example output: ``JSB Chorales.pickle [##########----------]  50%  1.0/2.1 MB``
    """
    stream = sys.stderr if stream is None else stream

    def show(done: int, total: int | None) -> None:
        if total:
            filled = min(width, width * done // total)
            bar = "#" * filled + "-" * (width - filled)
            line = f"{label} [{bar}] {100 * done // total:3d}%  {done / 1e6:.1f}/{total / 1e6:.1f} MB"
        else:
            line = f"{label} {done / 1e6:.1f} MB"
        end = "\n" if total and done >= total else ""
        stream.write("\r" + line + end)
        stream.flush()

    return show
