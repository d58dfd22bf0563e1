"""nomysticism.style: losses against float64 numpy formulas written here, gradcheck, and the optimisation."""

import threading

import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import style as S


def _np_gram(f):
    """float64 reference: G_ij = Σ_k F_ik F_jk for one (C, H, W) feature stack."""
    c = f.shape[0]
    m = f.reshape(c, -1).astype(np.float64)
    g = np.zeros((c, c))
    for i in range(c):
        for j in range(c):
            g[i, j] = np.sum(m[i] * m[j])
    return g


@pytest.fixture
def feats():
    g = torch.Generator().manual_seed(1)
    return torch.randn(2, 5, 4, 3, generator=g), torch.randn(2, 5, 4, 3, generator=g)


@pytest.mark.parametrize("normalize", ["none", "paper", "chw"])
def test_gram_matrix_matches_numpy(feats, normalize):
    f, _ = feats
    got = S.gram_matrix(f, normalize).double().numpy()
    for b in range(2):
        ref = _np_gram(f[b].numpy())
        if normalize == "chw":
            ref = ref / (5 * 4 * 3)
        np.testing.assert_allclose(got[b], ref, rtol=1e-5, atol=1e-5)


def test_gram_matrix_rejects_unknown_normalisation(feats):
    with pytest.raises(ValueError, match="normalize"):
        S.gram_matrix(feats[0], "bogus")


def test_content_loss_matches_float64(feats):
    f, p = feats
    ref = 0.5 * np.sum((f.numpy().astype(np.float64) - p.numpy()) ** 2)
    assert S.content_loss(f, p).item() == pytest.approx(ref, rel=1e-5)
    assert S.content_loss(f, p, "mean").item() == pytest.approx(ref / f.numel(), rel=1e-5)


def test_style_loss_matches_paper_eq4(feats):
    f, s = feats
    loss = S.style_loss(f, S.gram_matrix(s, "paper"), "paper").item()
    n_l, m_l = 5, 4 * 3
    ref = 0.0
    for b in range(2):
        g, a = _np_gram(f[b].numpy()), _np_gram(s[b].numpy())
        ref += np.sum((g - a) ** 2) / (4.0 * n_l**2 * m_l**2)
    assert loss == pytest.approx(ref, rel=1e-5)
    # the tutorials' convention: mean over the Gram entries of (G/(CHW) − A/(CHW))²
    chw = S.style_loss(f, S.gram_matrix(s, "chw"), "chw").item()
    ref_chw = np.mean([np.mean((_np_gram(f[b].numpy()) / 60 - _np_gram(s[b].numpy()) / 60) ** 2) for b in range(2)])
    assert chw == pytest.approx(ref_chw, rel=1e-5)


def test_mean_statistic_loss_matches_float64(feats):
    f, s = feats
    mu_f = f.numpy().astype(np.float64).mean(axis=(2, 3))
    mu_s = s.numpy().astype(np.float64).mean(axis=(2, 3))
    ref = np.sum((mu_f - mu_s) ** 2) / (4 * 5)
    assert S.mean_loss(f, S.channel_means(s)).item() == pytest.approx(ref, rel=1e-5)


@pytest.mark.parametrize("exponent", [1.0, 1.25])
def test_tv_loss_matches_float64(exponent):
    x = torch.rand(1, 3, 6, 7, generator=torch.Generator().manual_seed(2))
    a = x.numpy().astype(np.float64)[0]
    ref = 0.0
    for c in range(3):
        for i in range(5):
            for j in range(6):
                d = (a[c, i, j + 1] - a[c, i, j]) ** 2 + (a[c, i + 1, j] - a[c, i, j]) ** 2
                ref += d**exponent
    assert S.tv_loss(x, exponent).item() == pytest.approx(ref, rel=1e-4)


def test_gradcheck_losses():
    g = torch.Generator().manual_seed(3)
    f = torch.randn(1, 3, 3, 2, dtype=torch.float64, generator=g, requires_grad=True)
    a = S.gram_matrix(torch.randn(1, 3, 3, 2, dtype=torch.float64, generator=g))
    p = torch.randn(1, 3, 3, 2, dtype=torch.float64, generator=g)
    m = torch.randn(1, 3, dtype=torch.float64, generator=g)
    assert torch.autograd.gradcheck(lambda t: S.style_loss(t, a), (f,))
    assert torch.autograd.gradcheck(lambda t: S.style_loss(t, a / 18, "chw"), (f,))
    assert torch.autograd.gradcheck(lambda t: S.content_loss(t, p), (f,))
    assert torch.autograd.gradcheck(lambda t: S.mean_loss(t, m), (f,))
    x = torch.rand(1, 3, 4, 4, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: S.tv_loss(t, 1.25), (x,))


