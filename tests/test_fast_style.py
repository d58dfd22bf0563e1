"""Feed-forward stylisation (Ulyanov 2016, Johnson 2016): blocks, instance norm, perceptual loss against
float64 formulas written here, training, bit-for-bit resume, export, shipped model, video, flicker."""

import json
from collections import OrderedDict
from pathlib import Path

import nomysticism as nm
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from nomysticism import fast_style as fs
from nomysticism.models import LayeredNet
from torch import nn

# ------------------------------------------------------------------------------------------------
# shapes of every block
# ------------------------------------------------------------------------------------------------


def test_block_shapes():
    x = torch.rand(2, 8, 20, 24)
    assert fs.ConvLayer(8, 16, 9, 1)(x).shape == (2, 16, 20, 24)
    assert fs.ConvLayer(8, 16, 3, 2)(x).shape == (2, 16, 10, 12)
    assert fs.ResidualBlock(8)(x).shape == x.shape
    assert fs.ResidualBlock(8, norm="batch")(x).shape == x.shape
    assert fs.UpsampleConvLayer(8, 4, 3, 2)(x).shape == (2, 4, 40, 48)
    assert fs.UpsampleConvLayer(8, 4, 3, 2, mode="transpose")(x).shape == (2, 4, 40, 48)
    assert fs.ConvBlock(8, 5)(x).shape == (2, 5, 20, 24)
    j = fs.JoinBlock(5, 3)(torch.rand(2, 5, 10, 12), torch.rand(2, 3, 20, 24))
    assert j.shape == (2, 8, 20, 24)


@pytest.mark.parametrize("hw", [(64, 64), (37, 50), (18, 31)])
@pytest.mark.parametrize("norm,up", [("instance", "nearest"), ("batch", "transpose")])
def test_transformer_net_shapes_and_range(hw, norm, up):
    net = fs.TransformerNet(width=4, norm=norm, upsample=up).eval()
    x = torch.rand(2, 3, *hw)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert 0 <= float(y.min()) and float(y.max()) <= 1


def test_transformer_net_paper_layout():
    net = fs.TransformerNet()  # width 32: c9s1-32, d64, d128, 5×R128, u64, u32, c9s1-3
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert [c.out_channels for c in convs[:3]] == [32, 64, 128]
    assert [c.kernel_size[0] for c in convs[:3]] == [9, 3, 3]
    assert [c.stride[0] for c in convs[:3]] == [1, 2, 2]
    assert len(net.res) == 5 and all(c.out_channels == 128 for c in convs[3:13])
    assert [c.out_channels for c in convs[13:]] == [64, 32, 3]
    assert isinstance(net.conv1.pad, nn.ReflectionPad2d)
    n_in = sum(isinstance(m, fs.InstanceNorm2d) for m in net.modules())
    assert n_in == 2 * 5 + 5
    # the paper's network has about 1.68 M parameters
    assert 1.6e6 < sum(p.numel() for p in net.parameters()) < 1.8e6


def test_texture_network_shapes():
    tex = fs.TextureNetwork(scales=4, channels=4)
    z = tex.noise(3, (32, 40))
    assert [tuple(t.shape) for t in z] == [(3, 3, 32, 40), (3, 3, 16, 20), (3, 3, 8, 10), (3, 3, 4, 5)]
    with torch.no_grad():
        y = tex(n=3, size=(32, 40))
    assert y.shape == (3, 3, 32, 40) and 0 <= float(y.min()) and float(y.max()) <= 1
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    tex.eval()
    assert torch.equal(tex(n=1, size=24, generator=g1), tex(n=1, size=24, generator=g2))
    sty = fs.TextureNetwork(scales=3, channels=4, norm="instance", content=True)
    x = torch.rand(2, 3, 36, 28)
    assert sty(x).shape == x.shape
    with pytest.raises(ValueError):
        sty()


# ------------------------------------------------------------------------------------------------
# instance norm
# ------------------------------------------------------------------------------------------------


