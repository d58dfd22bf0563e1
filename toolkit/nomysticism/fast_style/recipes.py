"""Training recipes: THE one place where the fast-style training settings live.

Johnson et al. 2016, §4.1 trained at 256 px, batch 4, Adam lr 1e-3, 40k steps (2 epochs of COCO),
λ_TV between 1e-6 and 1e-4. The recipes below are that, scaled to what runs here; every consumer
reads them, so a number is changed in one place:

========================  ======================================================================
``"default"``             the keyword defaults of :func:`~nomysticism.fast_style.train`
``"cli"``                 ``nomysticism train-style`` (the paper's width-32 network and 256-px
                          crops; 2,000 steps; λ_s chosen by the loss network, :data:`STYLE_WEIGHTS`)
``"cpu_demo"``            the shipped ``mosaic`` model (``scripts/train_fast_style.py``) and the
                          live run of notebook 07: width 16, 128-px crops, batch 2, lr 2e-3,
                          EfficientNet-Lite0 with relative Gram errors, λ_s = 200, λ_TV = 1e-3
``"cpu_texture"``         the shipped ``mosaic_texture`` (``--arch texture``): Ulyanov et al.
                          2016's 5 scales × 8 channels, batch norm, texture loss only, 300 steps
========================  ======================================================================

A recipe holds :func:`train`'s keywords (``steps``, ``batch_size``, ``image_size``, ``lr``,
``loss_net``, ``content_weight``, ``style_weight``, ``tv_weight``, ``style_size``, ``seed``,
``checkpoint_every``, ``log_every``), the architecture (``model``, a config for
:func:`~nomysticism.fast_style.build_model`) and the offline data size (``n_crops`` random crops of
the bundled photos when no folder is given).
"""

from __future__ import annotations

from types import MappingProxyType

from ..recipes import pick

__all__ = ["RECIPES", "STYLE_WEIGHTS", "recipe", "train_kwargs", "style_weight_for"]

#: The keywords of :func:`~nomysticism.fast_style.train` that a recipe sets.
TRAIN_KEYS = ("steps", "batch_size", "image_size", "lr", "loss_net", "content_weight", "style_weight",
              "tv_weight", "style_size", "seed", "checkpoint_every", "log_every")

_DEFAULT = {
    "model": {"arch": "TransformerNet", "width": 32, "norm": "instance", "upsample": "nearest",
              "n_residual": 5},
    "n_crops": 512,
    "steps": 1000, "batch_size": 4, "image_size": 256, "lr": 1e-3, "loss_net": "auto",
    "content_weight": 1.0, "style_weight": 1e5, "tv_weight": 1e-6, "style_size": None,
    "seed": 0, "checkpoint_every": 100, "log_every": 10,
}

_CPU = {"image_size": 128, "style_size": 256, "loss_net": "efficientnet_lite0", "n_crops": 2000}

#: Named recipes (read-only; :func:`recipe` gives an editable copy). See the module docstring.
RECIPES = MappingProxyType({
    "default": _DEFAULT,
    "cli": {**_DEFAULT, "steps": 2000, "style_weight": None, "tv_weight": 1e-3, "n_crops": 2000},
    "cpu_demo": {**_DEFAULT, **_CPU,
                 "model": {**_DEFAULT["model"], "width": 16},
                 "batch_size": 2, "steps": 1000, "lr": 2e-3,
                 "content_weight": 1.0, "style_weight": 200.0, "tv_weight": 1e-3},
    "cpu_texture": {**_DEFAULT, **_CPU,
                    "model": {"arch": "TextureNetwork", "scales": 5, "channels": 8, "noise_channels": 3,
                              "norm": "batch", "content": False},
                    "batch_size": 4, "steps": 300, "lr": 1e-2,
                    "content_weight": 0.0, "style_weight": 1.0, "tv_weight": 0.0},
})

#: λ_s when a recipe leaves it open (``style_weight=None``), by loss network. VGG: absolute Grams
#: (the paper); pytorch/examples' 1e10/1e5 on per-entry Gram MSE is ~1e5/C² for our Frobenius sum,
#: i.e. ~10 (untested here: no VGG weights offline). EfficientNet-Lite0: relative Gram errors; 200 is
#: the shipped recipe's value.
STYLE_WEIGHTS = MappingProxyType({"vgg16": 10.0, "vgg19": 10.0, "efficientnet_lite0": 200.0})


def recipe(name: str = "default", **overrides) -> dict:
    """A copy of ``RECIPES[name]`` with ``overrides`` applied (``None`` values are ignored)."""
    return pick(RECIPES, name, **overrides)


def train_kwargs(name_or_recipe: str | dict = "default", **overrides) -> dict:
    """The keywords of :func:`~nomysticism.fast_style.train` that a recipe sets."""
    if isinstance(name_or_recipe, str):
        r = recipe(name_or_recipe, **overrides)
    else:
        r = {**name_or_recipe, **{k: v for k, v in overrides.items() if v is not None}}
    return {k: r[k] for k in TRAIN_KEYS}


def style_weight_for(loss_net_name: str, style_weight: float | None = None) -> float:
    """``style_weight`` if given, else :data:`STYLE_WEIGHTS` for the loss network (200 if unknown)."""
    if style_weight is not None:
        return float(style_weight)
    return STYLE_WEIGHTS.get(loss_net_name, 200.0)
