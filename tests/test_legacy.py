"""The 2015 Theano/Lasagne code (nomysticism.legacy) computes what the PyTorch toolkit computes.

Same weights (a random VGG-19 with randomised biases, so that the bias copy is tested), same input,
float32; every relative error (‖a − b‖ / ‖b‖) must be below 1e-4. The references are the PyTorch
toolkit (nm.models, nm.attribution, nm.style) and, for the backward rules, formulas written here.

These tests need the ``legacy`` extra and OpenBLAS; they fail (not skip) without them. Theano
compiles C code on first use (about 2 minutes for this file on 2 cores); the cache goes to
``.theano/`` in the repository (git-ignored) unless NOMYSTICISM_THEANO_CACHE says otherwise, and
later runs take seconds.
"""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("NOMYSTICISM_THEANO_CACHE", str(ROOT / ".theano"))

import nomysticism as nm  # noqa: E402
from nomysticism import legacy  # noqa: E402

pytestmark = pytest.mark.legacy
TOL = 1e-4
SIZE = 32


def rel(a, b) -> float:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _random_vgg(pooling: str) -> nm.models.LayeredNet:
    torch.manual_seed(1)
    net = nm.models.load("vgg19", pretrained=False, pooling=pooling)
    with torch.no_grad():
        for m in net.layers:
            if getattr(m, "bias", None) is not None:
                m.bias.uniform_(-0.05, 0.05)  # torchvision initialises biases to 0: copy would be untested
    return net


def _img(name: str, size: int = SIZE) -> torch.Tensor:
    x = nm.sample_image(name, 4 * size)
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True).clamp(0, 1)


@pytest.fixture(scope="session")
def theano_ready():
    if not legacy.available():
        pytest.fail("the legacy extra is missing:\n" + legacy.INSTALL_HINT)
    theano, _ = legacy.setup()
    return theano


@pytest.fixture(scope="session")
def vgg_max():
    return _random_vgg("max")


@pytest.fixture(scope="session")
def lasagne_vgg(theano_ready, vgg_max):
    return legacy.build_vgg19(vgg_max, pooling="max", image_size=SIZE)


@pytest.fixture(scope="session")
def images():
    g = torch.Generator().manual_seed(0)
    cat = _img("chelsea")
    return torch.cat([cat, torch.rand(1, 3, SIZE, SIZE, generator=g)])


# ------------------------------------------------------------------------------------------------
# compat: the measured traps
# ------------------------------------------------------------------------------------------------


def test_compat_flags_and_cache(theano_ready):
    th = theano_ready
    assert th.config.linker == "c|py"
    assert th.config.floatX == "float32"
    assert "NPY_2_0_API_VERSION" in th.config.gcc__cxxflags
    assert Path(th.config.base_compiledir) == legacy.cache_dir()
    assert legacy.cache_dir() == Path(os.environ["NOMYSTICISM_THEANO_CACHE"]).expanduser()
    import theano.sandbox.rng_mrg
    import theano.tensor.signal.downsample  # noqa: F401  (the shim Lasagne 0.1 imports)

    assert theano.sandbox.rng_mrg.MRG_RandomStreams is theano.sandbox.rng_mrg.MRG_RandomStream
    assert np.product([2, 3]) == 6


def test_assigning_op_grad_is_silently_ignored(theano_ready):
    """The 2015 recipe's ``op.grad = ...`` does nothing on theano-pymc; ``grad_overrides`` works,
    and must return a list. (This is why nomysticism.legacy changes that one line.)"""
    th = theano_ready
    import theano.tensor as T
    from theano.compile.builders import OpFromGraph

    x = T.vector()
    inp = T.vector()
    relu = lambda v: T.maximum(v, 0)  # noqa: E731
    zero_grad = lambda inputs, grads: [T.zeros_like(inputs[0])]  # noqa: E731
    xs = np.array([-1.0, 2.0, 3.0], "float32")

    old = OpFromGraph([inp], [relu(inp)])
    old.grad = zero_grad  # 2015 style
    g_old = th.function([x], th.grad(old(x).sum(), x))(xs)
    np.testing.assert_array_equal(g_old, [0, 1, 1])  # unmodified gradient: the override was ignored

    new = OpFromGraph([inp], [relu(inp)], grad_overrides=zero_grad)
    g_new = th.function([x], th.grad(new(x).sum(), x))(xs)
    np.testing.assert_array_equal(g_new, [0, 0, 0])

    bad = OpFromGraph([inp], [relu(inp)], grad_overrides=lambda i, g: (T.zeros_like(i[0]),))
    with pytest.raises(TypeError):
        th.grad(bad(x).sum(), x)