def test_instance_norm_matches_functional():
    torch.manual_seed(1)
    m = fs.InstanceNorm2d(5)
    with torch.no_grad():
        m.weight.normal_()
        m.bias.normal_()
    x = torch.randn(3, 5, 7, 9) * 4 + 2
    ref = F.instance_norm(x, weight=m.weight, bias=m.bias, eps=1e-5)
    torch.testing.assert_close(m(x), ref, atol=1e-5, rtol=1e-5)
    # each image on its own: changing image 1 leaves image 0 untouched (batch norm would not)
    x2 = x.clone()
    x2[1] = x2[1] * 10 - 3
    assert torch.equal(m(x2)[0], m(x)[0])
    bn = fs.make_norm("batch", 5).train()
    assert not torch.allclose(bn(x2)[0], bn(x)[0])
    # contrast invariance: a·x + b gives the same output (a > 0)
    torch.testing.assert_close(m(3 * x + 7), m(x), atol=1e-4, rtol=1e-4)


# ------------------------------------------------------------------------------------------------
# perceptual loss against float64 formulas
# ------------------------------------------------------------------------------------------------


def _tiny_net():
    layers = OrderedDict(
        conv1=nn.Conv2d(3, 6, 3, padding=1), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2),
        conv2=nn.Conv2d(6, 8, 3, padding=1), relu2=nn.ReLU(), pool2=nn.AvgPool2d(2),
        conv3=nn.Conv2d(8, 10, 3, padding=1), relu3=nn.ReLU(),
    )
    return LayeredNet(layers, mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3), classes=["a"], name="tiny")


def _features64(net, x, names):
    """Run the net in float64 by hand (independent of LayeredNet.features)."""
    h = (x.double() - torch.tensor([0.4, 0.5, 0.6], dtype=torch.float64).view(1, 3, 1, 1)) / torch.tensor(
        [0.2, 0.25, 0.3], dtype=torch.float64).view(1, 3, 1, 1)
    out = {}
    for name, layer in net.layers.named_children():
        if isinstance(layer, nn.Conv2d):
            h = F.conv2d(h, layer.weight.double(), layer.bias.double(), padding=1)
        else:
            h = layer(h)
        out[name] = h.numpy()
    return {k: out[k] for k in names}


def _gram64(f):  # f: (N, C, H, W) numpy -> (N, C, C) / (C H W)
    n, c, h, w = f.shape
    a = f.reshape(n, c, h * w)
    return np.einsum("nik,njk->nij", a, a) / (c * h * w)


@pytest.mark.parametrize("relative", [False, True])
def test_perceptual_loss_matches_float64(relative):
    torch.manual_seed(3)
    net = _tiny_net().eval().requires_grad_(False)
    style = torch.rand(1, 3, 24, 20)
    out = torch.rand(2, 3, 16, 16)
    content = torch.rand(2, 3, 16, 16)
    sl, cl = ["relu1", "relu2", "relu3"], ["relu2"]
    loss = fs.PerceptualLoss(net, style_layers=sl, content_layers=cl, content_weight=2.0,
                             style_weight=30.0, tv_weight=0.01, style_image=style, relative_style=relative)
    total, parts = loss(out, content)

    fo, fc, fs_ = _features64(net, out, sl), _features64(net, content, cl), _features64(net, style, sl)
    style64 = 0.0
    for k in sl:
        a = _gram64(fs_[k])[0]
        d = ((_gram64(fo[k]) - a[None]) ** 2).sum(axis=(1, 2)).mean()
        style64 += d / (a**2).sum() if relative else d
    content64 = np.mean((fo["relu2"] - fc["relu2"]) ** 2)
    o = out.double().numpy()
    dx = o[..., :-1, 1:] - o[..., :-1, :-1]
    dy = o[..., 1:, :-1] - o[..., :-1, :-1]
    tv64 = (dx**2 + dy**2).sum() / 2
    total64 = 2.0 * content64 + 30.0 * style64 + 0.01 * tv64
    assert float(parts["style"]) == pytest.approx(style64, rel=1e-4)
    assert float(parts["content"]) == pytest.approx(content64, rel=1e-4)
    assert float(parts["tv"]) == pytest.approx(tv64, rel=1e-4)
    assert float(total) == pytest.approx(total64, rel=1e-4)
    # identical content gives zero content loss; the gradient reaches the image
    out.requires_grad_(True)
    t, p = loss(out, out.detach())
    assert float(p["content"].detach()) == 0.0
    t.backward()
    assert out.grad is not None and out.grad.abs().sum() > 0


