"""nm.colorize automatic: Zhang et al. 2016's bins, soft targets, rebalancing and annealed mean
against direct float64 numpy computations of the paper's formulas; the world; the shipped models."""

import json

import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import colorize as cz
from nomysticism.assets import asset, asset_path
from nomysticism.color import lab_to_rgb
from nomysticism.colorize import zhang2016 as Z
from nomysticism.colorize.world import BALL_COLOURS, BALL_L, CLASSES, world


@pytest.fixture(scope="module")
def bins():
    return Z.ab_bins()


def _numpy_prior(ab, centres, sigma):
    """Zhang et al. 2016, §2.1 written out: nearest-bin histogram p, p̃ ∝ Σ_q' exp(−d²/2σ²) p_q'."""
    x = ab.transpose(0, 2, 3, 1).reshape(-1, 2)
    d2 = ((x[:, None, :] - centres[None]) ** 2).sum(-1)
    p = np.bincount(d2.argmin(1), minlength=len(centres)) / len(x)
    smooth = np.array([sum(np.exp(-((centres[q] - centres[r]) ** 2).sum() / (2 * sigma**2)) * p[r]
                           for r in range(len(centres))) for q in range(len(centres))])
    return smooth / smooth.sum()


def test_rebalancing_weights_are_the_papers_formula(bins):
    rng = np.random.default_rng(0)
    ab = np.concatenate([rng.normal((-40, 40), 8, (600, 2)), rng.normal((45, 41), 3, (60, 2)),
                         rng.normal(0, 15, (300, 2))]).T.reshape(1, 2, 40, 24)
    c = bins.double().numpy()
    lam, sigma = 0.5, 5.0
    p_np = _numpy_prior(ab, c, sigma)
    p = Z.empirical_prior(torch.from_numpy(ab), bins, sigma)
    np.testing.assert_allclose(p.numpy(), p_np, rtol=1e-9, atol=1e-15)
    w_np = 1.0 / ((1 - lam) * p_np + lam / len(c))            # eq. 4, then E_p̃[w] = 1
    w_np /= (p_np * w_np).sum()
    w = Z.rebalance_weights(p, lam).numpy()
    np.testing.assert_allclose(w, w_np, rtol=1e-10)
    assert abs((p_np * w).sum() - 1) < 1e-12
    assert w[p_np.argmax()] < 1 < w[p_np.argmin()]            # rare colours weigh more
    np.testing.assert_allclose(Z.rebalance_weights(p, 1.0).numpy(), 1.0, rtol=1e-12)
    q = (p + 0.01) / (p + 0.01).sum()                       # λ = 0: w = 1 / (Q p̃)
    np.testing.assert_allclose(Z.rebalance_weights(q, 0.0).numpy(), 1 / (len(c) * q.numpy()), rtol=1e-9)
    # eq. 3: each pixel gets the weight of its most likely bin
    z = Z.soft_encode(torch.from_numpy(ab).float(), bins)
    v = Z.pixel_weights(z, torch.from_numpy(w))
    nearest = ((ab.transpose(0, 2, 3, 1)[..., None, :] - c) ** 2).sum(-1).argmin(-1)
    np.testing.assert_allclose(v[:, 0].numpy(), w[nearest], rtol=1e-6)


def test_soft_encoding_is_a_gaussian_on_the_five_nearest_bins(bins):
    rng = np.random.default_rng(1)
    ab = rng.uniform(-70, 70, (2, 2, 3, 5))
    z = Z.soft_encode(torch.from_numpy(ab), bins.double(), k=5, sigma=5.0).numpy()
    c = bins.double().numpy()
    assert z.shape == (2, len(c), 3, 5)
    for n in range(2):
        for y in range(3):
            for x in range(5):
                d2 = ((c - ab[n, :, y, x]) ** 2).sum(1)
                near = np.argsort(d2)[:5]
                want = np.zeros(len(c))
                want[near] = np.exp(-d2[near] / (2 * 5.0**2))
                np.testing.assert_allclose(z[n, :, y, x], want / want.sum(), rtol=1e-9, atol=1e-12)
    assert ((z > 0).sum(1) == 5).all()


