"""Trained networks as files: export with the architecture in the header, and the shipped models.

A network is saved as safetensors whose header holds its ``config`` (the constructor's arguments,
e.g. ``{"arch": "TransformerNet", "width": 16, ...}``) and any metadata (the recipe), so it can be
rebuilt without code. The shipped ones live in ``nomysticism/assets/fast_style/<name>.safetensors``
(with ``<name>.json``: recipe, environment, training curve), found with :mod:`nomysticism.assets`.

- :func:`build_model` (a config → a fresh network), :func:`export`, :func:`load_model`;
- :func:`list_pretrained`, :func:`pretrained_info`, :func:`load_pretrained`.
"""

from __future__ import annotations

import json
from pathlib import Path

from torch import nn

from .. import checkpoint as ckpt
from ..assets import asset_path
from .texture_net import TextureNetwork
from .transformer_net import TransformerNet

__all__ = ["build_model", "export", "load_model", "list_pretrained", "pretrained_info", "load_pretrained"]

_FOLDER = "fast_style"
_ARCHS = {"TransformerNet": TransformerNet, "TextureNetwork": TextureNetwork}


def build_model(config: dict) -> nn.Module:
    """A fresh (untrained) network from its ``config`` (``model.config``, or a recipe's ``"model"``):
    ``{"arch": "TransformerNet" | "TextureNetwork", **constructor arguments}``."""
    config = dict(config)
    arch = config.pop("arch")
    if arch not in _ARCHS:
        raise ValueError(f"unknown architecture {arch!r}")
    return _ARCHS[arch](**config)


_build = build_model  # the old private name


def export(model: nn.Module, path, metadata: dict | None = None) -> Path:
    """Save a trained network as safetensors, with its architecture (and ``metadata``) in the header,
    so :func:`load_model` can rebuild it."""
    return ckpt.save_module(model, path, metadata)


_header = ckpt.read_metadata


def load_model(path, device=None) -> nn.Module:
    """Rebuild a network written by :func:`export` (eval mode)."""
    meta = _header(path)
    if "config" not in meta:
        raise ValueError(f"{path}: no 'config' in the safetensors header (not written by export())")
    model = build_model(json.loads(meta["config"]))
    ckpt.load_weights(model, path)
    model.metadata = meta
    model.eval()
    return model.to(device) if device is not None else model


def list_pretrained(kind: str | None = None) -> list[str]:
    """Names of the shipped trained models (``assets/fast_style/<name>.safetensors``).

    ``kind``: None (all), ``"style"`` (networks that stylise a photo) or ``"texture"`` (texture
    generators, which ignore the photo and only copy its size)."""
    if kind not in (None, "style", "texture"):
        raise ValueError(f"kind must be None, 'style' or 'texture', not {kind!r}")
    configs = ckpt.shipped_configs(_FOLDER)
    if kind is None:
        return list(configs)
    return [n for n, cfg in configs.items()
            if (cfg.get("arch") == "TransformerNet" or cfg.get("content", False)) == (kind == "style")]


def pretrained_info(name: str) -> dict:
    """The recipe, environment and training curve of a shipped model (``assets/fast_style/<name>.json``)."""
    return ckpt.shipped_record(_FOLDER, name, list_pretrained())


def load_pretrained(name: str, device=None) -> nn.Module:
    """A shipped model by name (see :func:`list_pretrained`), or any path written by :func:`export`."""
    if Path(name).suffix == ".safetensors" and Path(name).exists():
        return load_model(name, device)
    names = list_pretrained()
    if name not in names:
        raise ValueError(f"no shipped model {name!r}; available: {', '.join(names) or 'none'} "
                         "(or pass the path of a .safetensors file written by export())")
    with asset_path(f"{_FOLDER}/{name}.safetensors") as p:
        return load_model(p, device)
