"""Attribution methods against independent references: Captum, an autograd.Function written here,
explicit formulas, and the ground-truth masks of the shapes world."""

from collections import OrderedDict

import nomysticism as nm
import pytest
import torch
import torch.nn.functional as F
from nomysticism import attribution as A
from torch import nn


def max_rel_err(a, b):
    return float((a - b).detach().abs().max() / b.detach().abs().max().clamp_min(1e-30))


# ------------------------------------------------------------------------------------------------
# Small models
# ------------------------------------------------------------------------------------------------


def relu_module_net(seed=0):
    """A LayeredNet made only of nn.ReLU modules (what Captum supports)."""
    torch.manual_seed(seed)
    layers = OrderedDict(
        conv1=nn.Conv2d(3, 8, 3, padding=1), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2),
        conv2=nn.Conv2d(8, 16, 3, padding=1), relu2=nn.ReLU(), pool2=nn.MaxPool2d(2),
        conv3=nn.Conv2d(16, 16, 3, padding=1), relu3=nn.ReLU(),
        gap=nn.AdaptiveAvgPool2d(2), flat=nn.Flatten(1), fc=nn.Linear(64, 10),
    )
    net = nm.models.LayeredNet(layers, mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3),
                               classes=[str(i) for i in range(10)], name="tiny",
                               default_layers={"gradcam": "relu3"})
    return net.eval().requires_grad_(False)


class FunctionalNet(nn.Module):
    """ReLUs as torch.relu, F.relu(inplace=True), Tensor.relu_, nn.ReLU(inplace=True), ReLU6, F.relu6.

    ``act`` replaces every rectifier when given (for the reference copy)."""

    def __init__(self, act=None):
        super().__init__()
        torch.manual_seed(1)
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.c3 = nn.Conv2d(8, 12, 3, padding=1, stride=2)
        self.c4 = nn.Conv2d(12, 12, 3, padding=1)
        self.c5 = nn.Conv2d(12, 12, 3, padding=1)
        self.fc = nn.Linear(12, 7)
        self.r_inplace = nn.ReLU(inplace=True)
        self.r6 = nn.ReLU6(inplace=True)
        self.act = act

    def forward(self, x):
        a = self.act
        h = self.c1(x) * 3.0
        h = a(h) if a else torch.relu(h)
        h = self.c2(h) * 3.0
        h = a(h) if a else F.relu(h, inplace=True)
        h = self.c3(h) * 3.0
        if a:
            h = a(h)
        else:
            h.relu_()  # result ignored on purpose: truly in place
        h = self.c4(h) * 12.0
        h = a(h, 6.0) if a else self.r6(h)
        h = self.c5(h) * 3.0 + h
        h = a(h, 6.0) if a else F.relu6(h)
        h = a(h) if a else self.r_inplace(h)
        return self.fc(h.amax((2, 3)))


class RefRectifier(torch.autograd.Function):
    """Written independently of the toolkit: the three rules from the papers, in float64 logic."""

    @staticmethod
    def forward(ctx, x, rule, upper):
        ctx.save_for_backward(x)
        ctx.rule, ctx.upper = rule, upper
        return x.clamp(0, upper) if upper else x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        fwd = (x > 0).to(g.dtype)
        if ctx.upper:
            fwd = fwd * (x < ctx.upper).to(g.dtype)
        if ctx.rule == "gradient":
            out = g * fwd
        elif ctx.rule == "deconvnet":
            out = torch.where(g > 0, g, torch.zeros_like(g))
        else:
            out = g * fwd * (g > 0).to(g.dtype)
        return out, None, None


def reference_attr(rule, x, target):
    net = FunctionalNet(act=lambda h, upper=None: RefRectifier.apply(h, rule, upper)).eval()
    x = x.clone().requires_grad_(True)
    out = net(x)
    out[torch.arange(len(x)), target].sum().backward()
    return x.grad


