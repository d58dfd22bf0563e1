"""Shipped files and safe writes: the asset lookup, and one atomic writer for every output.

- :func:`asset`: a file or folder shipped in ``nomysticism/assets`` (``importlib.resources``, so it
  works from a wheel, a zip or an editable install); :func:`asset_path` gives a real path for
  libraries that need one;
- :func:`atomic_write`: write to a temp file beside the target, then rename, so that an
  interrupted write leaves the old file (or none) and never half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

__all__ = ["asset", "asset_path", "list_assets", "atomic_write", "atomic_path"]


def asset(relpath: str = "") -> Traversable:
    """``nomysticism/assets/<relpath>`` as an ``importlib.resources`` Traversable."""
    t = resources.files("nomysticism").joinpath("assets")
    for part in Path(relpath).parts:
        t = t.joinpath(part)
    return t


@contextlib.contextmanager
def asset_path(relpath: str) -> Iterator[Path]:
    """A real filesystem path for a shipped asset, for as long as the ``with`` block lasts."""
    t = asset(relpath)
    if not (t.is_file() or t.is_dir()):
        raise FileNotFoundError(f"no shipped asset {relpath!r} in nomysticism/assets")
    with resources.as_file(t) as p:
        yield Path(p)


def list_assets(folder: str, suffix: str = "") -> list[str]:
    """Names (without ``suffix``) of the files in ``assets/<folder>`` that end with ``suffix``."""
    d = asset(folder)
    if not d.is_dir():
        return []
    return sorted(p.name[: len(p.name) - len(suffix)] if suffix else p.name
                  for p in d.iterdir() if p.is_file() and p.name.endswith(suffix))


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide, not thread-safe


def atomic_write(path, write: Callable[[str], object], suffix: str | None = None) -> Path:
    """Call ``write(tmp)`` on a temp file beside ``path``, then rename it to ``path``.

    On any error (or Ctrl-C) the temp file is removed and ``path`` is untouched. ``suffix``
    (default: the target's) is kept on the temp name, for writers that pick a format from it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None) -> Iterator[Path]:
    """``with atomic_path(dst) as tmp:`` write ``tmp``; it becomes ``dst`` only if the block succeeds."""
    box: dict = {}

    def write(tmp):
        box["tmp"] = Path(tmp)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
