"""The 2015 Theano/Lasagne code of the seed article, running on theano-pymc, next to the toolkit.

Needs the ``legacy`` extra (``pip install -e '.[legacy]'``: theano-pymc, Lasagne 0.1,
setuptools<81) and a system BLAS (``apt-get install libopenblas-dev``). CPU only.

    from nomysticism import legacy
    net = legacy.build_vgg19(nm.models.load("vgg19"), image_size=64)   # weights from PyTorch
    legacy.set_backprop(net, "guided")
    grads, classes = legacy.compile_saliency_function(net)(images.numpy())

Modules: ``compat`` (flags and shims, applied before Theano is imported), ``vgg`` (Lasagne VGG-19
with PyTorch weights), ``backprop`` (ModifiedBackprop, ZeilerBackprop, GuidedBackprop,
compile_saliency_function), ``gatys`` (Gatys loss compiled with theano.function + scipy L-BFGS).
Importing this package imports nothing heavy; the names below load Theano on first use.
``legacy.available()`` tells whether the extra is installed; ``legacy.INSTALL_HINT`` says how.
"""

from __future__ import annotations

import importlib

from .compat import CACHE_ENV, INSTALL_HINT, LegacyUnavailableError, available, cache_dir, setup

_LAZY = {
    "build_vgg19": "vgg", "copy_weights": "vgg", "from_torch": "vgg", "get_outputs": "vgg",
    "compile_features": "vgg", "cross_correlation": "vgg",
    "ModifiedBackprop": "backprop", "ZeilerBackprop": "backprop", "GuidedBackprop": "backprop",
    "compile_saliency_function": "backprop", "set_backprop": "backprop",
    "gram_matrix": "gatys", "content_loss": "gatys", "style_loss": "gatys",
    "total_variation_loss": "gatys", "compile_gatys_loss": "gatys", "style_transfer": "gatys",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in ("vgg", "backprop", "gatys"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nomysticism.legacy' has no attribute {name!r}")


__all__ = ["INSTALL_HINT", "CACHE_ENV", "LegacyUnavailableError", "available", "cache_dir", "setup",
           *_LAZY]