def test_vgg16_loss_layers_exist():
    net = nm.models.load("vgg16", pretrained=False)
    loss = fs.PerceptualLoss(net, style_image=torch.rand(1, 3, 32, 32))
    assert loss.style_layers == ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    assert loss.content_layers == ["relu2_2"] and loss.relative_style is False
    total, parts = loss(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))
    assert torch.isfinite(total)


# ------------------------------------------------------------------------------------------------
# training, checkpoints, export
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lite0_loss():
    return fs.PerceptualLoss("efficientnet_lite0", content_weight=1.0, style_weight=200.0,
                             tv_weight=1e-3, style_image=nm.sample_image("mosaic", 128))


def test_training_lowers_the_loss(lite0_loss):
    torch.manual_seed(0)
    model = fs.TransformerNet(width=8)
    data = nm.data.random_crops(16, 64, seed=1)
    fixed = nm.data.random_crops(4, 64, seed=99)
    with torch.no_grad():
        before = float(lite0_loss(model.eval()(fixed), fixed)[0])
    hist = fs.train(model, None, data, steps=30, batch_size=4, image_size=64, lr=5e-3, loss=lite0_loss,
                    log_every=10, progress=False)
    with torch.no_grad():
        after = float(lite0_loss(model.eval()(fixed), fixed)[0])
    assert hist["step"] == [10, 20, 30]
    assert after < 0.85 * before, (before, after)


def _tiny_loss():
    torch.manual_seed(5)
    net = _tiny_net().eval().requires_grad_(False)
    return fs.PerceptualLoss(net, style_layers=["relu1", "relu2"], content_layers=["relu2"],
                             style_weight=10.0, tv_weight=1e-3, style_image=nm.sample_image("stripes", 32))


@pytest.mark.parametrize("kind", ["transformer", "texture"])
def test_resume_is_bit_for_bit(tmp_path, kind):
    def make():
        torch.manual_seed(7)
        if kind == "transformer":
            return fs.TransformerNet(width=4)
        return fs.TextureNetwork(scales=3, channels=4)

    data = nm.data.random_crops(10, 32, seed=2)
    kw = dict(steps=8, batch_size=3, image_size=32, lr=1e-2, log_every=1, progress=False, seed=11)

    ref = make()
    h_ref = fs.train(ref, None, data, loss=_tiny_loss(), **kw)

    import threading

    stop = threading.Event()
    ck = tmp_path / "run.pt"
    a = make()
    h_a = fs.train(a, None, data, loss=_tiny_loss(), checkpoint=ck, checkpoint_every=100,
                   callback=lambda step, out, h: stop.set() if step == 3 else None, stop=stop, **kw)
    assert h_a["step"][-1] == 3
    st = nm.checkpoint.load_checkpoint(ck)  # weights_only=True
    assert st["step"] == 3 and "optimizer" in st and "rng" in st
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # atomic: no leftovers

    b = make()  # a fresh process would start like this
    torch.manual_seed(12345)  # a different global RNG state must not matter
    h_b = fs.train(b, None, data, loss=_tiny_loss(), checkpoint=ck, **kw)
    assert h_b["step"] == h_ref["step"]
    assert h_b["loss"] == h_ref["loss"]
    for (k, p), q in zip(ref.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), k
    assert nm.checkpoint.load_checkpoint(ck)["step"] == 8


def test_train_on_an_image_folder(tmp_path):
    for i, name in enumerate(["coffee", "rocket", "coins"]):
        nm.save_image(nm.sample_image(name, 80), tmp_path / "imgs" / f"{i}.jpg")
    (tmp_path / "imgs" / "broken.jpg").write_bytes(b"not an image")
    model = fs.TransformerNet(width=4)
    with pytest.warns(UserWarning, match="broken"):
        hist = fs.train(model, "dots", tmp_path / "imgs", steps=4, batch_size=2, image_size=32, loss=_tiny_loss(),
                        log_every=2, progress=False)
    assert hist["step"] == [2, 4] and all(np.isfinite(hist["loss"]))


