"""Music as GateLab reads it: piano rolls and datasets (``rolls``), the four datasets of the paper
(``polyphonic``, fetched by ``download``, unpickled safely by ``safe_pickle``), the built-in
music (``builtin``), MIDI files (``midi``), the registry of datasets (``data``) and a roll as
sound (``audio``). No torch.
"""
from core.music.data import BUILTIN_DATASETS, PAPER_DATASETS, TITLES, load_dataset
from core.music.rolls import SPLITS, DataError, Dataset

__all__ = ["BUILTIN_DATASETS", "PAPER_DATASETS", "TITLES", "load_dataset", "SPLITS", "DataError", "Dataset"]