def test_yuv_round_trip_and_bt601_luma():
    x = torch.rand(1, 3, 5, 5, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(S.yuv_to_rgb(S.rgb_to_yuv(x)), x, atol=1e-5, rtol=0)
    y = S.rgb_to_yuv(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1))
    assert y[0, 0].item() == pytest.approx(0.299, abs=1e-6)
    grey = torch.full((1, 3, 2, 2), 0.4)
    assert S.rgb_to_yuv(grey)[:, 1:].abs().max() < 1e-5  # grey has no chroma


def test_quantize_colors_finds_the_palette():
    pal = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.1, 0.2, 0.9]])
    lab = torch.randint(0, 3, (40, 50), generator=torch.Generator().manual_seed(5))
    img = pal[lab].permute(2, 0, 1).unsqueeze(0)
    torch.testing.assert_close(S.quantize_colors(img, 3), img)
    photo = nm.sample_image("chelsea", 64)
    q = S.quantize_colors(photo, 4)
    assert q.shape == photo.shape
    assert len(torch.unique(q.flatten(2)[0].T, dim=0)) <= 4


# ------------------------------------------------------------------------------------------------
# The optimisation (efficientnet_lite0, tiny sizes)
# ------------------------------------------------------------------------------------------------


def test_texture_synthesis_lowers_the_loss_by_a_large_factor(lite0):
    r = S.synthesize_texture(nm.sample_image("mosaic"), size=64, steps=30, network=lite0, progress=False)
    assert r.image.shape == (1, 3, 64, 64)
    assert 0 <= r.image.min() and r.image.max() <= 1
    assert r.history[-1]["total"] < r.history[0]["total"] / 5, (r.history[0]["total"], r.history[-1]["total"])


def test_transfer_lowers_the_loss_and_unpacks(lite0):
    c, s = nm.sample_image("chelsea"), nm.sample_image("swirl")
    image, history = S.transfer(c, s, size=64, steps=25, network=lite0, progress=False)
    assert image.shape[-1] == 64 and image.shape[-2] == round(300 / 451 * 64)
    assert history[-1]["total"] < history[0]["total"] / 2
    for opt in ("adam",):
        r = S.transfer(c, s, size=48, steps=25, network=lite0, optimizer=opt, progress=False)
        assert r.history[-1]["total"] < r.history[0]["total"] / 2


def test_network_runs_only_to_the_deepest_layer_and_targets_once(lite0):
    calls = {n: 0 for n in lite0.layer_names}
    hooks = [m.register_forward_hook(lambda *_, n=n: calls.__setitem__(n, calls[n] + 1))
             for n, m in lite0.layers.named_children()]
    try:
        steps = 4
        r = S.transfer(nm.sample_image("chelsea"), nm.sample_image("dots"), size=40, steps=steps,
                       network=lite0, content_layers=["block2"],
                       style_weights={"stem": 1.0, "block3": 1.0, "block5": 0.0}, progress=False)
    finally:
        for h in hooks:
            h.remove()
    assert len(r.history) == steps + 1
    # content target + style target + one pass per L-BFGS step + the final evaluation
    assert calls["stem"] == steps + 3
    assert calls["block3"] == steps + 2  # the content pass stops at block2
    assert all(calls[n] == 0 for n in ("block4", "block5", "block6", "block7", "head", "fc"))


def test_layer_weights_reach_the_loss(lite0):
    c, s = nm.sample_image("chelsea"), nm.sample_image("mosaic")
    kw = dict(size=40, steps=1, network=lite0, progress=False, content_layers=["block3"])
    a = S.transfer(c, s, style_weights={"stem": 1.0, "block1": 1.0}, **kw).history[0]
    b = S.transfer(c, s, style_weights={"stem": 10.0, "block1": 0.0}, **kw).history[0]
    assert b["style_layers"]["stem"] == pytest.approx(10 * a["style_layers"]["stem"], rel=1e-5)
    assert "block1" not in b["style_layers"]


def test_style_blend_weights(lite0):
    c, s1, s2 = nm.sample_image("chelsea"), nm.sample_image("mosaic"), nm.sample_image("waves")
    kw = dict(size=40, steps=1, network=lite0, progress=False)
    one = S.transfer(c, s1, **kw).history[0]
    blend = S.transfer(c, [s1, s2], style_blend=[2.0, 0.0], **kw).history[0]
    half = S.transfer(c, [s1, s2], style_blend=[1.0, 1.0], **kw).history[0]
    assert blend["style"] == pytest.approx(one["style"], rel=1e-5)
    assert abs(half["style"] - one["style"]) > 1e-3 * one["style"]