def test_texture_network_trains_for_stylisation():
    torch.manual_seed(0)
    net = fs.TextureNetwork(scales=3, channels=4, norm="instance", content=True)
    data = nm.data.random_crops(6, 32, seed=3)
    fixed = nm.data.random_crops(2, 32, seed=4)
    loss = _tiny_loss()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        before = float(loss(net.eval()(fixed, generator=g), fixed)[0])
    fs.train(net, None, data, steps=25, batch_size=3, image_size=32, lr=1e-2, loss=loss, progress=False)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        after = float(loss(net.eval()(fixed, generator=g), fixed)[0])
    assert after < 0.85 * before, (before, after)
    assert fs.stylize(net, fixed).shape == fixed.shape


def test_export_round_trip(tmp_path):
    m = fs.TransformerNet(width=4, norm="batch", upsample="transpose").eval()
    path = fs.export(m, tmp_path / "m.safetensors", metadata={"style": "stripes"})
    m2 = fs.load_model(path)
    assert m2.config == m.config and m2.metadata["style"] == "stripes"
    x = torch.rand(1, 3, 20, 28)
    assert torch.equal(m(x), m2(x))
    assert torch.equal(fs.load_pretrained(str(path))(x), m(x))
    with pytest.raises(ValueError, match="no shipped model"):
        fs.load_pretrained("no-such-style")
    half = fs.TransformerNet(width=4).to(torch.bfloat16)  # e.g. after bf16 training on a GPU
    fs.export(half, tmp_path / "h.safetensors")
    assert next(half.parameters()).dtype == torch.bfloat16  # the caller's model is left alone
    assert next(fs.load_model(tmp_path / "h.safetensors").parameters()).dtype == torch.float32


# ------------------------------------------------------------------------------------------------
# the shipped model
# ------------------------------------------------------------------------------------------------


def test_shipped_model_is_small_trained_and_stylises(lite0_loss):
    names = fs.list_pretrained()
    assert "mosaic" in names
    root = Path(nm.__file__).parent / "assets" / "fast_style"
    assert sum(p.stat().st_size for p in root.iterdir() if p.is_file()) < 10e6
    info = json.loads((root / "mosaic.json").read_text())
    curve = info["curve"]["loss"]
    assert info["recipe"]["script"] == "scripts/train_fast_style.py"
    assert np.mean(curve[-5:]) < 0.7 * np.mean(curve[:2])  # it was trained
    model = fs.load_pretrained("mosaic")
    x = nm.sample_image("chelsea", 160)
    y = fs.stylize(model, x)
    assert y.shape == x.shape
    # further from the photo than a small edit, and in the mosaic's Gram statistics, much closer to
    # the style than the photo itself is
    assert float((y - x).abs().mean()) > 0.08
    with torch.no_grad():
        s_photo = float(lite0_loss(x, x)[1]["style"])
        s_out = float(lite0_loss(y, x)[1]["style"])
    assert s_out < 0.5 * s_photo, (s_out, s_photo)


def test_shipped_texture_network(lite0_loss):
    assert fs.list_pretrained("texture") == ["mosaic_texture"]
    assert "mosaic_texture" not in fs.list_pretrained("style") and "mosaic" in fs.list_pretrained("style")
    info = fs.pretrained_info("mosaic_texture")
    assert info["recipe"]["architecture"]["arch"] == "TextureNetwork"
    curve = info["curve"]["loss"]
    assert np.mean(curve[-3:]) < 0.5 * np.mean(curve[:2])
    tex = fs.load_pretrained("mosaic_texture")
    with torch.no_grad():
        a = tex(n=2, size=128, generator=torch.Generator().manual_seed(0))
        # its Gram statistics are much closer to the mosaic's than those of uniform noise or a photo
        s_tex = float(lite0_loss(a, None)[1]["style"])  # averaged over the batch
        s_noise = float(lite0_loss(torch.rand(1, 3, 128, 128), None)[1]["style"])
        s_photo = float(lite0_loss(nm.sample_image("coffee", 128), None)[1]["style"])
    assert s_tex < 0.3 * min(s_noise, s_photo), (s_tex, s_noise, s_photo)
    assert float((a[0] - a[1]).abs().mean()) > 0.1  # different noise, a different texture


def test_stylize_accepts_batches_and_odd_sizes():
    m = fs.TransformerNet(width=4)
    y = fs.stylize(m, torch.rand(3, 33, 47), batch_size=2)
    assert y.shape == (1, 3, 33, 47) and y.dtype == torch.float32
    y = fs.stylize(m, torch.rand(5, 3, 16, 16), batch_size=2)
    assert y.shape == (5, 3, 16, 16)
    assert m.training  # stylize restores the mode


