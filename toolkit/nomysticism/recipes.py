"""Recipes: each topic keeps its defaults in one ``RECIPES`` dict, read by its functions, the CLI,
the scripts and the notebooks alike. :func:`pick` is the one lookup they all use."""

from __future__ import annotations

import copy
from collections.abc import Mapping

__all__ = ["pick"]


def pick(recipes: Mapping[str, Mapping], name: str, **overrides) -> dict:
    """A deep copy of ``recipes[name]`` with ``overrides`` applied (``None`` values are ignored).

    Unknown recipe names and unknown keys raise ``ValueError`` listing what exists.
    """
    if name not in recipes:
        raise ValueError(f"no recipe {name!r}; recipes: {', '.join(recipes)}")
    out = copy.deepcopy(dict(recipes[name]))
    unknown = set(overrides) - set(out)
    if unknown:
        raise ValueError(f"unknown recipe keys: {', '.join(sorted(unknown))}; known: {', '.join(out)}")
    out.update({k: v for k, v in overrides.items() if v is not None})
    return out
