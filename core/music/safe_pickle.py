"""Read the datasets' pickles without letting a pickle run code.

Unpickling calls whatever callables a pickle names, so a tampered download could run
``os.system``. These files only hold dicts, lists, tuples, ints and strings, which need no
callable at all; the one exception is the JSB Chorales original, a Python-2 pickle whose
pitches are ``numpy.int64`` scalars rebuilt by two calls::

    numpy.dtype('i8', 0, 1)  then  BUILD with state (3, '<', None, None, None, -1, -1, 0)
    numpy.core.multiarray.scalar(<that dtype>, '<8 raw bytes>')

:class:`RestrictedUnpickler` admits exactly that, through stand-ins that accept only those
arguments and return a plain ``int``; numpy itself is never called. (The same content
re-saved by Python 3 also names ``_codecs.encode`` for the raw bytes: admitted for latin1
text only.) Everything else is refused with :class:`UnsafePickleError` before it can run.
"""
from __future__ import annotations

import io
import pickle

# Module paths the JSB pickle may name for the scalar rebuild: numpy 1 pickled it as
# numpy.core.multiarray; numpy 2 writes numpy._core.multiarray. Both map to _int_scalar.
_SCALAR_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_DTYPE_BYTE_ORDERS = {"<": "little", ">": "big", "=": "little", "|": "little"}


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asked for something these data files never contain."""


class _Int64Dtype:
    """Stand-in for ``numpy.dtype('i8')``: remembers the byte order and nothing else."""

    def __init__(self, byteorder: str = "little"):
        self.byteorder = byteorder

    def __setstate__(self, state):
        # numpy's dtype state for a plain integer: (version, byteorder, subarray, names,
        # fields, elsize, alignment, flags). Anything richer is not an int64 and is refused.
        ok = (isinstance(state, tuple) and len(state) in (8, 9) and state[1] in _DTYPE_BYTE_ORDERS
              and state[2:5] == (None, None, None))
        if not ok:
            raise UnsafePickleError(f"unexpected numpy dtype state {state!r:.80}")
        self.byteorder = _DTYPE_BYTE_ORDERS[state[1]]


def _dtype(name, align=0, copy=1) -> _Int64Dtype:
    """Stand-in for ``numpy.dtype``: only the 8-byte signed integer is admitted."""
    if name not in ("i8", "<i8", "int64") or align not in (0, False) or copy not in (1, True):
        raise UnsafePickleError(f"numpy.dtype{(name, align, copy)!r:.80} is not int64")
    return _Int64Dtype()


def _int_scalar(dtype, data=None) -> int:
    """Stand-in for ``numpy.core.multiarray.scalar``: an int64 scalar -> a Python ``int``."""
    if not isinstance(dtype, _Int64Dtype):
        raise UnsafePickleError("numpy scalar of a type other than int64")
    if isinstance(data, str):  # Python-2 str read with encoding="latin1"
        data = data.encode("latin1")
    if not isinstance(data, bytes) or len(data) != 8:
        raise UnsafePickleError("numpy int64 scalar without its 8 bytes of data")
    return int.from_bytes(data, dtype.byteorder, signed=True)


def _latin1_bytes(text, encoding="latin1") -> bytes:
    """Stand-in for ``_codecs.encode``: how Python 3 writes bytes into a protocol-2 pickle,
    e.g. the 8 bytes of an int64 in a JSB pickle re-saved by Python 3."""
    if not isinstance(text, str) or encoding != "latin1":
        raise UnsafePickleError("_codecs.encode used for something other than latin1 bytes")
    return text.encode("latin1")


_ALLOWED = {(module, "scalar"): _int_scalar for module in _SCALAR_MODULES}
_ALLOWED[("numpy", "dtype")] = _dtype
_ALLOWED[("_codecs", "encode")] = _latin1_bytes


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only the JSB int64 rebuild; every other global is refused.

    Built-in containers and numbers need no global, so the other three datasets load with
    no lookup at all.
    """

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"the pickle asks for {module}.{name}, which a GateLab data file never contains "
                "(it may have been tampered with)") from None

    def persistent_load(self, pid):
        raise UnsafePickleError("the pickle uses persistent ids, which data files never contain")


def safe_load_bytes(data: bytes):
    """Unpickle ``data`` with :class:`RestrictedUnpickler` (Python-2 strings read as latin1).

    Raises
    ------
    UnsafePickleError
        The pickle names a callable other than the JSB int64 rebuild.
    pickle.UnpicklingError, EOFError, ValueError, ...
        The bytes are not a well-formed pickle (the caller turns these into a DataError).
    """
    return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