# ------------------------------------------------------------------------------------------------
# video, flow, flicker
# ------------------------------------------------------------------------------------------------


def test_warp_matches_a_shift():
    img = torch.rand(1, 3, 20, 30)
    flow = np.zeros((20, 30, 2), np.float32)
    flow[..., 0] = 3.0  # out[y, x] = img[y, x + 3]
    flow[..., 1] = -2.0
    out = fs.warp(img, flow)
    torch.testing.assert_close(out[..., 2:, :-3], img[..., :-2, 3:])


def test_farneback_recovers_a_pan():
    clip = fs.synthetic_clip(2, (96, 128), speed=3.0, zoom=0.0)
    flow = fs.farneback_flow(clip[1], clip[0])  # frame1[y,x] ≈ frame0[y+dy, x+dx]
    inner = flow[16:-16, 16:-16]
    # the window moves right/down by (speed, 0.3·speed) source px = (3, 0.9)/1.6 output px... measured
    # against the clip's own geometry: warping frame 0 by the flow must reproduce frame 1
    err_flow = (fs.warp(clip[0:1], flow) - clip[1:2])[..., 16:-16, 16:-16].abs().mean()
    err_none = (clip[0:1] - clip[1:2])[..., 16:-16, 16:-16].abs().mean()
    assert err_flow < 0.5 * err_none
    assert np.median(inner[..., 0]) > 1.0  # content moves left in the image: positive dx


def test_flicker_formula():
    torch.manual_seed(0)
    c = torch.rand(5, 3, 8, 8)
    s = torch.rand(5, 3, 8, 8)
    ref = np.mean([np.abs(s[t].numpy() - s[t - 1].numpy()).mean() for t in range(1, 5)]) / np.mean(
        [np.abs(c[t].numpy() - c[t - 1].numpy()).mean() for t in range(1, 5)])
    assert fs.flicker(s, c) == pytest.approx(ref, rel=1e-5)
    assert fs.flicker(c, c) == pytest.approx(1.0)
    assert fs.flicker(torch.zeros(5, 3, 8, 8), c) == 0.0


def test_video_round_trip_and_temporal_consistency(tmp_path):
    clip = fs.synthetic_clip(9, (48, 64))
    src = fs.write_video(clip, tmp_path / "in.mp4", fps=12)
    frames, fps = fs.read_video(src)
    assert frames.shape == (9, 3, 48, 64) and fps == pytest.approx(12)
    torch.manual_seed(0)
    model = fs.TransformerNet(width=4).eval()
    res = fs.stylize_video(model, src, tmp_path / "out.mp4", progress=False)
    back, _ = fs.read_video(res["path"])
    assert back.shape == (9, 3, 48, 64)
    odd = fs.stylize_video(model, clip[:, :, :47, :63], tmp_path / "odd.mp4", max_frames=4,
                           progress=False)
    assert odd["frames"].shape == (4, 3, 47, 63)
    assert fs.read_video(odd["path"])[0].shape[0] == 4
    # temporal blending lowers flicker; per-frame noise makes a flickery "stylisation" to fix
    noisy = lambda x: (x + 0.2 * torch.randn_like(x)).clamp(0, 1)  # noqa: E731

    class Noisy(nn.Module):
        def __init__(self):
            super().__init__()
            self.p = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return noisy(x)

    plain = fs.stylize_frames(Noisy(), clip, progress=False)
    smooth = fs.stylize_frames(Noisy(), clip, temporal=0.7, progress=False)
    assert fs.flicker(smooth, clip) < 0.8 * fs.flicker(plain, clip)


# ------------------------------------------------------------------------------------------------
# recipes, the progress contract, streamed video
# ------------------------------------------------------------------------------------------------