def test_classification_loss_is_eq_2(bins):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, len(bins), 3, 4, generator=g, dtype=torch.float64)
    z = Z.soft_encode(torch.randn(2, 2, 3, 4, generator=g) * 30, bins).double()
    w = torch.rand(len(bins), generator=g, dtype=torch.float64) + 0.5
    lz = logits.numpy() - np.log(np.exp(logits.numpy()).sum(1, keepdims=True))
    v = w.numpy()[z.numpy().argmax(1)]
    want = -(v * (z.numpy() * lz).sum(1)).mean()
    assert float(Z.classification_loss(logits, z, w)) == pytest.approx(want, rel=1e-5)


def test_annealed_mean_goes_from_the_mean_to_the_mode(bins):
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(1, len(bins), 2, 3, generator=g, dtype=torch.float64) * 2
    z = torch.softmax(logits, 1)
    mean = torch.einsum("nqhw,qc->nchw", z, bins.double())
    mode = bins.double()[z.argmax(1)].permute(0, 3, 1, 2)
    torch.testing.assert_close(Z.annealed_mean(z, bins, T=1.0).double(), mean, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(Z.annealed_mean(logits, bins, T=1.0, logits=True).double(), mean,
                               atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(Z.annealed_mean(z, bins, T=1e-3).double(), mode, atol=1e-3, rtol=0)
    # in between: more saturated than the mean, eq. 5 written out
    f = z.numpy() ** (1 / 0.38)
    f /= f.sum(1, keepdims=True)
    want = np.einsum("nqhw,qc->nchw", f, bins.double().numpy())
    np.testing.assert_allclose(Z.annealed_mean(z, bins, T=0.38).numpy(), want, atol=1e-3)
    with pytest.raises(ValueError, match="T"):
        Z.annealed_mean(z, bins, T=0)


def test_in_gamut_bins(bins):
    assert 240 <= len(bins) <= 330                           # Q = 313 in the paper
    assert (bins % 10 == 0).all() and len(torch.unique(bins, dim=0)) == len(bins)
    # every centre is an sRGB colour at some L, up to the half-cell it may stick out by
    Ls = torch.linspace(0, 100, 401, dtype=torch.float64)
    lab = torch.stack([Ls[:, None].expand(-1, len(bins)), *bins.double().T[:, None].expand(2, 401, -1)])
    rgb = lab_to_rgb(lab[None], clip=False)[0]
    excess = ((-rgb).clamp_min(0) + (rgb - 1).clamp_min(0)).amax(0).min(0).values
    assert excess.max() < 0.2
    assert (excess < 0.02).float().mean() > 0.85
    # and every sRGB colour falls into a kept bin
    rgb = torch.rand(1, 3, 100, 100, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    q = torch.round(nm.color.rgb_to_lab(rgb)[0, 1:].reshape(2, -1).T / 10) * 10
    kept = {tuple(b) for b in bins.tolist()}
    assert all(tuple(b) in kept for b in q.tolist())


def test_world_ambiguous_objects_have_equal_lightness():
    from skimage.color import rgb2lab

    w = world(40, 32, seed=5)
    assert w.images.shape == (40, 3, 32, 32) and w.ambiguous.shape == (40, 1, 32, 32)
    assert w.ambiguous.dtype == torch.bool and w.names == CLASSES
    lab = rgb2lab(w.images.permute(0, 2, 3, 1).double().numpy())
    m = w.ambiguous[:, 0].numpy()
    assert m.sum() > 200
    np.testing.assert_allclose(lab[m][:, 0], BALL_L, atol=0.05)
    red, blue = (np.abs(lab[m][:, 1:] - np.asarray(c[1:])).max(1) < 0.5 for c in BALL_COLOURS)
    assert (red | blue).all() and red.sum() > 50 and blue.sum() > 50
    assert np.abs(lab[~m][:, 0] - BALL_L).min() < 30 and np.abs(lab[~m][:, 0] - BALL_L).mean() > 5
    # the class maps agree with the mask, and typical colours are where they should be
    assert ((w.classes == CLASSES.index("ball")) == w.ambiguous).all()
    sky = (w.classes[:, 0] == CLASSES.index("sky")).numpy()
    grass = (w.classes[:, 0] == CLASSES.index("grass")).numpy()
    assert lab[sky][:, 2].mean() < -15 and lab[grass][:, 1].mean() < -30
    torch.testing.assert_close(world(3, 32, seed=5).images, w.images[:3])


def test_automatic_shape_and_keeps_lightness():
    img = nm.sample_image("chelsea", max_side=64)
    L = cz.lightness(img)
    out = cz.automatic(img)
    assert out.shape == img.shape and out.dtype == torch.float32
    assert 0 <= out.min() and out.max() <= 1
    dL = (cz.lightness(out) - L).abs()
    assert dL.mean() < 0.5 and dL.quantile(0.99) < 3
    grey = nm.color.luminance(img)                            # (1,1,H,W)
    out_g = cz.automatic(grey, "regression")
    assert out_g.shape == (1, 3, *img.shape[-2:])
    assert (cz.lightness(out_g) - cz.lightness(grey)).abs().mean() < 0.5
    assert nm.metrics.colorfulness(out_g).item() > 1          # it did colour the grey picture
    # only L is read: the grey picture of the same L gives the same colours
    same_L = cz.lab_rgb(L, torch.zeros(1, 2, *L.shape[-2:], dtype=L.dtype)).float()
    torch.testing.assert_close(cz.automatic(same_L), cz.automatic(img), atol=1e-2, rtol=0)


@pytest.mark.parametrize("name", cz.STAGES)
def test_shipped_models_load_from_safetensors(name):
    from safetensors.torch import load_file

    assert sorted(cz.list_pretrained()) == sorted(cz.STAGES)   # ColorNets only (not the hint net)
    with asset_path(f"colorize/{name}.safetensors") as p:
        assert p.stat().st_size < 2_000_000
        sd = load_file(str(p))                                # no pickle involved
    net = cz.load_pretrained(name)
    assert set(sd) == set(net.state_dict())
    assert net.out == ("bins" if name == "zhang2016" else "ab")
    rec = json.loads(asset(f"colorize/{name}.json").read_text("utf-8"))
    assert rec == cz.pretrained_info(name)
    assert rec["recipe"]["stage"] == name and rec["seconds"] > 0 and np.isfinite(rec["final_loss"])
    assert not set(rec["recipe"]["train_photos"]) & set(rec["recipe"]["held_out"])
    ab = cz.predict_ab(net, torch.full((1, 1, 16, 16), 60.0))
    assert ab.shape == (1, 2, 16, 16) and torch.isfinite(ab).all()


@pytest.mark.parametrize("stage", ["regression", "zhang2016"])
def test_training_resumes_bit_for_bit(tmp_path, stage):
    data = world(24, 16, seed=1).images
    kw = dict(stage=stage, steps=6, batch_size=4, lr=1e-2, progress=False, callback_every=2)

    def net():
        torch.manual_seed(0)
        return cz.ColorNet(width=4, out="bins" if stage == "zhang2016" else "ab")

    a = net()
    ha = cz.train(a, data, **kw)
    b = net()
    ck = tmp_path / "ck.pt"

    def crash(step, image, hist):                  # a kill after step 4: the last save was at 3
        if step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cz.train(b, data, **kw, checkpoint=ck, checkpoint_every=3, callback=crash)
    b2 = net()
    hb = cz.train(b2, data, **kw, checkpoint=ck, checkpoint_every=3)   # resumes at 3, mid-log
    for k, v in a.state_dict().items():
        assert torch.equal(v, b2.state_dict()[k]), k
    assert ha["loss"] == hb["loss"] and ha["step"] == [2, 4, 6]


def test_errors():
    with pytest.raises(ValueError, match="stage"):
        cz.train(cz.ColorNet(width=4), torch.rand(2, 3, 8, 8), stage="gan", steps=1, progress=False)
    with pytest.raises(ValueError, match="out="):
        cz.train(cz.ColorNet(width=4), torch.rand(2, 3, 8, 8), stage="zhang2016", steps=1, progress=False)
    with pytest.raises(ValueError, match="no shipped"):
        cz.automatic(torch.rand(1, 3, 8, 8), "nonexistent")
