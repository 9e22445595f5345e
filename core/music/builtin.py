"""Built-in datasets, generated in code from a seed: they work offline and ship no files.

- ``chorales``: four-voice, chorale-like phrases (functional harmony, voice leading, cadences,
  held common tones, a breath between phrases). The default demo: real-looking music that
  trains in seconds.
- ``long-memory``: a call (one key), a predictable ostinato, and exactly ``lag`` steps later an
  answer (the same key with a chord). Only a unit that holds *when* and *which* for ``lag``
  steps predicts the answer: this is where gated units beat tanh.

Every piece is drawn from its own ``random.Random(<seed, split, index>)``, so a piece does not
change when the number of pieces does.
"""
from __future__ import annotations

import random

import numpy as np

from core.music.rolls import LOWEST_PITCH, N_KEYS, SPLITS

# -- chorales ----------------------------------------------------------------------------------

MAJOR = (0, 2, 4, 5, 7, 9, 11)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)  # raised 7th: a major V and a leading tone in minor
TONICS = {"major": (60, 67, 65, 62, 70), "minor": (69, 62, 64)}  # C G F D Bb; a d e
# Where each chord (scale degree, 0 = tonic) may go next: weighted, as in a harmony primer.
NEXT = {0: (3, 4, 5, 1, 0, 3, 4), 1: (4, 4, 6), 2: (5, 3), 3: (4, 0, 1, 6, 4),
        4: (0, 0, 5, 0), 5: (1, 3, 4, 1), 6: (0,)}
RANGES = ((60, 79), (55, 74), (48, 67), (38, 60))  # soprano, alto, tenor, bass
BEATS_PER_PHRASE = 16  # four bars of 4/4
CADENCES = {"authentic": ((3, 1), (4, 1), (0, 2)), "half": ((0, 1), (1, 1), (4, 2)),
            "plagal": ((5, 1), (3, 1), (0, 2))}  # (degree, beats), ending the phrase


def chord_pitch_classes(degree: int, tonic: int, scale) -> tuple[int, int, int]:
    """Root, third and fifth pitch classes of the triad on ``degree`` of ``scale``."""
    return tuple((tonic + scale[(degree + k) % 7]) % 12 for k in (0, 2, 4))


def _progression(rng: random.Random, cadence: str, first: int) -> list[tuple[int, int]]:
    """(degree, beats) pairs filling one phrase: a random walk, then the cadence formula."""
    formula = CADENCES[cadence]
    free_beats = BEATS_PER_PHRASE - sum(b for _, b in formula)
    chords, beat, degree = [], 0, first
    while beat < free_beats:
        beats = 2 if beat % 2 == 0 and beat + 2 <= free_beats and rng.random() < 0.3 else 1
        chords.append((degree, beats))
        beat += beats
        degree = rng.choice(NEXT[degree])
    return chords + list(formula)


def _voice(rng: random.Random, pcs, prev: list[int] | None, inversion_ok: bool) -> list[int]:
    """Soprano, alto, tenor, bass pitches for a triad, moving little from ``prev``."""
    root, third, _ = pcs
    bass_pc = third if prev is not None and inversion_ok and rng.random() < 0.15 else root
    if prev is None:  # an opening close-position chord around the middle of each range
        prev = [70, 64, 57, 48]
    low, high = RANGES[3]
    bass = min((p for p in range(low, high + 1) if p % 12 == bass_pc),
               key=lambda p: abs(p - prev[3]) + rng.random())
    # Upper voices within a fourth of where they were; anywhere in range if that fails.
    for window in (5, 24):
        candidates = [[p for p in range(max(lo, last - window), min(hi, last + window) + 1)
                       if p % 12 in pcs] for (lo, hi), last in zip(RANGES[:3], prev)]
        best = _best_upper_voices(rng, candidates, bass, pcs, prev)
        if best is not None:
            return [*best, bass]
    raise AssertionError(f"no voicing of {pcs} over {bass}")  # the ranges always allow one


def _best_upper_voices(rng, candidates, bass: int, pcs, prev) -> tuple | None:
    """The (s, a, t) that moves least from ``prev`` and completes the triad, or None."""
    root, third, fifth = pcs
    best, best_cost = None, float("inf")
    below = {a: [t for t in candidates[2] if max(bass, a - 13) < t < a] for a in candidates[1]}
    for s in candidates[0]:
        for a in (a for a in candidates[1] if s - 12 <= a < s):
            for t in below[a]:
                present = {s % 12, a % 12, t % 12, bass % 12}
                cost = abs(s - prev[0]) + abs(a - prev[1]) + abs(t - prev[2]) + rng.random()
                cost += 20 * (root not in present) + 20 * (third not in present)
                cost += 3 * (fifth not in present)
                cost += 4 * ([s % 12, a % 12, t % 12, bass % 12].count(third) > 1)
                if cost < best_cost:
                    best, best_cost = (s, a, t), cost
    return best


def _passing_tone(a: int, b: int, tonic: int, scale) -> int | None:
    """The scale note between ``a`` and ``b`` when they are a third apart, else None."""
    if abs(a - b) not in (3, 4):
        return None
    middle = [p for p in range(min(a, b) + 1, max(a, b)) if (p - tonic) % 12 in scale]
    return middle[0] if len(middle) == 1 else None