# ------------------------------------------------------------------------------------------------
# Parity with Captum on nn.ReLU models
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    return relu_module_net()


@pytest.fixture(scope="module")
def xs():
    g = torch.Generator().manual_seed(3)
    return torch.rand(3, 3, 32, 32, generator=g)


@pytest.mark.parametrize("ours,theirs", [
    ("saliency", "Saliency"), ("deconvnet", "Deconvolution"), ("guided_backprop", "GuidedBackprop"),
])
def test_captum_parity(tiny, xs, ours, theirs):
    import captum.attr as ca

    target = torch.tensor([2, 5, 7])
    ref = getattr(ca, theirs)(tiny)
    kw = {"abs": True} if theirs == "Saliency" else {}
    expected = ref.attribute(xs.clone().requires_grad_(True), target=target, **kw)
    got = getattr(A, ours)(tiny, xs, target)
    assert got.shape == xs.shape
    assert max_rel_err(got, expected) < 1e-5
    # the three methods really differ (otherwise the parity above proves little)
    if ours != "saliency":
        assert max_rel_err(got, A.saliency(tiny, xs, target, abs=False)) > 1e-2


def test_target_none_is_top_class(tiny, xs):
    top = tiny(xs).argmax(1)
    assert torch.equal(A.guided_backprop(tiny, xs), A.guided_backprop(tiny, xs, top))
    assert torch.equal(A.saliency(tiny, xs[0]), A.saliency(tiny, xs[:1], int(top[0]))[0])


def test_single_image_keeps_its_shape(tiny, xs):
    for f in (A.saliency, A.deconvnet, A.guided_backprop, A.smoothgrad):
        assert f(tiny, xs[0]).shape == xs[0].shape, f.__name__


def test_grad_cam_matches_captum(tiny, xs):
    from captum.attr import GuidedGradCam, LayerAttribution, LayerGradCam

    t = torch.tensor([1, 4, 9])
    lgc = LayerGradCam(tiny, tiny.layers.relu3).attribute(xs, target=t, relu_attributions=True)
    expected = LayerAttribution.interpolate(lgc, xs.shape[-2:], "bilinear")
    got = A.grad_cam(tiny, xs, t, "relu3")
    assert got.shape == (3, 1, 32, 32)
    assert max_rel_err(got, expected) < 1e-5
    ggc = GuidedGradCam(tiny, tiny.layers.relu3).attribute(xs.clone().requires_grad_(True), target=t)
    got = A.guided_grad_cam(tiny, xs, t, "relu3", upsample="nearest")
    assert max_rel_err(got, ggc) < 1e-5


# ------------------------------------------------------------------------------------------------
# Functional, in-place and ReLU6 rectifiers (where Captum does not apply)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", A.RULES)
def test_functional_inplace_relu6_against_reference(rule):
    net = FunctionalNet().eval()
    g = torch.Generator().manual_seed(5)
    x = torch.rand(2, 3, 16, 16, generator=g)
    target = torch.tensor([3, 6])
    got = A.input_gradient(net, x, target, rule)
    ref = reference_attr(rule, x, target)
    assert max_rel_err(got, ref) < 1e-5
    # the ReLU6 gate matters in this net: some units sit above 6
    with torch.no_grad():
        h = net.c4(F.relu(net.c3(F.relu(net.c2(F.relu(net.c1(x) * 3.0)) * 3.0)) * 3.0)) * 12.0
    assert 0.02 < (h > 6).float().mean() < 0.5 and ((h > 0) & (h < 6)).any()


def test_modes_differ_on_functional_net():
    net = FunctionalNet().eval()
    x = torch.rand(1, 3, 16, 16)
    grads = {r: A.input_gradient(net, x, 0, r) for r in A.RULES}
    assert max_rel_err(grads["guided"], grads["gradient"]) > 1e-2
    assert max_rel_err(grads["deconvnet"], grads["guided"]) > 1e-2


