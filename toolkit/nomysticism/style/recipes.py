"""Gatys et al. 2015: which network, which layers, which weights — one recipe per network.

The loss of eq. 7 needs a network, content layers l with weights c_l (and α), style layers with
weights w_l (β folded in) and a TV weight γ. :data:`DEFAULTS` holds one tested recipe per network,
:func:`defaults` a copy of it, :func:`recipe` the weights one run uses (the arguments given, the
recipe for the rest) and :func:`get_network` the frozen, cached network.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from ..models import LayeredNet
from ..models import load as load_model
from ..runtime import device as best_device

__all__ = ["DEFAULTS", "MEAN_STAT_SCALE", "defaults", "recipe", "get_network"]

#: Good layers and weights per network, for :func:`~nomysticism.style.transfer` (mean content
#: loss, paper E_l).
#:
#: - ``efficientnet_lite0`` (offline, real ImageNet weights): chosen by looking at results on
#:   chelsea × mosaic/swirl at 160–256 px (notebook 05 shows them). Style on stem … block4, each
#:   w_l set so that every layer's E_l starts at about the same value (≈ 100 from the content
#:   image; the raw E_l differ by 400× between stem and block2); block4 brings the cells and dark
#:   borders. Content at ``block4`` keeps the cat and lets the cells through (``block3`` is more
#:   photographic). TV 100 (per pixel) removes most of the checkerboard the strided convolutions
#:   leave. Mosaic on chelsea at 160 px, 150 L-BFGS steps: about 5–8 s on one CPU core.
#: - ``vgg19`` / ``vgg16`` (the paper's network, ``pooling="avg"``): content relu4_2, style
#:   relu1_1 … relu5_1 with the paper's w_l = 1/5 folded into one scale; the style scale is
#:   derived from the PyTorch tutorial's working weights (its loss is 4E_l/N_l² with weight 1e6),
#:   re-weighted per layer as 1e6·4/N_l². These weights are untested here: no VGG weights can be
#:   downloaded on the machines this was written on.
#: - ``shapesnet``: our small net; only useful for tests and toy textures.
DEFAULTS: dict[str, dict] = {
    "efficientnet_lite0": {
        "content_layers": {"block4": 1.0},
        "style_weights": {"stem": 10.0, "block1": 0.1, "block2": 0.03, "block3": 0.06, "block4": 0.1},
        "content_weight": 1.0,
        "tv_weight": 100.0,
    },
    "vgg19": {
        "content_layers": {"relu4_2": 1.0},
        "style_weights": {"relu1_1": 500.0, "relu2_1": 120.0, "relu3_1": 30.0, "relu4_1": 8.0,
                          "relu5_1": 8.0},
        "content_weight": 1.0,
        "tv_weight": 10.0,
    },
    "shapesnet": {
        "content_layers": {"relu3_2": 1.0},
        "style_weights": {"relu1_1": 1.0, "relu2_1": 1.0, "relu3_1": 1.0},
        "content_weight": 1.0,
        "tv_weight": 10.0,
    },
}
DEFAULTS["vgg16"] = dict(DEFAULTS["vgg19"])

#: Scale applied to :func:`~nomysticism.losses.mean_loss` so that its weights are comparable with
#: the Gram loss's.
MEAN_STAT_SCALE = 100.0


def defaults(network: str | LayeredNet) -> dict:
    """Gatys et al. 2015, eq. 7's weights: a copy of :data:`DEFAULTS` for ``network`` (a name or a LayeredNet).

    Unknown networks get their model's default layers.
    """
    name = network if isinstance(network, str) else network.name
    if name in DEFAULTS:
        d = DEFAULTS[name]
        return {k: dict(v) if isinstance(v, dict) else v for k, v in d.items()}
    if isinstance(network, str):
        network = load_model(network, pretrained=False)
    dl = network.default_layers
    return {
        "content_layers": {dl["content"][0]: 1.0},
        "style_weights": {n: 1e3 for n in dl["style"]},
        "content_weight": 1.0,
        "tv_weight": 1e-4,
    }


def _as_weights(layers, known: Mapping[str, float] | None = None, default_weight: float = 1.0) -> dict[str, float]:
    """Names or ``{name: weight}`` -> ``{name: weight}``; bare names take their weight from ``known``."""
    known = known or {}
    if known:
        default_weight = sorted(known.values())[len(known) // 2]
    if layers is None:
        return {}
    if isinstance(layers, str):
        layers = [layers]
    if isinstance(layers, Mapping):
        return {str(k): float(v) for k, v in layers.items()}
    return {str(k): float(known.get(k, default_weight)) for k in layers}


def recipe(network: str | LayeredNet, *, content: bool = True, style: bool = True,
           content_layers: str | Iterable[str] | Mapping[str, float] | None = None,
           style_weights: Mapping[str, float] | Iterable[str] | None = None,
           content_weight: float | None = None, tv_weight: float | None = None) -> dict:
    """Gatys et al. 2015, eq. 7: the c_l, w_l, α and γ of one run — those given, :func:`defaults` for the rest.

    Layer names without weights take their default w_l (else the median default). No content
    (``content=False``) means no content layers; no style, no style layers. Returns the keyword
    arguments ``content_layers``, ``style_weights``, ``content_weight``, ``tv_weight``.
    """
    d = defaults(network)
    return {
        "content_layers": _as_weights(d["content_layers"] if content_layers is None else content_layers)
        if content else {},
        "style_weights": _as_weights(d["style_weights"] if style_weights is None else style_weights,
                                     d["style_weights"]) if style else {},
        "content_weight": d["content_weight"] if content_weight is None else float(content_weight),
        "tv_weight": d["tv_weight"] if tv_weight is None else float(tv_weight),
    }


_NETS: dict[tuple, LayeredNet] = {}
_NETS_LOCK = threading.Lock()


def get_network(network: str | LayeredNet = "efficientnet_lite0", device=None,
                pretrained: bool = True) -> LayeredNet:
    """Gatys et al. 2015's fixed network: a LayeredNet as given, or a cached ``models.load(name)``.

    VGG is built with ``pooling="avg"`` as in the paper. Frozen, eval mode.
    """
    if isinstance(network, LayeredNet):
        return network
    dev = best_device(device)
    kw = {"pooling": "avg"} if network.lower().startswith("vgg") else {}
    key = (network.lower(), str(dev), pretrained)
    with _NETS_LOCK:
        if key not in _NETS:
            _NETS[key] = load_model(network, pretrained=pretrained, device=dev, **kw)
        return _NETS[key]
