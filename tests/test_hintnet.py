"""nm.colorize.hintnet: Zhang et al. 2017's local hints network — its input X = [L, M, U_ab], the
simulated user of §3.3, the U-Net at any size, the pull-push fill, bit-for-bit resume, and the
shipped model on a held-out photo."""

import json

import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import colorize as cz
from nomysticism.assets import asset, asset_path
from nomysticism.color import lab_to_rgb, rgb_to_lab
from nomysticism.colorize import hintnet as hn
from nomysticism.colorize import hintnet_train as ht


def test_input_encoding_is_mask_and_hint_ab_exactly_at_the_hints():
    hints = [(3, 4, (0.9, 0.2, 0.1)), (10, 1, (0.1, 0.3, 0.8)), (0, 0, (0.2, 0.7, 0.3))]
    H, W = 12, 9
    L = torch.rand(1, 1, H, W, dtype=torch.float64) * 100
    mask, ab = cz.hint_maps(hints, (H, W), dtype=torch.float64)
    X = hn.encode(L, mask, ab)
    assert X.shape == (1, 4, H, W) and X.dtype == torch.float32
    # direct computation: the hints' own CIE a, b at their pixels, 0 and M = 0 everywhere else
    m_np, u_np = np.zeros((H, W)), np.zeros((2, H, W))
    for y, x, rgb in hints:
        lab = rgb_to_lab(torch.tensor(rgb, dtype=torch.float64).view(1, 3, 1, 1))[0, :, 0, 0].numpy()
        m_np[y, x], u_np[:, y, x] = 1, lab[1:]
    np.testing.assert_array_equal(X[0, 1].numpy(), m_np)                      # M: 1 exactly at hints
    np.testing.assert_allclose(X[0, 2:].double().numpy() * hn.AB_NORM, u_np, atol=1e-4)
    assert (X[0, 2:][:, ~torch.from_numpy(m_np).bool()] == 0).all()           # U_ab: 0 elsewhere
    np.testing.assert_allclose(X[0, 0].numpy(), (L[0, 0].numpy() - 50) / 100, atol=1e-6)
    # ab under a zero mask never leaks into U_ab
    assert (hn.encode(L, torch.zeros_like(mask), torch.randn_like(ab))[:, 2:] == 0).all()


def test_hint_count_is_geometric_with_mean_one_over_p_minus_one():
    g = torch.Generator().manual_seed(0)
    for p in (1 / 8, 1 / 3):
        k = ht.sample_count(40_000, p, g).numpy()
        assert k.min() == 0
        assert abs(k.mean() - (1 / p - 1)) < 0.03 * (1 / p)             # SE ≈ 0.04 for p = 1/8
        assert abs((k == 0).mean() - p) < 0.01                           # P(0) = p
        assert abs((k == 2).mean() - (1 - p) ** 2 * p) < 0.01


def test_hint_patches_are_the_mean_colour_of_their_patch():
    g = torch.Generator().manual_seed(1)
    H, W = 40, 56
    ab = torch.randn(2, H, W, dtype=torch.float64) * 30
    patches = ht.sample_patches(H, W, 30, max_patch=9, gaussian=0.5, generator=g)
    assert {n for _, _, n in patches} <= set(range(1, 10)) and len({n for _, _, n in patches}) > 3
    assert all(0 <= y <= H - n and 0 <= x <= W - n for y, x, n in patches)
    mask, hint = ht.patch_hints(ab, patches)
    a, m_np, u_np = ab.numpy(), np.zeros((H, W), bool), np.zeros((2, H, W))
    for y, x, n in patches:                     # later patches overwrite earlier ones
        m_np[y:y + n, x:x + n] = True
        u_np[:, y:y + n, x:x + n] = a[:, y:y + n, x:x + n].reshape(2, -1).mean(1)[:, None, None]
    np.testing.assert_array_equal(mask[0].numpy(), m_np)
    np.testing.assert_allclose(hint.numpy(), u_np, rtol=1e-12, atol=1e-12)
    # the batch sampler: patch sides scaled from 9 px at 256 px (2 at 64 px); centred positions
    mask, hint = ht.simulate_hints(torch.randn(64, 2, 64, 64), generator=g)
    assert mask.shape == (64, 1, 64, 64) and hint.shape == (64, 2, 64, 64)
    assert (hint[~mask.expand_as(hint)] == 0).all()
    sides = [n for _ in range(200) for _, _, n in ht.sample_patches(64, 64, 5, 2, 1.0, g)]
    assert set(sides) == {1, 2}
    ys = np.array([y for _ in range(400) for y, _, _ in ht.sample_patches(64, 64, 5, 1, 1.0, g)])
    assert abs(ys.mean() - 32) < 1.0 and 12 < ys.std() < 18          # Gaussian, σ = 64 / 4
    ys = np.array([y for _ in range(400) for y, _, _ in ht.sample_patches(64, 64, 5, 1, 0.0, g)])
    assert abs(ys.std() - 64 / 12**0.5) < 1.5                          # uniform