def test_colour_preservation_keeps_the_content_chroma(lite0):
    c, s = nm.sample_image("chelsea"), nm.sample_image("mosaic")
    kw = dict(size=48, steps=15, network=lite0, progress=False)
    plain = S.transfer(c, s, **kw).image
    cuv = S.rgb_to_yuv(nm.images.resize(c, tuple(plain.shape[-2:])))[:, 1:]

    def chroma_err(img):
        return (S.rgb_to_yuv(img)[:, 1:] - cuv).abs().mean().item()

    assert chroma_err(plain) > 0.04  # the mosaic's colours came in
    for mode in ("original_colors", "luminance"):
        kept = S.transfer(c, s, preserve_colors=mode, **kw).image
        assert chroma_err(kept) < 0.01, mode


def test_stop_and_callback(lite0):
    seen = []
    ev = threading.Event()

    def cb(step, image, losses):
        seen.append((step, image.shape, losses["total"]))
        if step >= 3:
            ev.set()

    r = S.transfer(nm.sample_image("chelsea"), nm.sample_image("dots"), size=32, steps=50, network=lite0,
                   callback=cb, callback_every=1, stop=ev, progress=False)
    assert r.stopped and len([h for h in r.history if "final" not in h]) == 3
    assert seen[0][0] == 1 and seen[0][1] == r.image.shape


def test_coarse_to_fine_and_reconstruction(lite0):
    r = S.transfer(nm.sample_image("chelsea"), nm.sample_image("mosaic"), size=[24, 40], steps=[3, 2],
                   network=lite0, progress=False)
    assert r.image.shape[-1] == 40
    assert [h["size"] for h in r.history] == [24] * 4 + [40] * 3
    rc = S.reconstruct_content(nm.sample_image("coffee"), "block2", size=40, steps=30, network=lite0,
                               progress=False)
    assert rc.history[-1]["total"] < rc.history[0]["total"] / 3
    assert rc.history[-1]["style"] == 0


def test_mean_statistic_and_palette_run(lite0):
    kw = dict(size=32, steps=5, network=lite0, progress=False)
    r = S.transfer(nm.sample_image("chelsea"), nm.sample_image("mosaic"), statistic="mean", palette=4, **kw)
    assert r.history[-1]["total"] < r.history[0]["total"]
    assert r.settings["palette"] == 4 and r.settings["statistic"] == "mean"


def test_vgg19_path_with_random_weights():
    net = nm.models.load("vgg19", pretrained=False, pooling="avg")
    assert S.defaults(net)["content_layers"] == {"relu4_2": 1.0}
    r = S.transfer(nm.sample_image("chelsea"), nm.sample_image("mosaic"), size=32, steps=3, network=net,
                   progress=False)
    assert r.image.shape[-1] == 32
    assert set(r.history[0]["style_layers"]) == {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}
    assert np.isfinite(r.history[-1]["total"])


def test_bad_arguments_are_explained(lite0):
    c = nm.sample_image("chelsea", 32)
    with pytest.raises(ValueError, match="no layer"):
        S.transfer(c, c, size=32, steps=1, network=lite0, style_weights={"conv1_1": 1.0}, progress=False)
    with pytest.raises(ValueError, match="optimizer"):
        S.transfer(c, c, size=32, steps=1, network=lite0, optimizer="sgd", progress=False)
    with pytest.raises(ValueError, match="blend"):
        S.transfer(c, [c, c], size=32, steps=1, network=lite0, style_blend=[1.0], progress=False)


def test_channels_last_gives_the_same_result():
    net = nm.models.load("efficientnet_lite0")  # its own copy: channels_last converts the module
    c, s = nm.sample_image("chelsea"), nm.sample_image("mosaic")
    a = S.transfer(c, s, size=40, steps=5, network=net, progress=False)
    b = S.transfer(c, s, size=40, steps=5, network=net, progress=False, channels_last=True)
    assert b.history[-1]["total"] == pytest.approx(a.history[-1]["total"], rel=1e-4)
    torch.testing.assert_close(a.image, b.image, atol=1e-4, rtol=0)


def test_bf16_autocast_stays_close_to_fp32(lite0):
    c, s = nm.sample_image("chelsea"), nm.sample_image("mosaic")
    kw = dict(size=40, steps=5, network=lite0, progress=False)
    a = S.transfer(c, s, **kw)
    b = S.transfer(c, s, precision="bf16", **kw)
    assert b.history[-1]["total"] == pytest.approx(a.history[-1]["total"], rel=0.05)
    assert b.image.dtype == torch.float32
