"""Gatys, Ecker & Bethge 2015: the 2015 Lasagne "Art Style Transfer" recipe on theano-pymc.

The loss is written symbolically, compiled once with ``theano.function``, and minimised with
``scipy.optimize.fmin_l_bfgs_b`` in float64 on the flattened image, as in the recipe:

    L = 0.001 · L_content(conv4_2) + Σ_l 0.2e6 · E_l(conv1_1 … conv5_1) + 1e-8 · TV^1.25

Differences from 2015: images are in [0, 1] and the net normalises inside (the recipe optimised
mean-subtracted pixels in [−128, 128]), so the same weights balance the terms differently; the
layer names are the toolkit's (the recipe's ``conv4_2`` included the ReLU, so pass ``relu4_2`` for
the recipe's exact layer). One compiled function returns loss and gradient together (the recipe
compiled two, doubling the compile time and the forward passes).
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

from .backprop import announce_compile
from .compat import setup
from .vgg import get_outputs

theano, lasagne = setup()
import theano.tensor as T  # noqa: E402

__all__ = ["gram_matrix", "content_loss", "style_loss", "total_variation_loss", "compile_gatys_loss",
           "style_transfer", "SEED_WEIGHTS"]

CONTENT_LAYERS = ("conv4_2",)
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
SEED_WEIGHTS = {"content": 0.001, "style": 0.2e6, "tv": 1e-8}  # the 2015 recipe's weights


def gram_matrix(x):
    """Gatys et al. 2015, eq. 3: G_ij = Σ_k F_ik F_jk (batch of one, as in the recipe)."""
    x = x.flatten(ndim=3)
    g = T.tensordot(x, x, axes=([2], [2]))
    return g


def content_loss(P, X, layer):
    """Gatys et al. 2015, eq. 1: ½ Σ (F − P)²."""
    p = P[layer]
    x = X[layer]
    loss = 1.0 / 2 * ((x - p) ** 2).sum()
    return loss


def style_loss(A, X, layer):
    """Gatys et al. 2015, eq. 4: E_l = 1/(4 N² M²) Σ (G − A)²."""
    a = A[layer]
    x = X[layer]
    A = gram_matrix(a)
    G = gram_matrix(x)
    N = a.shape[1]
    M = a.shape[2] * a.shape[3]
    loss = 1.0 / (4 * N**2 * M**2) * ((G - A) ** 2).sum()
    return loss


def total_variation_loss(x, exponent=1.25):
    """Mahendran & Vedaldi 2015: Σ ((x_{i,j} − x_{i+1,j})² + (x_{i,j} − x_{i,j+1})²)^1.25 (recipe's β/2)."""
    return (((x[:, :, :-1, :-1] - x[:, :, 1:, :-1]) ** 2
             + (x[:, :, :-1, :-1] - x[:, :, :-1, 1:]) ** 2) ** exponent).sum()


def compile_gatys_loss(net: dict, content: np.ndarray, style: np.ndarray, *,
                       content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
                       content_weight=SEED_WEIGHTS["content"], style_weight=SEED_WEIGHTS["style"],
                       tv_weight=SEED_WEIGHTS["tv"], tv_exponent=1.25):
    """Gatys et al. 2015, eq. 7: L = α L_content + β L_style (+ TV), compiled with ``theano.function``.

    ``content``/``style``: float32 arrays (1,3,H,W) in [0, 1] (the style image may have another
    size). Returns ``(f, generated_image)``: ``f()`` gives ``[loss, gradient]`` at the current value
    of the shared variable ``generated_image``. The targets (P, A) are computed once, as in the recipe.
    """
    announce_compile()  # before the first theano.function: that is where the wait begins
    fx = theano.config.floatX
    names = list(dict.fromkeys([*content_layers, *style_layers]))
    input_im = T.tensor4()
    feats = theano.function([input_im], get_outputs(net, names, input_im))
    photo_features = {k: theano.shared(v) for k, v in zip(names, feats(np.asarray(content, fx)))}
    art_features = {k: theano.shared(v) for k, v in zip(names, feats(np.asarray(style, fx)))}

    generated_image = theano.shared(np.asarray(content, fx).copy())
    gen_features = dict(zip(names, get_outputs(net, names, generated_image)))

    losses = []
    for layer in content_layers:
        losses.append(content_weight * content_loss(photo_features, gen_features, layer))
    for layer in style_layers:
        losses.append(style_weight * style_loss(art_features, gen_features, layer))
    if tv_weight:
        losses.append(tv_weight * total_variation_loss(generated_image, tv_exponent))
    total_loss = sum(losses)
    grad = T.grad(total_loss, generated_image)
    announce_compile()
    f = theano.function([], [total_loss, grad])
    return f, generated_image


def style_transfer(f, generated_image, x0: np.ndarray, iterations: int = 8, maxfun: int = 40, *,
                   progress: bool = True, callback=None, stop=None):
    """The recipe's loop: ``iterations`` rounds of ``fmin_l_bfgs_b(eval_loss, x0, fprime=eval_grad,
    maxfun=maxfun)``, each restarted from the last image. Returns ``(image, losses)``.

    ``f, generated_image`` come from :func:`compile_gatys_loss`. ``callback(round, image)`` runs after
    every round; ``stop`` (a ``threading.Event``) ends the loop early. Like the recipe, no bounds:
    clip to [0, 1] for display.
    """
    from tqdm.auto import tqdm

    shape = generated_image.get_value(borrow=True).shape
    fx = theano.config.floatX
    cache = {}

    def loss_and_grad(x):  # one compiled call serves both of scipy's requests at the same x
        key = x.tobytes()
        if key not in cache:
            cache.clear()
            generated_image.set_value(np.asarray(x.reshape(shape), fx))
            loss, grad = f()
            cache[key] = (float(loss), np.asarray(grad).ravel().astype("float64"))
        return cache[key]

    def eval_loss(x):
        return loss_and_grad(x)[0]

    def eval_grad(x):
        return loss_and_grad(x)[1]

    x0 = np.asarray(x0, "float64").ravel()
    losses = [eval_loss(x0)]
    for i in tqdm(range(iterations), disable=not progress, desc="L-BFGS rounds"):
        if stop is not None and stop.is_set():
            break
        x0, loss, _ = scipy.optimize.fmin_l_bfgs_b(eval_loss, x0, fprime=eval_grad, maxfun=maxfun)
        losses.append(float(loss))
        if callback is not None:
            callback(i, x0.reshape(shape).astype(fx))
    return x0.reshape(shape).astype(fx), losses
