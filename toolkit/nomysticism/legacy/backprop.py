"""Simonyan 2014 saliency, Zeiler & Fergus 2014 deconvnet, Springenberg 2015 guided backprop: the
2015 Lasagne recipe (Jan Schlüter's ``ModifiedBackprop``), made to take effect on theano-pymc.

The recipe wraps the ReLU in an ``OpFromGraph`` and replaces its gradient. In 2015 that was
``op.grad = self.grad``. theano-pymc computes the gradient of an ``OpFromGraph`` from its own
``grad_overrides``/``lop_overrides`` and **silently ignores** an assigned ``op.grad``: the maps come
out as plain saliency. The override must be passed as ``grad_overrides=`` and must return a
**list** (a tuple raises ``TypeError``). Those are the only changes to the recipe.

>>> set_backprop(net, "guided")              # swap the ReLUs' nonlinearity (in place)
>>> saliency_fn = compile_saliency_function(net)
>>> grads, classes = saliency_fn(images)    # d max_k logit_k / d image, argmax class
"""

from __future__ import annotations

import sys

from .compat import cache_dir, setup

theano, lasagne = setup()
import theano.tensor as T  # noqa: E402
from theano.compile.builders import OpFromGraph  # noqa: E402

__all__ = ["ModifiedBackprop", "ZeilerBackprop", "GuidedBackprop", "compile_saliency_function",
           "set_backprop", "relu_layers", "announce_compile", "BACKPROPS"]

_ANNOUNCED = False


def announce_compile() -> None:
    """Print once per session that Theano compiles C code (slow the first time, cached after)."""
    global _ANNOUNCED
    if not _ANNOUNCED:
        print(f"Theano compiles C code for each new function: about a minute the first time on 2 cores, "
              f"seconds once cached in {cache_dir()} (set NOMYSTICISM_THEANO_CACHE to move it).",
              file=sys.stderr, flush=True)
        _ANNOUNCED = True


class _ElementwiseOpFromGraph(OpFromGraph):
    """An ``OpFromGraph`` whose output has its first input's shape. (The generic ``infer_shape``
    clones the inner graph on every call: a third of the compile time of a VGG. The gradient op
    theano-pymc derives from it is of the same class and also keeps that shape.)"""

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]]


class ModifiedBackprop:
    """A nonlinearity whose forward pass is unchanged and whose backward pass is ``self.grad``."""

    def __init__(self, nonlinearity):
        self.nonlinearity = nonlinearity
        self.ops = {}  # memoizes an OpFromGraph instance per tensor type

    def __call__(self, x):
        # (The 2015 version moved x to the GPU here via theano.sandbox.cuda, which no longer exists.)
        tensor_type = x.type
        if tensor_type not in self.ops:
            inp = tensor_type()
            outp = self.nonlinearity(inp)
            # 2015: op = theano.OpFromGraph([inp], [outp]); op.grad = self.grad  <- ignored today
            op = _ElementwiseOpFromGraph([inp], [outp], grad_overrides=self.grad)
            self.ops[tensor_type] = op
        return self.ops[tensor_type](x)

    def grad(self, inputs, out_grads):
        raise NotImplementedError


class GuidedBackprop(ModifiedBackprop):
    """Springenberg et al. 2015, eq. (guided): R_l = [f_l > 0] · [R_{l+1} > 0] · R_{l+1}."""

    def grad(self, inputs, out_grads):
        (inp,) = inputs
        (grd,) = out_grads
        dtype = inp.dtype
        return [grd * (inp > 0).astype(dtype) * (grd > 0).astype(dtype)]  # a list, not a tuple


class ZeilerBackprop(ModifiedBackprop):
    """Zeiler & Fergus 2014 (deconvnet): the backward ReLU rectifies the signal, R_l = relu(R_{l+1})."""

    def grad(self, inputs, out_grads):
        (inp,) = inputs
        (grd,) = out_grads
        return [self.nonlinearity(grd)]  # use the given nonlinearity; a list, not a tuple


relu = lasagne.nonlinearities.rectify
# One instance per rule ("important: only instantiate this once!" — the recipe), so ops are shared.
BACKPROPS = {"saliency": relu, "deconvnet": ZeilerBackprop(relu), "guided": GuidedBackprop(relu)}


def relu_layers(net: dict) -> list:
    """The layers whose nonlinearity is a (possibly modified) ReLU."""
    kinds = tuple(BACKPROPS.values())
    return [layer for layer in lasagne.layers.get_all_layers(list(net.values())[-1])
            if getattr(layer, "nonlinearity", None) in kinds]


def set_backprop(net: dict, kind: str) -> dict:
    """Make every ReLU of ``net`` use ``kind``'s backward rule: ``saliency`` (plain gradient),
    ``deconvnet`` (Zeiler) or ``guided`` (Springenberg). In place; returns ``net``."""
    if kind not in BACKPROPS:
        raise ValueError(f"kind must be one of {', '.join(BACKPROPS)}, not {kind!r}")
    for layer in relu_layers(net):
        layer.nonlinearity = BACKPROPS[kind]
    return net


def compile_saliency_function(net: dict, output: str = "fc8"):
    """Simonyan et al. 2014, eq. (saliency): ∂S_c/∂I for the top class c, as the 2015 recipe compiled it.

    Returns ``f(images) -> [gradients (N,3,H,W), predicted classes (N,)]``. The gradient is taken of
    the *sum* over the batch of each image's maximal logit (images do not interact, so each image
    gets its own gradient). The rule in force is whatever :func:`set_backprop` last set.
    """
    inp = net["input"].input_var
    outp = lasagne.layers.get_output(net[output], deterministic=True)
    max_outp = T.max(outp, axis=1)
    saliency = theano.grad(max_outp.sum(), wrt=inp)
    max_class = T.argmax(outp, axis=1)
    announce_compile()
    return theano.function([inp], [saliency, max_class])
