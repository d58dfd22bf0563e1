"""Training recipes of the automatic colourisers: THE one place where their settings live.

Zhang, Isola & Efros 2016 trained on 1.3 M ImageNet images at 256 px for 450k iterations. These
recipes are the same three losses scaled to a CPU: a ~0.35 M-parameter :class:`~.nets.ColorNet`,
32-px images, a few hundred Adam steps, all three together in about ten minutes on one thread
(``scripts/train_colorize.py``; the times are in ``assets/colorize/<name>.json``).

==================  ===================================================================
``"regression"``    eq. 1: L2 on ab (the greyish baseline)
``"zhang2016"``     eq. 2–5: classification over the ab bins, soft targets (5 nearest,
                    σ = 5), rebalancing (λ = ½), annealed mean at ``T``
``"perceptual"``    eq. 1 + an EfficientNet-Lite0 feature loss on the colourised RGB
==================  ===================================================================

Data (all offline): ``n_world`` scenes of :func:`~.world.world` and ``n_crops`` random crops of the
:data:`TRAIN_PHOTOS` (``nm.data.random_crops``); :data:`HELD_OUT_PHOTOS` are whole photos kept out
for evaluation (``bench/colorize.py``). Of the ten bundled photos only five are in colour; the
:data:`GREY_PHOTOS` (``camera``, ``coins``, ``brick``, ``grass``, ``gravel``) are used for neither,
and scikit-image's stereo ``motorcycle`` (left view, :data:`EXTRA_PHOTOS`) joins the training photos.
``work_size``: the side :func:`~.automatic.automatic` runs the network at (its ab is upsampled).
"""

from __future__ import annotations

from types import MappingProxyType

from ..recipes import pick

__all__ = ["RECIPES", "STAGES", "TRAIN_PHOTOS", "HELD_OUT_PHOTOS", "GREY_PHOTOS", "EXTRA_PHOTOS",
           "DEFAULT_MODEL", "recipe"]

#: The stages, in the order of the story (each one is a shipped model of the same name).
STAGES = ("regression", "zhang2016", "perceptual")
#: The shipped model :func:`~.automatic.automatic` uses by default.
DEFAULT_MODEL = "zhang2016"
#: Bundled photos (``nm.sample_image``) whose random crops are trained on.
TRAIN_PHOTOS = ("astronaut", "rocket", "hubble", "motorcycle")
#: Colour photos that scikit-image ships but ``nm.sample_image`` does not name: name → loader.
EXTRA_PHOTOS = MappingProxyType({"motorcycle": lambda data: data.stereo_motorcycle()[0]})
#: Bundled photos held out whole, for evaluation only.
HELD_OUT_PHOTOS = ("chelsea", "coffee")
#: Bundled photos without colour (grey in scikit-image; used for neither).
GREY_PHOTOS = ("camera", "coins", "brick", "grass", "gravel")

_BASE = {
    "stage": "regression",
    "model": {"width": 24, "out": "ab"},
    "n_world": 1500, "n_crops": 1500, "size": 32, "crop_scale": (0.3, 1.0),
    "train_photos": TRAIN_PHOTOS, "held_out": HELD_OUT_PHOTOS,
    "steps": 400, "batch_size": 32, "lr": 2e-3, "seed": 0,
    "regression": "l2", "work_size": 64,
}

#: Named recipes (read-only; :func:`recipe` gives an editable copy). See the module docstring.
RECIPES = MappingProxyType({
    "regression": _BASE,
    "zhang2016": {**_BASE, "stage": "zhang2016", "model": {"width": 24, "out": "bins", "T": 0.38},
                  "k": 5, "sigma": 5.0, "lam": 0.5},
    "perceptual": {**_BASE, "stage": "perceptual", "feature_net": "efficientnet_lite0",
                   "feature_layers": ("stem", "block2"), "feature_scale": 2.0, "feature_weight": 1.0},
})


def recipe(name: str, **overrides) -> dict:
    """A copy of ``RECIPES[name]`` with ``overrides`` applied (``None`` values are ignored)."""
    return pick(RECIPES, name, **overrides)
