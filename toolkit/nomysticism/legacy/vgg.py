"""Simonyan & Zisserman 2014 (VGG-19, config E) as a 2015 Lasagne network, with PyTorch weights.

The 2015 notebooks built VGG with ``ConvLayer(..., flip_filters=False)`` and loaded a pickle from a
bucket that no longer exists. Here the weights come from a ``nomysticism`` model instead:

>>> torch_net = nm.models.load("vgg19", pretrained=False)      # or pretrained=True with internet
>>> net = build_vgg19(pooling="max")                             # dict: layer name -> Lasagne layer
>>> copy_weights(net, torch_net)

Differences from the 2015 code, each forced by something that changed:

- Lasagne 0.1 has no ``flip_filters``; Caffe/torchvision filters are cross-correlations, so every
  convolution goes through :func:`cross_correlation` (``conv2d(..., filter_flip=False)``).
- The toolkit's models take images in [0, 1] and normalise inside; the Lasagne net does the same in
  a first ``normalize`` layer (the 2015 code subtracted the mean pixel before calling the net).
- ReLUs are separate ``NonlinearityLayer``s named like the toolkit's (``conv4_2`` is the convolution,
  ``relu4_2`` its rectified output). In 2015 Lasagne's ``conv4_2`` *included* the ReLU, as Caffe's
  in-place ReLU did: the seed's ``conv4_2`` is ``relu4_2`` here.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .compat import setup

theano, lasagne = setup()
import theano.tensor as T  # noqa: E402
from lasagne.layers import (  # noqa: E402
    Conv2DLayer,
    DenseLayer,
    DropoutLayer,
    GlobalPoolLayer,
    InputLayer,
    Layer,
    NonlinearityLayer,
    Pool2DLayer,
)
from lasagne.nonlinearities import rectify  # noqa: E402

__all__ = ["build_vgg19", "copy_weights", "from_torch", "cross_correlation", "NormalizeLayer",
           "AdaptiveAvgPoolLayer", "SwitchMaxPool2DLayer", "get_outputs", "compile_features", "VGG19_CFG"]

VGG19_CFG = [(64, 2), (128, 2), (256, 4), (512, 4), (512, 4)]  # (filters, convolutions) per block
POOL_MODES = {"max": "max", "avg": "average_exc_pad"}  # average_exc_pad == torch AvgPool2d here


def cross_correlation(input, filters, **kw):
    """``T.nnet.conv2d`` without the filter flip (Lasagne 0.1 cannot pass ``flip_filters=False``).

    Lasagne 0.1 still calls it with the Theano-0.7 keyword ``image_shape``; today it is ``input_shape``.
    """
    if "image_shape" in kw:
        kw["input_shape"] = kw.pop("image_shape")
    return T.nnet.conv2d(input, filters, filter_flip=False, **kw)


class NormalizeLayer(Layer):
    """(x − mean) / std per channel: the toolkit's ``LayeredNet.normalize`` as a Lasagne layer."""

    def __init__(self, incoming, mean, std, **kw):
        super().__init__(incoming, **kw)
        self.mean = np.asarray(mean, dtype=theano.config.floatX).reshape(1, -1, 1, 1)
        self.std = np.asarray(std, dtype=theano.config.floatX).reshape(1, -1, 1, 1)

    def get_output_for(self, input, **kw):
        return (input - self.mean) / self.std


def _adaptive_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Averaging matrix (n_out, n_in) with PyTorch's adaptive-pooling bins [⌊i·n/o⌋, ⌈(i+1)·n/o⌉)."""
    m = np.zeros((n_out, n_in), dtype=np.float64)
    for i in range(n_out):
        a, b = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        m[i, a:b] = 1.0 / (b - a)
    return m