def chorale(rng: random.Random, n_phrases: int) -> np.ndarray:
    """One chorale-like piece, shape=(n_phrases * 32, 88): eighth-note steps, 4/4.

    Held notes: a voice keeping a common tone sounds on, unbroken. Each phrase ends with a
    cadence and a one-step breath of silence, after which a repeated pitch is struck anew.
    """
    mode = rng.choice(("major", "major", "minor"))
    tonic, scale = rng.choice(TONICS[mode]), MAJOR if mode == "major" else HARMONIC_MINOR
    cadences = [rng.choice(("half", "authentic", "plagal")) for _ in range(n_phrases - 1)]
    steps: list[list[int]] = []
    prev = None
    for cadence in cadences + ["authentic"]:
        chords = _progression(rng, cadence, first=0 if prev is None else rng.choice((0, 5, 3)))
        voicings = []
        for k, (degree, beats) in enumerate(chords):
            cadential = k >= len(chords) - 2  # cadences stand on the roots
            prev = _voice(rng, chord_pitch_classes(degree, tonic % 12, scale), prev, not cadential)
            voicings.append((prev, beats))
        for k, (voices, beats) in enumerate(voicings):
            nxt = voicings[k + 1][0][0] if k + 1 < len(voicings) else None
            passing = _passing_tone(voices[0], nxt, tonic, scale) if nxt and beats == 1 else None
            frames = [list(voices) for _ in range(2 * beats)]
            if passing is not None and passing not in voices[1:] and rng.random() < 0.6:
                frames[-1][0] = passing  # soprano moves on the off-beat eighth
            steps.extend(frames)
        steps[-1] = []  # the breath at the end of the phrase
    return _steps_to_roll(steps)


def _steps_to_roll(steps: list[list[int]]) -> np.ndarray:
    roll = np.zeros((len(steps), N_KEYS), dtype=np.uint8)
    for t, pitches in enumerate(steps):
        roll[t, [p - LOWEST_PITCH for p in pitches]] = 1
    return roll


def make_chorales(seed: int = 0, n_train: int = 64, n_valid: int = 16,
                  n_test: int = 16) -> dict[str, list[np.ndarray]]:
    """The ``chorales`` corpus: pieces of 2-4 phrases (64-128 eighth-note steps).

    Returns
    -------
    dict of str to list of np.ndarray
        ``"train"``/``"valid"``/``"test"`` -> rolls of shape (T, 88), uint8.
    """
    sizes = dict(zip(SPLITS, (n_train, n_valid, n_test)))
    splits = {}
    for split, n in sizes.items():
        rngs = (random.Random(f"gatelab-chorales/{seed}/{split}/{i}") for i in range(n))
        splits[split] = [chorale(rng, n_phrases=rng.choice((2, 3, 4))) for rng in rngs]
    return splits


# -- long-memory -------------------------------------------------------------------------------

CALL_KEYS = (72, 74, 76, 77, 79, 81, 83)  # C5..B5: the call is one of these
OSTINATO = (48, 52, 55, 60)  # C3 E3 G3 C4, repeating: each step predicts the next
ANSWER_CHORD = (84, 88, 91)  # C6 E6 G6, sounding with the call's key in the answer
ONSET_WINDOW = 8  # the call comes at a random step 0..7, so counting must start at the call


def call_and_answer(rng: random.Random, lag: int) -> np.ndarray:
    """One long-memory sequence, shape=(lag + ONSET_WINDOW + 2, 88).

    Under a repeating bass ostinato, a key (the call) sounds for one step at a random step
    ``s``; exactly ``lag`` steps later the same key returns with the chord C6-E6-G6 (the
    answer). Everything but the call is predictable, but only by a unit that held for ``lag``
    steps both *when* the call came and *which* key it was.
    """
    length = lag + ONSET_WINDOW + 2
    onset, key = rng.randrange(ONSET_WINDOW), rng.choice(CALL_KEYS)
    steps = [[OSTINATO[t % len(OSTINATO)]] for t in range(length)]
    steps[onset].append(key)
    steps[onset + lag].extend((key, *ANSWER_CHORD))
    return _steps_to_roll(steps)


def make_long_memory(lag: int = 30, seed: int = 0, n_train: int = 256, n_valid: int = 64,
                     n_test: int = 64) -> dict[str, list[np.ndarray]]:
    """The ``long-memory`` task: each answer comes exactly ``lag`` steps after its call.

    Parameters
    ----------
    lag : int
        Steps from the call to the answer (K), 2..1000. 20-50 separates gated units from
        tanh within a minute of training; small lags are learnable by all three.

    Returns
    -------
    dict of str to list of np.ndarray
        Rolls of shape (lag + 10, 88), uint8.
    """
    if not 2 <= int(lag) <= 1000:
        raise ValueError(f"lag must be between 2 and 1000 steps, got {lag}")
    sizes = dict(zip(SPLITS, (n_train, n_valid, n_test)))
    return {split: [call_and_answer(random.Random(f"gatelab-long-memory/{seed}/{split}/{i}"),
                                    int(lag)) for i in range(n)]
            for split, n in sizes.items()}
