"""GateLab's datasets by name: the one registry the CLI, the dashboard and the tests share.

``load_dataset(name, **params)`` returns a :class:`Dataset` of ``(T, 88)`` piano rolls:

- the paper's four: ``jsb``, ``nottingham``, ``musedata``, ``piano-midi`` (files from
  ``$GATELAB_DATA_DIR``, the cache, or a download; see ``core.music.polyphonic``);
- built in, offline: ``chorales`` (the default demo) and ``long-memory`` (``lag=K``);
- ``midi``: MIDI files the user gives (``files=[(name, bytes), ...]``), see
  :func:`dataset_from_midi`.
"""
from __future__ import annotations

import inspect
import os
from pathlib import Path

from core.music import builtin, polyphonic
from core.music.download import Progress
from core.music.midi import MAX_MIDI_BYTES, MAX_STEPS, MidiError, midi_to_roll
from core.music.rolls import SPLITS, DataError, Dataset

PAPER_DATASETS = ("nottingham", "jsb", "musedata", "piano-midi")  # the paper's order (Table 2)
BUILTIN_DATASETS = ("chorales", "long-memory")


def _paper_loader(name: str):
    def load(progress: Progress | None = None, download: bool = True,
             timeout: float = 30.0) -> Dataset:
        return polyphonic.load_paper_dataset(name, progress, download=download, timeout=timeout)

    load.__name__ = f"load_{name.replace('-', '_')}"
    load.__doc__ = f"{polyphonic.PAPER_SPECS[name].title}: {polyphonic.PAPER_SPECS[name].description}"
    return load


def load_chorales(progress: Progress | None = None, seed: int = 0, n_train: int = 64,
                  n_valid: int = 16, n_test: int = 16) -> Dataset:
    """Built-in four-voice chorale-like pieces (eighth-note steps), generated from ``seed``."""
    params = dict(seed=seed, n_train=n_train, n_valid=n_valid, n_test=n_test)
    return Dataset(
        name="chorales", title="Built-in chorales", splits=builtin.make_chorales(**params),
        steps_per_beat=2, source="built-in", params=params, description=(
            "Four-voice chorale-like phrases written by GateLab's generator: functional "
            "harmony in major and minor keys, smooth voice leading, held common tones, passing "
            "eighths in the soprano, a cadence and a one-step breath ending every 4-bar phrase. "
            "Small, musical and offline: the default demo."))


def load_long_memory(progress: Progress | None = None, lag: int = 30, seed: int = 0,
                     n_train: int = 256, n_valid: int = 64, n_test: int = 64) -> Dataset:
    """Built-in memory task: an answer exactly ``lag`` steps after its call."""
    params = dict(lag=lag, seed=seed, n_train=n_train, n_valid=n_valid, n_test=n_test)
    return Dataset(
        name="long-memory", title=f"Long memory (lag {lag})",
        splits=builtin.make_long_memory(**params), steps_per_beat=2, source="built-in",
        params=params, description=(
            f"Over a repeating bass ostinato, a single key (the call) sounds at a random step; "
            f"exactly {lag} steps later the same key returns with a C major chord (the answer). "
            "Only the call is unpredictable. Predicting the answer needs a unit that held, for "
            f"{lag} steps, when the call came and which key it was: gated units (GRU, LSTM) "
            "learn this within a minute or so at learning rate 0.01, a tanh RNN does not."))


def load_midi(progress: Progress | None = None, files=(), steps_per_beat: float = 2,
              instruments=None) -> Dataset:
    """The ``midi`` registry entry: :func:`dataset_from_midi` of ``files``."""
    return dataset_from_midi(list(files), steps_per_beat=steps_per_beat, instruments=instruments)


# The registry: name -> loader(progress=None, **params) -> Dataset.
DATASETS = {name: _paper_loader(name) for name in PAPER_DATASETS}
DATASETS.update({"chorales": load_chorales, "long-memory": load_long_memory, "midi": load_midi})
TITLES = {**{n: polyphonic.PAPER_SPECS[n].title for n in PAPER_DATASETS},
          "chorales": "Built-in chorales", "long-memory": "Long memory", "midi": "Your MIDI files"}


def load_dataset(name: str, progress: Progress | None = None, **params) -> Dataset:
    """Load a dataset of the registry by name.

    Parameters
    ----------
    name : str
        A key of ``DATASETS``.
    progress : callable, optional
        ``progress(bytes_done, bytes_total_or_None)`` while downloading (see
        ``core.music.download.text_progress`` for a terminal bar).
    **params
        The loader's own settings, e.g. ``lag=40`` for ``long-memory``, ``seed=1`` for
        ``chorales``, ``download=False`` for the paper datasets.

    Raises
    ------
    DataError
        Unknown name or parameter, invalid value, data unavailable or failing its checks.
    """
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    loader = DATASETS[name]
    accepted = [p for p in inspect.signature(loader).parameters if p != "progress"]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise DataError(f"dataset {name!r} has no setting {', '.join(unknown)}; its settings "
                        f"are: {', '.join(accepted)}")
    try:
        return loader(progress=progress, **params)
    except (ValueError, TypeError) as exc:  # bad values, MidiError included
        raise DataError(f"{name}: {exc}") from exc


