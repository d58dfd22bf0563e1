"""The network a paper used, or an offline stand-in.

Zeiler & Fergus 2013, Simonyan et al. 2014 and Springenberg et al. 2015 explain VGG/AlexNet-style
ImageNet classifiers; their weights need a download. :func:`load_paper_model` takes the paper's
network when its weights can be had and otherwise a classifier that works offline, and says which.
"""

from __future__ import annotations

import torch

__all__ = ["load_paper_model"]


def load_paper_model(name: str = "vgg16", fallback: str = "efficientnet_lite0",
                     download: bool = True, **kwargs):
    """The network a paper used (``name``, e.g. Simonyan et al. 2014's VGG-16) when its weights
    can be had, else ``fallback``.

    Returns ``(model, message)``; the message says which one it is and why. The weights are
    fetched (or found in the cache) before the network is built, so an offline try costs little;
    ``download=False`` only looks in the torch cache (smoke runs use it).
    """
    from pathlib import Path

    from .. import models

    try:
        if name in models.DOWNLOADABLE:
            if download:
                models.download_weights(name, progress=False)
            else:
                url = models._tv_weights(name).url
                cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
                if not cached.is_file():
                    raise models.WeightsUnavailableError(f"{name} weights are not in the torch cache.")
        net = models.load(name, **kwargs)
        return net, f"Using {name}, the network of the paper (pretrained weights found)."
    except models.WeightsUnavailableError as e:
        first = str(e).splitlines()[0]
        return models.load(fallback), (
            f"{name} is not available here: {first} Using {fallback} instead: a real ImageNet "
            f"classifier that works offline. With internet once, "
            f"nm.models.prefetch_weights(['{name}']) makes this notebook use {name}.")