def test_pull_push_fill_keeps_hints_and_stops_at_edges():
    H, W = 16, 24
    guide = torch.zeros(1, 1, H, W)
    guide[..., 12:] = 60                                   # a step edge in L at x = 12
    m = torch.zeros(1, 1, H, W)
    u = torch.zeros(1, 2, H, W)
    for (y, x), ab in (((3, 2), (40.0, -10.0)), ((12, 20), (-30.0, 25.0))):
        m[0, 0, y, x] = 1
        u[0, :, y, x] = torch.tensor(ab)
    fill = hn.pull_push(m, u, guide, sigma=6.0)[0]
    assert fill.shape == (1, 2, H, W)
    torch.testing.assert_close(fill[0, :, 3, 2], torch.tensor([40.0, -10.0]))
    left, right = torch.tensor([40.0, -10.0]), torch.tensor([-30.0, 25.0])   # 70 ab units apart
    torch.testing.assert_close(fill[..., :12], left.view(1, 2, 1, 1).expand(1, 2, H, 12), atol=0.05, rtol=0)
    torch.testing.assert_close(fill[..., 12:], right.view(1, 2, 1, 1).expand(1, 2, H, 12), atol=0.05, rtol=0)
    plain = hn.pull_push(m, u)[0]                          # no guide: the colours blend across
    assert plain[0, 0, 8, 11] < 35 and plain[0, 0, 8, 13] > -25


@pytest.mark.parametrize("shape", [(37, 51), (1, 1), (9, 64)])
def test_network_runs_at_any_size(shape):
    torch.manual_seed(0)
    net = hn.HintNet(width=4, depth=3, max_width=8).eval()
    L = torch.rand(2, 1, *shape) * 100
    mask = torch.rand(2, 1, *shape) < 0.1
    with torch.no_grad():
        out = net(hn.encode(L, mask, torch.randn(2, 2, *shape) * 20))
    assert out.shape == (2, 2, *shape) and torch.isfinite(out).all()


def test_from_hints_network_keeps_the_lightness_and_runs_at_odd_sizes():
    img = nm.sample_image("chelsea", max_side=67)                   # 45 × 67, held out
    hints = cz.sample_hints(img, 30, seed=0)
    out = cz.from_hints(img, hints, method="network")
    assert out.shape == img.shape and out.dtype == torch.float32
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    L = cz.lightness(img)
    ab = cz.METHODS["network"](L, *cz.hint_maps(hints, img.shape[-2:], dtype=torch.float64))
    assert ab.shape == (1, 2, 45, 67)
    lab = torch.cat([L, ab.to(L)], 1)
    raw = lab_to_rgb(lab, clip=False)
    inside = ((raw >= 0) & (raw <= 1)).all(1)                       # where no clipping happened
    assert inside.float().mean() > 0.8
    L_out = rgb_to_lab(out.double())[:, 0]
    np.testing.assert_allclose(L_out[inside].numpy(), L[:, 0][inside].numpy(), atol=2e-3)
    # hint pixels keep their hint's chroma
    y, x, rgb = hints[0]
    hint_ab = rgb_to_lab(torch.tensor(rgb, dtype=torch.float64).view(1, 3, 1, 1))[0, 1:, 0, 0]
    torch.testing.assert_close(ab[0, :, y, x].double(), hint_ab, atol=1e-4, rtol=0)


def test_shipped_model_beats_grey_on_a_held_out_photo():
    info = hn.hintnet_info()
    assert set(info["train_photos"]).isdisjoint(info["held_out_photos"])
    assert {"astronaut", "coffee", "chelsea"} <= set(info["held_out_photos"])
    assert info["bytes"] < 2_000_000 and asset("colorize/hintnet.safetensors").is_file()
    with asset_path("colorize/hintnet.safetensors") as p:
        assert p.stat().st_size < 2_000_000
    assert hn.pretrained_hintnet() is hn.pretrained_hintnet()        # loaded once
    img = nm.sample_image("astronaut", max_side=256)
    grey = lab_to_rgb(torch.cat([cz.lightness(img), torch.zeros(1, 2, 256, 256, dtype=torch.float64)], 1))
    out = cz.from_hints(img, cz.sample_hints(img, 50, seed=0), method="network")
    gain = float(nm.metrics.psnr(out, img) - nm.metrics.psnr(grey.float(), img))
    assert gain > 3, gain


def test_training_resumes_bit_for_bit(tmp_path):
    recipe = {"n_crops": 8, "size": 16, "batch_size": 4, "lr": 1e-2}
    data = ht.training_data(recipe)
    cfg = {"width": 4, "depth": 2, "max_width": 8}

    def fresh():
        torch.manual_seed(0)
        return hn.HintNet(**cfg)

    full = fresh()
    h_full = ht.train_hintnet(full, data, steps=4, recipe=recipe, device="cpu", progress=False,
                              callback_every=1)
    ck = tmp_path / "hint.pt"
    part = fresh()
    ht.train_hintnet(part, data, steps=4, recipe=recipe, device="cpu", progress=False, checkpoint=ck,
                     checkpoint_every=1, callback=lambda step, im, h: step == 2, callback_every=1)
    assert torch.load(ck, weights_only=True)["step"] == 2           # stopped after step 2
    resumed = fresh()
    h_res = ht.train_hintnet(resumed, data, steps=4, recipe=recipe, device="cpu", progress=False,
                             checkpoint=ck, checkpoint_every=1, callback_every=1)
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    assert h_res["loss"] == h_full["loss"] and h_res["step"] == [1, 2, 3, 4]
    # the saved file round-trips
    path = hn.save_hintnet(resumed, tmp_path / "h.safetensors", {"recipe": recipe})
    back = hn.load_hintnet(path)
    assert back.config == resumed.config and json.loads(back.metadata["recipe"]) == recipe
    for a, b in zip(resumed.state_dict().values(), back.state_dict().values()):
        assert torch.equal(a, b)