def test_backward_rules_on_a_relu(theano_ready):
    """Guided and Zeiler rules against the formulas, on one ReLU (cheap, and independent of VGG)."""
    th = theano_ready
    import theano.tensor as T
    from nomysticism.legacy.backprop import BACKPROPS

    x, w = T.vector(), T.vector()
    xs = np.array([-2.0, -1.0, 1.0, 2.0], "float32")
    ws = np.array([1.0, -1.0, -3.0, 4.0], "float32")
    for kind, expected in [("saliency", ws * (xs > 0)), ("deconvnet", np.maximum(ws, 0)),
                           ("guided", ws * (xs > 0) * (ws > 0))]:
        g = th.function([x, w], th.grad((BACKPROPS[kind](x) * w).sum(), x))(xs, ws)
        np.testing.assert_allclose(g, expected, err_msg=kind)


# ------------------------------------------------------------------------------------------------
# Parity with the PyTorch toolkit
# ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_activations_match_torch(lasagne_vgg, vgg_max, images):
    names = ["conv4_2", "conv5_1", "relu5_1", "fc8"]
    f = legacy.compile_features(lasagne_vgg, names)
    outs = f(images.numpy())
    with torch.no_grad():
        ref = vgg_max.features(images, names)
    for name, out in zip(names, outs):
        assert out.shape == tuple(ref[name].shape), name
        assert rel(out, ref[name]) < TOL, (name, rel(out, ref[name]))


@pytest.mark.slow
@pytest.mark.parametrize("kind, rule", [("saliency", "gradient"), ("deconvnet", "deconvnet"),
                                        ("guided", "guided")])
def test_backprop_maps_match_toolkit(lasagne_vgg, vgg_max, images, kind, rule):
    legacy.set_backprop(lasagne_vgg, kind)
    grads, classes = legacy.compile_saliency_function(lasagne_vgg)(images.numpy())
    legacy.set_backprop(lasagne_vgg, "saliency")
    with torch.no_grad():
        top = vgg_max(images).argmax(1)
    np.testing.assert_array_equal(classes, top.numpy())
    fn = {"saliency": nm.attribution.saliency, "deconvnet": nm.attribution.deconvnet,
          "guided": nm.attribution.guided_backprop}[kind]
    ref = fn(vgg_max, images)  # target=None: each image's top class, pre-softmax, as in 2015
    ours = np.abs(grads) if kind == "saliency" else grads  # toolkit saliency is |grad|
    assert rel(ours, ref) < TOL, (kind, rel(ours, ref))
    # and the 2015 display reduction (max over colour channels of |grad|) equals the toolkit's heatmap
    heat = np.abs(grads).max(axis=1, keepdims=True)
    assert rel(heat / heat.max(axis=(1, 2, 3), keepdims=True), nm.attribution.heatmap(ref)) < TOL
    if kind != "saliency":  # the override really took effect: far from the plain gradient
        plain = nm.attribution.input_gradient(vgg_max, images, rule="gradient")
        assert rel(grads, plain) > 0.1


# ------------------------------------------------------------------------------------------------
# Gatys et al. 2015: the loss, its gradient, and a few L-BFGS iterations
# ------------------------------------------------------------------------------------------------

W = legacy.gatys.SEED_WEIGHTS if legacy.available() else {}
CONTENT, STYLES = ["conv4_2"], ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]


