"""Make the 2015 Theano/Lasagne stack run today (theano-pymc 1.1.2 + Lasagne 0.1 + numpy 2).

Everything here happens *before* ``import theano`` / ``import lasagne``, because Theano reads its
flags once, at import. Each line answers one measured incompatibility (see the notes in
``legacy-theano.md``); nothing else is changed. Call :func:`setup` (idempotent); it returns
``(theano, lasagne)``.

The compile cache goes to ``$NOMYSTICISM_THEANO_CACHE`` (default ``~/.cache/nomysticism/theano``).
A ``base_compiledir`` given in ``THEANO_FLAGS`` wins over both.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
import types
import warnings
from pathlib import Path

__all__ = ["setup", "cache_dir", "LegacyUnavailableError", "INSTALL_HINT", "available"]

CACHE_ENV = "NOMYSTICISM_THEANO_CACHE"
INSTALL_HINT = (
    "The legacy path needs the 'legacy' extra and a system BLAS:\n"
    "    sudo apt-get install libopenblas-dev      # Debian/Ubuntu (macOS: brew install openblas)\n"
    "    pip install -e '.[legacy]'                # theano-pymc==1.1.2, lasagne==0.1, setuptools<81"
)


class LegacyUnavailableError(ImportError):
    """theano-pymc / Lasagne are not installed (or cannot be imported here)."""


def cache_dir() -> Path:
    """Where Theano keeps compiled C modules: ``$NOMYSTICISM_THEANO_CACHE`` or ``~/.cache/nomysticism/theano``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "nomysticism" / "theano"


def available() -> bool:
    """True if theano-pymc and Lasagne are installed (does not import them).

    ``NOMYSTICISM_LEGACY=0`` in the environment turns the legacy path off, as if not installed
    (to see notebook 90 as a user without the extra does).
    """
    import importlib.util

    if os.environ.get("NOMYSTICISM_LEGACY") == "0":
        return False

    return all(importlib.util.find_spec(m) is not None for m in ("theano", "lasagne"))


def _theano_flags() -> str:
    flags = [
        # numpy 2: generated C code uses PyArray_Descr->elsize, which numpy 2 only exposes to code
        # compiled against the numpy-2 API ("PyArray_Descr has no member elsize" otherwise).
        "gcc__cxxflags=-DNPY_TARGET_VERSION=NPY_2_0_API_VERSION",
        # numpy 2 + Python 3.11: the default linkers (cvm, vm) need lazylinker_ext, which no longer
        # compiles. The plain C linker with a Python fallback does.
        "linker=c|py",
        # The 2015 notebooks ran with floatX=float32 (GPU); Theano's default is float64.
        "floatX=float32",
        f"base_compiledir={cache_dir()}",
    ]
    # Theano's BLAS probe goes through numpy.distutils, which setuptools >= 81 breaks
    # (TypeError in Compiler.__init__). Naming the library explicitly skips the probe.
    # Without OpenBLAS, "" selects Theano's slower numpy-C-API fallback instead of a link error.
    flags.append("blas__ldflags=-lopenblas" if ctypes.util.find_library("openblas") else "blas__ldflags=")
    user = os.environ.get("THEANO_FLAGS", "")
    return ",".join(flags + ([user] if user else []))  # later entries win: the user's flags override


def _numpy_aliases() -> None:
    import numpy as np

    # numpy 2 removed names that theano-pymc still uses. Without np.product the constant-folding
    # pass prints full ERROR tracebacks (the functions still work); the others fail in rarer paths.
    aliases = {
        "product": np.prod,
        "cast": _CastDict(np),  # np.cast["float32"](x)
        "ComplexWarning": np.exceptions.ComplexWarning,
        "sctype2char": lambda t: np.dtype(t).char,
        "AxisError": np.exceptions.AxisError,
    }
    for name, value in aliases.items():
        if not hasattr(np, name):
            setattr(np, name, value)


class _CastDict(dict):
    """numpy 1's ``np.cast[dtype](x)``."""

    def __init__(self, np):
        super().__init__()
        self._np = np

    def __missing__(self, key):
        np = self._np
        return lambda x: np.asarray(x).astype(np.dtype(key))


def _warning_filters() -> None:
    # theano imports numpy.distutils, numpy.core and distutils' find_executable: DeprecationWarnings
    # that say nothing to a reader of the 2015 code.
    for mod in ("theano", "lasagne", "numpy.distutils", "numpy.core"):
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=mod)
    warnings.filterwarnings("ignore", message=".*numpy.distutils.*", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*numpy.core.*", category=DeprecationWarning)
    # setuptools 80 warns on `import pkg_resources` (done by lasagne/__init__, and by our shim check)
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    # Lasagne 0.1 passes image_shape= to conv2d (renamed input_shape in Theano 0.8)
    warnings.filterwarnings("ignore", message=".*image_shape.*")


def _theano_shims(theano) -> None:
    import theano.graph.basic
    import theano.sandbox.rng_mrg as rng_mrg
    import theano.tensor.signal
    import theano.tensor.signal.pool as pool

    # Lasagne 0.1 (noise.py) imports MRG_RandomStreams; theano-pymc renamed it MRG_RandomStream.
    if not hasattr(rng_mrg, "MRG_RandomStreams"):
        rng_mrg.MRG_RandomStreams = rng_mrg.MRG_RandomStream
    # lasagne.utils checks isinstance(x, theano.gof.Variable); theano.gof became theano.graph.
    if not hasattr(theano, "gof"):
        theano.gof = types.SimpleNamespace(Variable=theano.graph.basic.Variable)
    # Lasagne 0.1 (pool.py) imports theano.tensor.signal.downsample, removed in Theano 0.9;
    # its max_pool_2d lives on as pool.pool_2d with renamed arguments.
    if "theano.tensor.signal.downsample" not in sys.modules:
        downsample = types.ModuleType("theano.tensor.signal.downsample")

        def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode="max"):
            return pool.pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding,
                                mode=mode)

        downsample.max_pool_2d = max_pool_2d
        sys.modules["theano.tensor.signal.downsample"] = downsample
        theano.tensor.signal.downsample = downsample


def _pkg_resources_shim() -> None:
    # lasagne/__init__ reads its version with pkg_resources, which setuptools >= 81 no longer ships.
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        from importlib.metadata import version

        mod = types.ModuleType("pkg_resources")
        mod.get_distribution = lambda name: types.SimpleNamespace(version=version(name))
        sys.modules["pkg_resources"] = mod


_READY = None


def setup():
    """Apply the flags, aliases and shims, then import and return ``(theano, lasagne)``."""
    global _READY
    if _READY is not None:
        return _READY
    if not available():
        raise LegacyUnavailableError(INSTALL_HINT)
    if "theano" in sys.modules:
        # Flags are read at import: too late to set them. Warn if the linker will not work.
        warnings.warn("theano was imported before nomysticism.legacy; its flags may not work with "
                      "numpy 2 (needs linker=c|py)", stacklevel=2)
    else:
        os.environ["THEANO_FLAGS"] = _theano_flags()
        cache_dir().mkdir(parents=True, exist_ok=True)
    _numpy_aliases()
    _warning_filters()
    _pkg_resources_shim()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import theano

        _theano_shims(theano)
        import lasagne
    _READY = (theano, lasagne)
    return _READY
