"""The Dataset every GateLab loader returns, the error every loader raises, and roll helpers.

A piano roll here is a ``(T, 88)`` uint8 array of 0/1: row ``t`` is one time step, column ``j``
is the piano key with MIDI pitch ``LOWEST_PITCH + j`` (A0 = 21 ... C8 = 108). This is the layout
of the 2015 MATLAB conversion of the Boulanger-Lewandowski datasets, so a model trained here
reads the same frames as the papers.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from core.errors import GateLabError

N_KEYS = 88  # piano keys A0..C8
LOWEST_PITCH = 21  # MIDI pitch of column 0 (A0)
HIGHEST_PITCH = LOWEST_PITCH + N_KEYS - 1  # 108 (C8)
SPLITS = ("train", "valid", "test")
PACKED_WIDTH = N_KEYS // 8  # 88 keys pack into exactly 11 bytes per step


def roll_digest(roll: np.ndarray) -> str:
    """A short digest of a roll's 0/1 frames: a page's key for what it made from that roll
    (traces, audio), so a rerun reuses it."""
    return hashlib.sha256(np.ascontiguousarray(roll, dtype=np.uint8).tobytes()).hexdigest()[:16]


class DataError(GateLabError):
    """A dataset could not be provided; ``str(e)`` is a message meant for the user."""


@dataclass
class Dataset:
    """Piano rolls in the original train/valid/test splits.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"jsb"``.
    title : str
        Human title, e.g. ``"JSB Chorales"``.
    splits : dict of str to list of np.ndarray
        ``"train"``/``"valid"``/``"test"`` -> pieces in their original order, each
        ``shape=(T, 88)``, dtype uint8, values 0/1.
    steps_per_beat : float
        Time steps per quarter note: 1 for JSB Chorales, 2 (eighth notes) for the others.
    description : str
        What the data is and why it is there (shown by the dashboard and the CLI).
    source : str
        Where the data came from: a file path, ``"built-in"`` or ``"upload"``.
    params : dict
        The parameters it was built with (seed, lag, ...), so a run can be reproduced.
    """

    name: str
    title: str
    splits: dict[str, list[np.ndarray]]
    steps_per_beat: float
    description: str
    source: str = ""
    params: dict = field(default_factory=dict)

    def get_num_steps(self) -> dict[str, int]:
        """Total time steps per split, e.g. ``{"train": 13807, ...}`` for JSB."""
        return {name: int(sum(len(r) for r in rolls)) for name, rolls in self.splits.items()}

    def get_pitch_range(self) -> tuple[int, int]:
        """Lowest and highest MIDI pitch sounding anywhere, e.g. ``(43, 96)`` for JSB."""
        active = np.zeros(N_KEYS, dtype=bool)
        for rolls in self.splits.values():
            for roll in rolls:
                active |= roll.any(axis=0)
        keys = np.flatnonzero(active)
        if keys.size == 0:
            return (0, -1)
        return (LOWEST_PITCH + int(keys[0]), LOWEST_PITCH + int(keys[-1]))


def pack_rolls(rolls: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pack pieces into one bit array and their lengths (the on-disk and hashed form).

    Returns
    -------
    packed : np.ndarray, shape=(sum T, 11), dtype uint8
        ``np.packbits`` of every roll's rows, pieces concatenated in order.
    lengths : np.ndarray, shape=(n_pieces,), dtype int64
    """
    lengths = np.array([len(r) for r in rolls], dtype=np.int64)
    if not rolls:
        return np.zeros((0, PACKED_WIDTH), dtype=np.uint8), lengths
    return np.packbits(np.concatenate(rolls).astype(bool), axis=1), lengths


def unpack_rolls(packed: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """Inverse of :func:`pack_rolls`: a list of ``(T_i, 88)`` uint8 rolls."""
    flat = np.unpackbits(packed, axis=1, count=N_KEYS)
    return np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []


def fingerprint_packed(packed: dict[str, np.ndarray], lengths: dict[str, np.ndarray]) -> str:
    """sha256 of a dataset's canonical content; see :func:`fingerprint_splits`."""
    h = hashlib.sha256(b"gatelab-piano-rolls-v1")
    for name in SPLITS:
        n = len(lengths[name])
        h.update(f"\n{name} {n}\n".encode())
        h.update(np.ascontiguousarray(lengths[name], dtype="<i8").tobytes())
        h.update(np.ascontiguousarray(packed[name], dtype=np.uint8).tobytes())
    return h.hexdigest()


def fingerprint_splits(splits: dict[str, list[np.ndarray]]) -> str:
    """sha256 of the canonical content of a dataset, independent of how it was pickled.

    The hashed content is, for each split name in ``SPLITS`` order: the name, the number of
    pieces, every piece's length, then every step's set of sounding keys (88 bits, lowest key
    first), pieces in their original order. A step's pitches are a set in a roll, so sorted
    pitches and any pickling of them hash alike; changing one pitch changes the hash.
    """
    packed, lengths = {}, {}
    for name in SPLITS:
        packed[name], lengths[name] = pack_rolls(splits[name])
    return fingerprint_packed(packed, lengths)