def test_captum_misses_relu6_but_we_do_not():
    """Captum hooks nn.ReLU only: on a ReLU6 net its 'guided' result is the plain gradient."""
    from captum.attr import GuidedBackprop

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU6(), nn.Conv2d(8, 8, 3), nn.ReLU6(),
                        nn.Flatten(), nn.LazyLinear(4))
    x = torch.rand(1, 3, 10, 10)
    net(x)
    net.eval()
    captum = GuidedBackprop(net).attribute(x.clone().requires_grad_(True), target=1)
    plain = A.input_gradient(net, x, 1, "gradient")
    ours = A.guided_backprop(net, x, 1)
    assert max_rel_err(captum, plain) < 1e-6
    assert max_rel_err(ours, plain) > 1e-2


def test_restored_after_exception():
    net = FunctionalNet().eval()
    x = torch.rand(1, 3, 16, 16)

    def plain_grad():
        xx = x.clone().requires_grad_(True)
        net(xx)[0, 2].backward()
        return xx.grad

    before = plain_grad()
    with pytest.raises(RuntimeError, match="boom"):
        with A.modified_backprop("guided"):
            net(x)
            raise RuntimeError("boom")
    torch.testing.assert_close(plain_grad(), before, rtol=0, atol=0)
    assert torch.overrides._get_current_function_mode_stack() == []
    # a failing forward inside an attribution call also leaves nothing behind
    with pytest.raises(ValueError):
        A.guided_backprop(net, x, target=[0, 1, 2])
    torch.testing.assert_close(plain_grad(), before, rtol=0, atol=0)
    # and the model's normal gradient equals a from-scratch reference with plain ReLUs
    ref = reference_attr("gradient", x, torch.tensor([2]))
    assert max_rel_err(before, ref) < 1e-5


def test_mode_is_thread_local():
    import threading

    net = FunctionalNet().eval()
    x = torch.rand(1, 3, 16, 16)
    plain = A.input_gradient(net, x, 0, "gradient")
    seen = {}

    def other():
        seen["g"] = A.input_gradient(net, x, 0, "gradient")

    with A.modified_backprop("deconvnet"):
        t = threading.Thread(target=other)
        t.start()
        t.join()
    torch.testing.assert_close(seen["g"], plain, rtol=0, atol=0)


def test_model_parameter_grads_untouched(tiny, xs):
    net = relu_module_net()
    net.requires_grad_(True)
    A.guided_backprop(net, xs)
    A.grad_cam(net, xs)
    assert all(p.grad is None for p in net.parameters())


# ------------------------------------------------------------------------------------------------
# SmoothGrad, heat maps, scores
# ------------------------------------------------------------------------------------------------


def test_smoothgrad_on_linear_model_is_the_gradient():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4)).eval()
    x = torch.rand(2, 3, 8, 8)
    w = net[1].weight.detach()
    expected = w[[1, 3]].view(2, 3, 8, 8).abs()
    got = A.smoothgrad(net, x, [1, 3], n=5, noise=0.3)
    assert max_rel_err(got, expected) < 1e-5


def test_smoothgrad_reduces_variance(tiny, xs):
    a1 = A.smoothgrad(tiny, xs[:1], 3, n=1, seed=0)
    b1 = A.smoothgrad(tiny, xs[:1], 3, n=1, seed=1)
    a = A.smoothgrad(tiny, xs[:1], 3, n=16, seed=0)
    b = A.smoothgrad(tiny, xs[:1], 3, n=16, seed=1)
    assert (a - b).norm() < 0.6 * (a1 - b1).norm()