class AdaptiveAvgPoolLayer(Layer):
    """``nn.AdaptiveAvgPool2d(out)`` for a known input size (torchvision VGG's ``avgpool``)."""

    def __init__(self, incoming, output_size, **kw):
        super().__init__(incoming, **kw)
        self.output_size = tuple(output_size)
        h, w = self.input_shape[2:]
        if h is None or w is None:
            raise ValueError("AdaptiveAvgPoolLayer needs a fixed input size: build with image_size=")
        fx = theano.config.floatX
        self.ph = _adaptive_matrix(h, self.output_size[0]).astype(fx)
        self.pw = _adaptive_matrix(w, self.output_size[1]).astype(fx)

    def get_output_shape_for(self, input_shape):
        return tuple(input_shape[:2]) + self.output_size

    def get_output_for(self, input, **kw):
        if self.ph.shape[0] == self.ph.shape[1] and self.pw.shape[0] == self.pw.shape[1]:
            return input  # 224 px: pool5 is already 7x7
        y = T.dot(input, self.pw.T)  # (N, C, H, ow)
        return T.dot(y.dimshuffle(0, 1, 3, 2), self.ph.T).dimshuffle(0, 1, 3, 2)


class SwitchMaxPool2DLayer(Layer):
    """Max pooling (k×k windows, stride k) whose gradient goes to *one* maximum per window: Zeiler &
    Fergus's "switches", and what Caffe and PyTorch do.

    Theano's own pool gradient gives the full gradient to *every* tied maximum. After a ReLU whole
    windows are 0, so they tie; the plain and guided gradients multiply that by [x > 0] = 0 and never
    notice, but the deconvnet rule (relu(g), blind to x) passes it on. ``build_vgg19(switches=False)``
    keeps Lasagne's 2015 ``Pool2DLayer`` and its tie-copying gradient.
    """

    def __init__(self, incoming, pool_size=2, **kw):
        super().__init__(incoming, **kw)
        self.k = int(pool_size)

    def get_output_shape_for(self, input_shape):
        k = self.k
        return tuple(input_shape[:2]) + tuple(None if s is None else s // k for s in input_shape[2:])

    def get_output_for(self, input, **kw):
        k = self.k
        n, c, h, w = input.shape
        ho, wo = h // k, w // k
        x = input[:, :, :ho * k, :wo * k].reshape((n, c, ho, k, wo, k))
        windows = x.dimshuffle(0, 1, 2, 4, 3, 5).reshape((n, c, ho, wo, k * k))  # row-major in window
        return switch_max(windows)


def switch_max(x):
    """max over the last axis, with the gradient going only to the first maximum (PyTorch's choice)."""
    first = T.argmax(x, axis=-1, keepdims=True)
    switch = theano.gradient.disconnected_grad(T.eq(T.arange(x.shape[-1]), first).astype(x.dtype))
    return (x * switch).sum(axis=-1)  # = the max; its gradient flows through the switch only


class BatchNormLayer(Layer):
    """Inference-mode batch norm (``nn.BatchNorm2d.eval()``); Lasagne 0.1 has none."""

    def __init__(self, incoming, mean, var, gamma, beta, eps, **kw):
        super().__init__(incoming, **kw)
        fx = theano.config.floatX
        scale = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
        self.scale = scale.astype(fx).reshape(1, -1, 1, 1)
        self.shift = (np.asarray(beta, np.float64) - np.asarray(mean, np.float64) * scale).astype(fx).reshape(1, -1, 1, 1)

    def get_output_for(self, input, **kw):
        return input * self.scale + self.shift


def build_vgg19(weights=None, pooling: str = "max", image_size: int | tuple[int, int] | None = None,
                classifier: bool = True, switches: bool = True) -> OrderedDict:
    """Simonyan & Zisserman 2014, config E: VGG-19 as the 2015 Lasagne notebooks built it.

    Returns ``{name: layer}`` in order: ``input``, ``normalize``, ``conv1_1``, ``relu1_1`` … ``pool5``
    and, with ``classifier``, ``avgpool``, ``fc6`` … ``fc8`` (logits; no softmax). ``pooling`` is
    ``"max"`` or ``"avg"`` (Gatys et al. 2015 use average pooling). The classifier needs a fixed
    ``image_size`` (for torchvision's adaptive ``avgpool``). ``weights``: a ``nomysticism`` VGG-19
    (``LayeredNet``) whose weights and normalisation are copied in (:func:`copy_weights`); without
    it the weights are Lasagne's random initialisation. ``switches``: max pooling routes its
    gradient to one maximum per window (:class:`SwitchMaxPool2DLayer`, as PyTorch and Caffe do);
    ``False`` uses the 2015 ``Pool2DLayer`` (only the deconvnet maps differ).
    """
    from ..images import IMAGENET_MEAN, IMAGENET_STD

    if pooling not in POOL_MODES:
        raise ValueError(f"pooling must be 'max' or 'avg', not {pooling!r}")
    if classifier and image_size is None:
        raise ValueError("the classifier part needs image_size= (fixed input size)")
    hw = (None, None) if image_size is None else (
        (image_size, image_size) if isinstance(image_size, int) else tuple(image_size))
    net = OrderedDict()
    net["input"] = InputLayer((None, 3) + hw)
    net["normalize"] = prev = NormalizeLayer(net["input"], IMAGENET_MEAN, IMAGENET_STD)
    # Weights go in at construction: Glorot-initialising fc6 (103 M weights) first would take seconds
    params = _torch_params(weights) if weights is not None else {}

    def kw(name):
        if name not in params:
            return {"nonlinearity": None}
        w, b = params[name]
        return {"W": w, "b": b, "nonlinearity": None}

    for b, (filters, n) in enumerate(VGG19_CFG, start=1):
        for i in range(1, n + 1):
            name = f"conv{b}_{i}"
            net[name] = prev = Conv2DLayer(prev, filters, 3, pad=1, convolution=cross_correlation,
                                           **kw(name))
            net[f"relu{b}_{i}"] = prev = NonlinearityLayer(prev, rectify)
        net[f"pool{b}"] = prev = (SwitchMaxPool2DLayer(prev, 2) if switches and pooling == "max"
                                  else Pool2DLayer(prev, 2, mode=POOL_MODES[pooling]))
    if classifier:
        net["avgpool"] = AdaptiveAvgPoolLayer(prev, (7, 7))
        net["fc6"] = DenseLayer(net["avgpool"], 4096, **kw("fc6"))
        net["relu6"] = NonlinearityLayer(net["fc6"], rectify)
        net["drop6"] = DropoutLayer(net["relu6"], p=0.5)
        net["fc7"] = DenseLayer(net["drop6"], 4096, **kw("fc7"))
        net["relu7"] = NonlinearityLayer(net["fc7"], rectify)
        net["drop7"] = DropoutLayer(net["relu7"], p=0.5)
        net["fc8"] = DenseLayer(net["drop7"], 1000, **kw("fc8"))
    if weights is not None:
        _copy_normalize(net["normalize"], weights)
    return net


def _torch_params(model) -> dict:
    """{name: (W, b)} for every Conv2d/Linear of a LayeredNet, in Lasagne's layout and floatX."""
    from torch import nn

    fx = theano.config.floatX
    out = {}
    for name, m in model.layers.named_children():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            w = m.weight.detach().cpu().numpy()
            w = w.T if isinstance(m, nn.Linear) else w  # Lasagne's DenseLayer stores (in, out)
            out[name] = (np.ascontiguousarray(w, dtype=fx), m.bias.detach().cpu().numpy().astype(fx))
    return out


def _copy_normalize(layer: NormalizeLayer, model) -> None:
    fx = theano.config.floatX
    layer.mean = model.normalize.mean.detach().cpu().numpy().astype(fx).reshape(1, -1, 1, 1)
    layer.std = model.normalize.std.detach().cpu().numpy().astype(fx).reshape(1, -1, 1, 1)


def copy_weights(net: dict, model) -> dict:
    """Copy the weights of a ``nomysticism`` VGG (``LayeredNet``) into ``net``, matching layer names.

    Convolutions keep PyTorch's (out, in, kh, kw) layout (valid because ours are cross-correlations);
    dense layers take ``weight.T`` (Lasagne stores (in, out)). Also copies the normalisation.
    """
    params = _torch_params(model)
    for name, layer in net.items():
        if isinstance(layer, NormalizeLayer):
            _copy_normalize(layer, model)
        if not isinstance(layer, (Conv2DLayer, DenseLayer)):
            continue
        if name not in params:
            raise KeyError(f"{model.name} has no layer {name!r} to copy into the Lasagne net")
        w, b = params[name]
        if layer.W.get_value(borrow=True).shape != w.shape:
            raise ValueError(f"{name}: Lasagne {layer.W.get_value(borrow=True).shape} vs PyTorch {w.shape}")
        layer.W.set_value(w, borrow=True)
        layer.b.set_value(b, borrow=True)
    return net


def from_torch(model, upto: str | None = None, image_size: int | None = None,
               switches: bool = True) -> OrderedDict:
    """Any ``nomysticism`` VGG-like ``LayeredNet`` (Conv2d, BatchNorm2d, ReLU, Max/AvgPool2d,
    adaptive pooling, Flatten, Linear, Dropout) as a Lasagne net with the same names and weights.

    Stops after layer ``upto`` (default: all). ``image_size`` is needed for adaptive average pooling
    to sizes other than 1. ``switches``: as in :func:`build_vgg19` (for k×k, stride-k max pooling).
    """
    from torch import nn

    fx = theano.config.floatX

    def np_(t):
        return t.detach().cpu().numpy().astype(fx)

    hw = (None, None) if image_size is None else (image_size, image_size)
    net = OrderedDict()
    net["input"] = InputLayer((None, 3) + hw)
    net["normalize"] = prev = NormalizeLayer(net["input"], np_(model.normalize.mean).ravel(),
                                             np_(model.normalize.std).ravel())
    for name, m in model.layers.named_children():
        if isinstance(m, nn.Conv2d):
            if m.groups != 1 or m.dilation != (1, 1):
                raise ValueError(f"{name}: grouped/dilated convolutions are not supported")
            b = np_(m.bias) if m.bias is not None else None
            layer = Conv2DLayer(prev, m.out_channels, m.kernel_size, stride=m.stride, pad=m.padding,
                                W=np.ascontiguousarray(np_(m.weight)), b=b, nonlinearity=None,
                                convolution=cross_correlation)
        elif isinstance(m, nn.BatchNorm2d):
            layer = BatchNormLayer(prev, np_(m.running_mean), np_(m.running_var),
                                   np_(m.weight), np_(m.bias), m.eps)
        elif isinstance(m, nn.ReLU):
            layer = NonlinearityLayer(prev, rectify)
        elif (isinstance(m, nn.MaxPool2d) and switches and m.kernel_size == m.stride
              and isinstance(m.kernel_size, int) and m.padding == 0 and not m.ceil_mode):
            layer = SwitchMaxPool2DLayer(prev, m.kernel_size)
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            mode = "max" if isinstance(m, nn.MaxPool2d) else "average_exc_pad"
            layer = Pool2DLayer(prev, m.kernel_size, stride=m.stride, pad=(m.padding, m.padding)
                                if isinstance(m.padding, int) else m.padding, mode=mode)
        elif isinstance(m, nn.AdaptiveMaxPool2d) and m.output_size in (1, (1, 1)):
            layer = GlobalPoolLayer(prev, pool_function=(lambda x, axis: switch_max(x)) if switches
                                    else T.max)
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            out = m.output_size if isinstance(m.output_size, tuple) else (m.output_size,) * 2
            layer = (GlobalPoolLayer(prev, pool_function=T.mean) if out == (1, 1)
                     else AdaptiveAvgPoolLayer(prev, out))
        elif isinstance(m, nn.Flatten):
            continue  # Lasagne's DenseLayer flattens its input (row-major, like torch)
        elif isinstance(m, nn.Linear):
            b = np_(m.bias) if m.bias is not None else None
            layer = DenseLayer(prev, m.out_features, W=np.ascontiguousarray(np_(m.weight).T), b=b,
                               nonlinearity=None)
        elif isinstance(m, nn.Dropout):
            layer = DropoutLayer(prev, p=m.p)
        else:
            raise ValueError(f"{name}: no Lasagne counterpart for {type(m).__name__}")
        net[name] = prev = layer
        if name == upto:
            break
    return net


def get_outputs(net: dict, names, input_var=None):
    """Symbolic outputs of ``names`` (deterministic: dropout off), as in the 2015 notebooks."""
    names = [names] if isinstance(names, str) else list(names)
    layers = [net[n] for n in names]
    if input_var is None:
        return lasagne.layers.get_output(layers, deterministic=True)
    return lasagne.layers.get_output(layers, input_var, deterministic=True)


def compile_features(net: dict, names):
    """A compiled function: images (N,3,H,W) in [0,1] (float32 numpy) -> list of activations."""
    from .backprop import announce_compile

    inp = net["input"].input_var
    announce_compile()
    return theano.function([inp], get_outputs(net, names))