def test_recipes_are_the_one_set_of_defaults():
    import inspect

    from nomysticism.fast_style.recipes import TRAIN_KEYS

    sig = inspect.signature(fs.train).parameters
    assert {k: sig[k].default for k in TRAIN_KEYS} == fs.train_kwargs("default")
    # the shipped models were trained with these recipes
    for name, rec in (("mosaic", "cpu_demo"), ("mosaic_texture", "cpu_texture")):
        r, shipped = fs.recipe(rec), fs.pretrained_info(name)["recipe"]
        assert fs.build_model(r["model"]).config == shipped["architecture"]
        for key, old in (("image_size", "size"), ("batch_size", "batch"), ("steps", "steps"), ("lr", "lr"),
                         ("content_weight", "content_weight"), ("style_weight", "style_weight"),
                         ("tv_weight", "tv_weight"), ("loss_net", "loss_net"), ("style_size", "style_size"),
                         ("seed", "seed")):
            assert r[key] == shipped[old], (rec, key)
    assert fs.recipe("cpu_demo", steps=5)["steps"] == 5 and fs.RECIPES["cpu_demo"]["steps"] == 1000
    with pytest.raises(ValueError, match="no recipe"):
        fs.recipe("nope")


def test_train_stopped_between_logs_reports_once_more(tmp_path):
    import threading

    stop, seen, calls = threading.Event(), [], {"n": 0}
    base = _tiny_loss()

    class Stopping(nn.Module):  # sets the stop event during step 7 (not a logging step)
        def __init__(self):
            super().__init__()
            self.inner, self.net, self.target_grams = base, base.net, base.target_grams

        def forward(self, out, x):
            calls["n"] += 1
            if calls["n"] == 7:
                stop.set()
            return self.inner(out, x)

    hist = fs.train(fs.TransformerNet(width=4), None, nm.data.random_crops(6, 32, seed=0), steps=20,
                    batch_size=2, image_size=32, loss=Stopping(), log_every=5, progress=False, stop=stop,
                    checkpoint=tmp_path / "c.pt", callback=lambda step, out, h: seen.append(step))
    assert hist["step"] == [5] and seen == [5, 7]
    assert nm.checkpoint.load_checkpoint(tmp_path / "c.pt")["step"] == 7


def test_stylize_video_streams_in_constant_memory(tmp_path, monkeypatch):
    import importlib

    fsv = importlib.import_module("nomysticism.fast_style.video")
    clip = fs.synthetic_clip(10, (48, 64))
    src = fs.write_video(clip, tmp_path / "in.mp4", fps=10)

    def no_whole_clip(*a, **k):
        raise AssertionError("stylize_video must stream, not read the whole clip")

    monkeypatch.setattr(nm.video, "read_video", no_whole_clip)
    torch.manual_seed(0)
    model = fs.TransformerNet(width=4).eval()
    full = fs.stylize_video(model, src, tmp_path / "a.mp4", temporal=0.5, keep_frames=True, progress=False)
    streamed = fs.stylize_video(model, src, tmp_path / "b.mp4", temporal=0.5, keep_frames=False,
                                progress=False)
    assert streamed["frames"] is None and streamed["content"] is None
    assert streamed["n_frames"] == 10 and streamed["size"] == (48, 64) and streamed["fps"] == pytest.approx(10)
    # the online flicker is the metric on the whole clip
    assert streamed["flicker"] == pytest.approx(fs.flicker(full["frames"], full["content"]), rel=1e-5)
    assert torch.equal(full["frames"], fs.stylize_frames(model, full["content"], temporal=0.5, progress=False))
    assert nm.video.info(streamed["path"]).frames == 10
    # keep_frames=None: short clips are kept, long ones (over the budget) are not; without dst, kept
    assert fs.stylize_video(model, src, tmp_path / "c.mp4", progress=False)["frames"].shape == (10, 3, 48, 64)
    monkeypatch.setattr(fsv, "KEEP_FRAMES_BYTES", 10_000)
    assert fs.stylize_video(model, src, tmp_path / "d.mp4", progress=False)["frames"] is None
    assert fs.stylize_video(model, src, None, max_frames=3, progress=False)["frames"].shape[0] == 3
    # a failure mid-way leaves no output file and no temp file (Writer is atomic)

    class Breaks(nn.Module):
        def __init__(self):
            super().__init__()
            self.p, self.n = nn.Parameter(torch.zeros(1)), 0

        def forward(self, x):
            self.n += 1
            if self.n == 4:
                raise RuntimeError("boom")
            return x

    with pytest.raises(RuntimeError, match="boom"):
        fs.stylize_video(Breaks(), src, tmp_path / "broken.mp4", progress=False)
    assert not [p for p in tmp_path.iterdir() if "broken" in p.name]