def test_heatmap_reductions():
    a = torch.tensor([[[[1.0, -4.0]], [[-3.0, 2.0]], [[0.5, 1.0]]]])  # (1,3,1,2)
    assert A.heatmap(a, "max", normalize=False).flatten().tolist() == [3.0, 4.0]
    assert A.heatmap(a, "sum", normalize=False).flatten().tolist() == [1.5, 1.0]
    assert A.heatmap(a, "abs_sum", normalize=False).flatten().tolist() == [4.5, 7.0]
    assert A.heatmap(a, "max").flatten().tolist() == [0.75, 1.0]
    with pytest.raises(ValueError):
        A.heatmap(a, "median")


def test_pointing_game_and_mass_by_hand():
    mask = torch.zeros(2, 1, 10, 10, dtype=torch.bool)
    mask[:, :, 4:7, 4:7] = True
    heat = torch.zeros(2, 1, 10, 10)
    heat[0, 0, 5, 5] = 3.0  # inside
    heat[0, 0, 0, 0] = 1.0
    heat[1, 0, 2, 5] = 2.0  # two pixels above the mask
    assert A.pointing_game(heat, mask).tolist() == [True, False]
    assert A.pointing_game(heat, mask, tolerance=1).tolist() == [True, False]
    assert A.pointing_game(heat, mask, tolerance=2).tolist() == [True, True]
    torch.testing.assert_close(A.mass_in_mask(heat, mask), torch.tensor([0.75, 0.0]))


def test_receptive_field_vgg16_matches_the_known_numbers():
    net = nm.models.load("vgg16", pretrained=False)
    # the textbook values for VGG-16: conv5_3 sees 196 px, pool5 212 px with a 32 px stride
    assert A.receptive_field(net, "conv5_3")[:2] == (196, 16)
    assert A.receptive_field(net, "pool5")[:2] == (212, 32)
    assert A.receptive_field(net, "conv1_1") == (3, 1, 0.5)


def test_receptive_field_contains_the_gradient_support(tiny):
    """Empirical check: the gradient of one unit is zero outside its computed window."""
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    a = tiny.features(x, ["conv3"])["conv3"]
    a[0, 2, 3, 5].backward()
    r, j, s = A.receptive_field(tiny, "conv3")
    ys, xs_ = torch.nonzero(x.grad[0].abs().sum(0), as_tuple=True)
    y0, x0 = s + 3 * j - r / 2, s + 5 * j - r / 2
    assert ys.min() >= y0 and ys.max() < y0 + r and xs_.min() >= x0 and xs_.max() < x0 + r
    assert ys.max() - ys.min() + 1 == r  # and fills it


def test_deconv_projection_switches_equal_autograd_deconvnet(tiny, xs):
    """Explicit unpooling-with-switches deconvnet == gradient with the relu(g) rule."""
    for layer, ch in [("relu3", 5), ("pool2", 3), ("conv2", 7)]:
        a = A.deconv_projection(tiny, xs[:1], layer, ch, method="switches")
        b = A.deconv_projection(tiny, xs[:1], layer, ch, method="autograd")
        assert a.shape == (1, 3, 32, 32)
        assert a.abs().max() > 0
        assert max_rel_err(a, b) < 1e-5


def test_deconv_projection_on_shapesnet_with_batchnorm(shapesnet):
    d = nm.data.shapes(1, seed=11)
    a = A.deconv_projection(shapesnet, d.images, "relu3_2", 4, method="switches")
    b = A.deconv_projection(shapesnet, d.images, "relu3_2", 4, method="autograd")
    assert max_rel_err(a, b) < 1e-4


def test_top_patches_are_the_strongest(tiny):
    g = torch.Generator().manual_seed(4)
    ims = torch.rand(12, 3, 32, 32, generator=g)
    tp = A.top_patches(tiny, ims, "relu2", 3, k=4, batch_size=5)
    with torch.no_grad():
        per_image = tiny.features(ims, ["relu2"])["relu2"][:, 3].amax((1, 2))
    best = per_image.topk(4)
    assert tp.image_index.tolist() == best.indices.tolist()
    torch.testing.assert_close(tp.activations, best.values)
    r = A.receptive_field(tiny, "relu2")[0]
    assert tp.patches.shape == (4, 3, r, r) and tp.projections.shape == (4, 3, r, r)