def _torch_gatys(net, content, style):
    """Gatys loss with nm.style, weights of the 2015 recipe: x (1,3,H,W) -> (loss, grad) float64."""
    from nomysticism import style as S

    with torch.no_grad():
        P = net.features(content, CONTENT + STYLES)
        A = {k: S.gram_matrix(v) for k, v in net.features(style, STYLES).items()}

    def loss_and_grad(x: np.ndarray):
        x = torch.tensor(np.asarray(x, np.float32).reshape(content.shape), requires_grad=True)
        F = net.features(x, CONTENT + STYLES)
        loss = W["content"] * S.content_loss(F["conv4_2"], P["conv4_2"])
        for k in STYLES:
            loss = loss + W["style"] * S.style_loss(F[k], A[k])
        loss = loss + W["tv"] * S.tv_loss(x, exponent=1.25)
        (g,) = torch.autograd.grad(loss, x)
        return float(loss.detach()), g.numpy().ravel().astype(np.float64)

    return loss_and_grad


@pytest.fixture(scope="session")
def gatys(theano_ready):
    vgg = _random_vgg("avg")
    net = legacy.build_vgg19(vgg, pooling="avg", classifier=False)
    content, style = _img("chelsea"), _img("mosaic")
    f, gen = legacy.compile_gatys_loss(net, content.numpy(), style.numpy())
    x0 = torch.rand(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(3)).numpy()
    return f, gen, _torch_gatys(vgg, content, style), x0


@pytest.mark.slow
def test_gatys_loss_and_gradient_match_toolkit(gatys):
    f, gen, torch_loss_and_grad, x0 = gatys
    gen.set_value(x0)
    loss, grad = f()
    ref_loss, ref_grad = torch_loss_and_grad(x0)
    assert ref_loss > 0 and np.abs(ref_grad).max() > 0
    assert abs(float(loss) - ref_loss) / ref_loss < TOL
    assert rel(np.asarray(grad).ravel(), ref_grad) < TOL


@pytest.mark.slow
def test_lbfgs_lowers_the_loss_in_both(gatys):
    import scipy.optimize

    f, gen, torch_loss_and_grad, x0 = gatys
    _, losses = legacy.style_transfer(f, gen, x0, iterations=2, maxfun=4, progress=False)
    x = x0.ravel().astype(np.float64)
    torch_losses = [torch_loss_and_grad(x)[0]]
    for _ in range(2):
        x, fx, _ = scipy.optimize.fmin_l_bfgs_b(lambda v: torch_loss_and_grad(v), x, maxfun=4)
        torch_losses.append(fx)
    assert losses[-1] < 0.9 * losses[0], losses
    assert torch_losses[-1] < 0.9 * torch_losses[0], torch_losses
    assert abs(losses[-1] - torch_losses[-1]) / torch_losses[-1] < 1e-2, (losses, torch_losses)


# ------------------------------------------------------------------------------------------------
# Any VGG-like nomysticism network (here: ShapesNet, with batch norm and global max pooling)
# ------------------------------------------------------------------------------------------------


def test_from_torch_shapesnet(theano_ready):
    torch.manual_seed(2)
    net = nm.models.load("shapesnet", pretrained=False)
    with torch.no_grad():  # non-trivial batch-norm statistics
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    lnet = legacy.from_torch(net)
    x = torch.rand(2, 3, 24, 24)
    out = legacy.compile_features(lnet, ["relu2_2", "fc"])(x.numpy())
    with torch.no_grad():
        ref = net.features(x, ["relu2_2", "fc"])
    assert rel(out[0], ref["relu2_2"]) < TOL
    assert rel(out[1], ref["fc"]) < TOL


@pytest.mark.parametrize("hw", [(1, 1), (4, 4), (5, 6), (7, 7), (9, 14)])
def test_adaptive_avgpool_matches_torch(theano_ready, hw):
    """torchvision VGG's avgpool (7x7) for every pool5 size: 32 px -> 1x1, 128 px -> 4x4, 224 px -> 7x7."""
    th = theano_ready
    from lasagne.layers import InputLayer, get_output
    from nomysticism.legacy.vgg import AdaptiveAvgPoolLayer

    layer = AdaptiveAvgPoolLayer(InputLayer((None, 3) + hw), (7, 7))
    x = torch.randn(2, 3, *hw)
    out = th.function([layer.input_layer.input_var], get_output(layer))(x.numpy())
    ref = torch.nn.functional.adaptive_avg_pool2d(x, (7, 7))
    assert rel(out, ref) < 1e-6