def available_datasets() -> list[str]:
    """Names loadable now without the network: the built-ins, and the paper datasets whose
    file is in ``$GATELAB_DATA_DIR`` or the cache."""
    local = [n for n in PAPER_DATASETS
             if polyphonic.find_local(polyphonic.PAPER_SPECS[n].filename) is not None]
    return list(BUILTIN_DATASETS) + local


def dataset_from_midi(files, steps_per_beat: float = 2, instruments=None,
                      max_bytes: int = MAX_MIDI_BYTES, max_steps: int = MAX_STEPS) -> Dataset:
    """Turn MIDI files (uploads) into a Dataset.

    Parameters
    ----------
    files : list of (str, bytes) or of paths
        ``(file name, file bytes)`` pairs as a dashboard receives them, or file paths.
    steps_per_beat, instruments, max_bytes, max_steps
        As in :func:`core.music.midi.midi_to_roll`, for every file.

    Returns
    -------
    Dataset
        With 3 or more files, pieces split in the given order: the last ~15% (at least one)
        to test, the ~15% before them to valid, the rest to train. With 1 or 2 files, every
        split holds all of them, so valid/test show how well the model fits that music,
        not how it generalises (there is nothing else to hold out).

    Raises
    ------
    MidiError
        For the first file that cannot be read, its name leading the message.
    """
    named = [_named(entry) for entry in files]
    if not named:
        raise MidiError("empty", "No MIDI files were given.")
    rolls, notes = [], []
    for filename, source in named:
        try:
            result = midi_to_roll(source, steps_per_beat, instruments, max_bytes, max_steps)
        except MidiError as exc:
            raise MidiError(exc.kind, f"{filename}: {exc}") from None
        rolls.append(result.roll)
        dropped = f", {result.dropped_notes} notes outside the piano dropped" if result.dropped_notes else ""
        notes.append(f"{filename} ({len(result.roll)} steps{dropped})")
    splits = _split_pieces(rolls)
    how = ("split by file order into train/valid/test" if len(rolls) >= 3 else
           "every split holds all of them (too few files to hold any out)")
    return Dataset(
        name="midi", title=named[0][0] if len(named) == 1 else f"{len(named)} MIDI files",
        splits=splits, steps_per_beat=float(steps_per_beat), source="upload",
        params={"files": [n for n, _ in named], "steps_per_beat": steps_per_beat},
        description=f"Your MIDI files at {steps_per_beat:g} steps per beat, {how}: "
                    + "; ".join(notes) + ".")


def _named(entry):
    """(display name, source) for a (name, bytes) pair or a path."""
    if isinstance(entry, (str, os.PathLike)):
        return Path(entry).name, entry
    filename, data = entry
    return str(filename), data


def _split_pieces(rolls: list) -> dict[str, list]:
    """Train/valid/test by order for 3+ pieces; all pieces in every split otherwise."""
    n = len(rolls)
    if n < 3:
        return {split: list(rolls) for split in SPLITS}
    n_held = max(1, round(0.15 * n))
    n_train = n - 2 * n_held
    return {"train": rolls[:n_train], "valid": rolls[n_train:n_train + n_held],
            "test": rolls[n_train + n_held:]}


def dataset_steps_per_beat(name: str) -> float:
    """The resolution of a dataset's pieces, in steps per quarter note (JSB Chorales 1, the
    others 2). A model trained on a dataset reads and writes music at its resolution: the CLI,
    the upload page and the samples all ask here."""
    from core.music.polyphonic import PAPER_SPECS
    if name in PAPER_SPECS:
        return float(PAPER_SPECS[name].steps_per_beat)
    return 2.0  # the built-in corpora, and uploads unless their page says otherwise: eighth notes


def dataset_choices() -> dict[str, str]:
    """name -> title of every dataset the Lab offers by name: the built-in corpora first, then
    the four paper datasets (marked when they would have to be downloaded first)."""
    local = set(available_datasets())
    titles = {name: f"{TITLES[name]} (offline)" for name in BUILTIN_DATASETS}
    for name in PAPER_DATASETS:
        titles[name] = TITLES[name] + ("" if name in local else " (downloads on first use)")
    return titles