def test_class_model_raises_the_class_score(tiny):
    img = A.class_model(tiny, 4, size=32, steps=40, lr=0.05, progress=False)
    mean = tiny.normalize.mean.expand(1, 3, 32, 32)
    g = torch.Generator().manual_seed(9)
    with torch.no_grad():
        logits = tiny(img)[0]
        random_best = tiny(torch.rand(64, 3, 32, 32, generator=g))[:, 4].max()
        assert logits.argmax() == 4
        assert logits[4] > tiny(mean)[0, 4] + 0.2 and logits[4] > random_best + 0.2
    assert img.min() >= 0 and img.max() <= 1


def test_deepdream_raises_the_objective_and_stops(tiny, xs):
    import threading

    x = xs[:1]
    with torch.no_grad():
        before = tiny.features(x, ["relu2"])["relu2"].pow(2).mean()
    seen = []
    out = A.deepdream(tiny, x, "relu2", octaves=2, steps=5, jitter=2, progress=False,
                      callback=lambda i, im: seen.append(i))
    with torch.no_grad():
        after = tiny.features(out, ["relu2"])["relu2"].pow(2).mean()
    assert out.shape == x.shape and after > 1.5 * before
    assert seen == list(range(1, 11))
    stop = threading.Event()
    stop.set()
    same = A.deepdream(tiny, x, "relu2", octaves=2, steps=5, progress=False, stop=stop)
    assert same.shape == x.shape
    rc = A.deepdream(tiny, x, random_class=True, octaves=1, steps=3, progress=False)
    assert rc.shape == x.shape and (rc - x).abs().max() > 0


class RefReLU6(nn.Module):
    def __init__(self, rule):
        super().__init__()
        self.rule = rule

    def forward(self, x):
        return RefRectifier.apply(x, self.rule, 6.0)


@pytest.mark.parametrize("rule", ["guided", "deconvnet"])
def test_efficientnet_lite0_relu6_against_reference_copy(lite0, rule):
    """The real offline ImageNet net (ReLU6 modules inside timm's BatchNormAct2d) against a deep
    copy whose ReLU6 modules are replaced by the reference autograd.Function."""
    import copy

    ref = copy.deepcopy(lite0)
    n = 0
    for mod in ref.modules():
        for name, child in mod.named_children():
            if isinstance(child, nn.ReLU6):
                setattr(mod, name, RefReLU6(rule))
                n += 1
    assert n == 33
    x = nm.sample_image("chelsea", 64)
    xx = x.clone().requires_grad_(True)
    ref(xx)[0, 285].backward()
    got = A.input_gradient(lite0, x, 285, rule)
    assert max_rel_err(got, xx.grad) < 1e-5
    plain = A.input_gradient(lite0, x, 285, "gradient")
    assert max_rel_err(got, plain) > 0.1


def test_ground_truth_scores_beat_random(shapesnet):
    d = nm.data.shapes(60, seed=7)
    rows = {r["method"]: r for r in A.score_methods(shapesnet, d.images, d.masks, d.labels)}
    rnd = rows["random"]
    area = rows["mask area"]["mass_in_mask"]
    assert abs(rnd["mass_in_mask"] - area) < 0.03
    for m in ("gradient", "grad_cam"):
        assert rows[m]["pointing@0"] > rnd["pointing@0"] + 0.4, rows
        assert rows[m]["mass_in_mask"] > 2 * area
    for m in ("gradient", "deconvnet", "guided", "grad_cam"):
        # guided/deconvnet peak on the object's edge, just outside the mask: a 2 px tolerance
        assert rows[m]["pointing@2"] > rnd["pointing@2"] + 0.4, (m, rows)
        assert rows[m]["mass_in_mask"] > 2 * area, (m, rows)
