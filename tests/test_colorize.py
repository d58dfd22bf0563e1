"""nm.colorize: Levin et al. 2004 against a dense solve of the paper's system, edges, hints, files."""

import json
import time

import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import colorize as cz
from nomysticism.color import lab_to_rgb, rgb_to_lab
from nomysticism.metrics import psnr

RED, BLUE = (0.8, 0.1, 0.1), (0.1, 0.2, 0.9)


def dense_levin(Y, mask, ab, eps, kappa):
    """Levin et al. 2004 eq. 1–2 written out pixel by pixel: a dense (HW × HW) float64 system."""
    H, W = Y.shape
    A, b = np.eye(H * W), np.zeros((H * W, ab.shape[0]))
    for y in range(H):
        for x in range(W):
            r = y * W + x
            if mask[y, x]:
                b[r] = ab[:, y, x]
                continue
            window = [(i, j) for i in range(y - 1, y + 2) for j in range(x - 1, x + 2)
                      if 0 <= i < H and 0 <= j < W]
            sigma2 = max(kappa * np.var([Y[p] for p in window]), eps)
            neighbours = [p for p in window if p != (y, x)]
            w = np.array([np.exp(-(Y[y, x] - Y[p]) ** 2 / (2 * sigma2)) for p in neighbours])
            for (i, j), wi in zip(neighbours, w / w.sum()):
                A[r, i * W + j] -= wi
    return np.linalg.solve(A, b).T.reshape(ab.shape), A


@pytest.mark.parametrize("shape", [(6, 7), (1, 9), (7, 3)])
@pytest.mark.parametrize("kappa", [cz.KAPPA, 1.0])
def test_levin_matches_dense_solve_of_the_paper(shape, kappa):
    rng = np.random.default_rng(1)
    Y = rng.uniform(0, 1, shape)
    Y[: min(3, shape[0]), :3] = 0.5  # a flat patch: σ² hits the floor there
    Y[:, -1] += 0.4  # and a step edge
    mask = np.zeros(shape, bool)
    mask.flat[[0, Y.size // 2, Y.size - 1]] = True
    ab = rng.uniform(-60, 60, (2, *shape))
    ref, A = dense_levin(Y, mask, ab, cz.EPS, kappa)
    got = cz.levin_solve(Y, mask, ab, kappa=kappa)
    np.testing.assert_allclose(got, ref, atol=1e-6, rtol=0)
    # eq. 1 at its minimum: every free pixel is the weighted mean of its neighbours (J = 0)
    resid = A @ got.reshape(2, -1).T
    assert np.abs(resid[~mask.ravel()]).max() < 1e-9
    # and the sparse W is the dense one
    Wd = np.eye(Y.size) - A
    Ws = cz.levin_weights(Y, kappa=kappa).toarray()
    free = ~mask.ravel()
    np.testing.assert_allclose(Ws[free], Wd[free], atol=1e-12)
    np.testing.assert_allclose(Ws.sum(1), 1.0, atol=1e-12)


def test_hints_are_reproduced_exactly():
    img = nm.sample_image("astronaut", max_side=64)
    hints = cz.sample_hints(img, 30, seed=2)
    L = cz.lightness(img)
    mask, ab = cz.hint_maps(hints, L.shape[-2:], dtype=torch.float64)
    out = cz.METHODS["levin"](L, mask, ab)
    assert torch.equal(out[mask.expand_as(out)], ab[mask.expand_as(ab)])
    rgb = cz.from_hints(img, hints)  # the hint's own L is the image's here: its colour comes back
    for y, x, c in hints:
        assert torch.allclose(rgb[0, :, y, x], torch.tensor(c, dtype=torch.float32), atol=1e-4)


def test_one_hint_colours_a_flat_image_everywhere():
    c = (0.2, 0.5, 0.7)
    img = torch.tensor(c).view(1, 3, 1, 1).expand(1, 3, 24, 31).clone()
    for method in cz.METHODS:
        out = cz.from_hints(img, [(3, 20, c)], method=method)
        assert out.shape == (1, 3, 24, 31) and out.dtype == torch.float32
        torch.testing.assert_close(out, img, atol=1e-4, rtol=0)
    grey = torch.full((1, 3, 24, 31), 0.5)
    out = cz.from_hints(grey, [(12, 0, RED)])
    ab = rgb_to_lab(out.double())[:, 1:]
    hint_ab = rgb_to_lab(torch.tensor(RED, dtype=torch.float64).view(1, 3, 1, 1))[:, 1:]
    assert (ab - hint_ab).abs().max() < 0.05  # the hint's chroma everywhere, at the image's L


def test_only_the_lightness_is_read():
    img = nm.sample_image("coffee", max_side=48)
    L = rgb_to_lab(img.double())[:, :1]
    grey = lab_to_rgb(torch.cat([L, torch.zeros_like(L), torch.zeros_like(L)], 1)).float()
    hints = [(5, 5, RED), (30, 40, BLUE)]
    torch.testing.assert_close(cz.from_hints(grey, hints), cz.from_hints(img, hints),
                               atol=2e-4, rtol=0)
    torch.testing.assert_close(cz.from_hints(grey[:, :1], hints), cz.from_hints(grey, hints))


def _two_regions():
    img = torch.full((1, 3, 20, 40), 0.2)
    img[..., 20:] = 0.8  # dark left, bright right
    # off-centre: the right hint sits just past the edge, the left one far from it
    return img, [(10, 2, RED), (10, 21, BLUE)]


def _nearer_to_own_hint(out, hints):
    ab = rgb_to_lab(out.double())[0, 1:]
    red, blue = (ab[:, y, x] for y, x, _ in hints)
    d_red = (ab - red[:, None, None]).norm(dim=0)
    d_blue = (ab - blue[:, None, None]).norm(dim=0)
    return torch.cat([(d_red < d_blue)[:, :20], (d_blue < d_red)[:, 20:]], 1), d_red, d_blue


def test_levin_stops_at_edges_and_nearest_bleeds():
    img, hints = _two_regions()
    own, d_red, d_blue = _nearer_to_own_hint(cz.from_hints(img, hints), hints)
    assert own.all()
    assert d_red[:, :20].max() < 5 and d_blue[:, 20:].max() < 5  # |red − blue| ≈ 138 in ab
    own, _, _ = _nearer_to_own_hint(cz.from_hints(img, hints, method="nearest"), hints)
    assert (~own[:, :20]).sum() >= 100  # columns 12–19 of the dark side turn blue


def test_psnr_beats_grey_and_nearest():
    img = nm.sample_image("astronaut", max_side=128)
    hints = cz.sample_hints(img, 50, seed=0)
    grey = psnr(cz.from_hints(img, []), img).item()
    near = psnr(cz.from_hints(img, hints, method="nearest"), img).item()
    t = time.perf_counter()
    levin = psnr(cz.from_hints(img, hints), img).item()
    assert time.perf_counter() - t < 2.0  # ~0.05 s; a loop over pixels would take far longer
    assert levin > near + 0.5 and near > grey + 2, (levin, near, grey)


def test_no_hints_gives_the_grey_image():
    img = nm.sample_image("coffee", max_side=32)
    for method in cz.METHODS:
        out = cz.from_hints(img, [], method=method)
        ab = rgb_to_lab(out.double())[:, 1:]
        assert ab.abs().max() < 0.05


def test_methods_registry():
    img = nm.sample_image("astronaut", max_side=16)
    with pytest.raises(ValueError, match=r"'zhang2099'.*available: levin, nearest, network"):
        cz.from_hints(img, [], method="zhang2099")
    with pytest.raises(TypeError, match="eps"):
        cz.from_hints(img, [(0, 0, RED)], method="nearest", eps=1e-3)
    seen = {}

    def fake(L, mask, ab):  # the contract a learned colouriser (Zhang et al. 2017) plugs into
        seen.update(L=L, mask=mask, ab=ab)
        return ab.sum((2, 3), keepdim=True).expand_as(ab)

    try:
        cz.METHODS["fake"] = fake
        out = cz.from_hints(img, [(2, 3, RED)], method="fake")
    finally:
        del cz.METHODS["fake"]
    assert seen["L"].shape == (1, 1, 16, 16) and 0 <= seen["L"].min() and seen["L"].max() <= 100
    assert seen["mask"].dtype == torch.bool and seen["mask"].sum() == 1 and seen["mask"][0, 0, 2, 3]
    assert seen["ab"].shape == (1, 2, 16, 16)
    assert out.shape == (1, 3, 16, 16) and 0 <= out.min() and out.max() <= 1


@pytest.mark.parametrize("hints, match", [
    ([(8, 0, RED)], r"hint 0: y = 8 is outside the image \(y must be 0\.\.7\)"),
    ([(0, 0, RED), (0, 9, RED)], r"hint 1: x = 9 is outside the image \(x must be 0\.\.8\)"),
    ([(-1, 0, RED)], r"y = -1 is outside"),
    ([(0, 0, (1.2, 0, 0))], r"outside \[0, 1\]$"),
    ([(0, 0, (255, 0, 0))], r"outside \[0, 1\] \(divide 0-255 colours by 255\)"),
    ([(0, 0, (-0.1, 0, 0))], r"outside \[0, 1\]"),
    ([(0, 0, (float("nan"), 0, 0))], r"not finite"),
    ([(0, 0, (0.5, 0.5))], r"three numbers"),
    ([(0, 0, "red")], r"three numbers"),
    ([(0, 0)], r"expected \(y, x, \(r, g, b\)\)"),
    ([(0, 0, 0.5, 0.5)], r"expected \(y, x, \(r, g, b\)\)"),
    ([0.5], r"expected \(y, x, \(r, g, b\)\)"),
    ([(1.5, 0, RED)], r"y must be an integer pixel index, not 1\.5 \(float\)"),
    ([(0, "3", RED)], r"x must be an integer"),
    ([(True, 0, RED)], r"not the bool"),
    ("0,0,red", r"hints must be a list"),
    (None, r"hints must be a list"),
])
def test_bad_hints_are_refused(hints, match):
    img = torch.rand(1, 3, 8, 9)
    with pytest.raises(cz.HintError, match=match):
        cz.from_hints(img, hints)
    assert issubclass(cz.HintError, ValueError)


def test_good_hints_in_other_spellings():
    got = cz.check_hints([[np.int64(2), torch.tensor(3), np.array([0, 0.5, 1])]], (4, 4))
    assert got == [(2, 3, (0.0, 0.5, 1.0))] and isinstance(got[0].y, int)


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match="one image"):
        cz.from_hints(torch.rand(2, 3, 8, 8), [])
    with pytest.raises(TypeError, match="tensor"):
        cz.from_hints(np.zeros((8, 8, 3)), [])
    with pytest.raises(ValueError, match="NaN"):
        cz.from_hints(torch.full((1, 3, 4, 4), float("nan")), [])


def test_sample_hints_are_true_colours_at_distinct_pixels():
    img = nm.sample_image("astronaut", max_side=40)
    a, b = cz.sample_hints(img, 25, seed=7), cz.sample_hints(img, 25, seed=7)
    assert a == b and a != cz.sample_hints(img, 25, seed=8)
    assert len({(h.y, h.x) for h in a}) == 25
    for y, x, c in a:
        assert c == tuple(img[0, :, y, x].double().tolist())
    assert cz.sample_hints(img, 0) == []
    with pytest.raises(cz.HintError, match="cannot sample"):
        cz.sample_hints(img, 40 * 40 + 1)


def test_save_load_round_trip(tmp_path):
    img = nm.sample_image("astronaut", max_side=40)
    hints = cz.sample_hints(img, 12, seed=3) + [(0, 0, (0.0, 1.0, 1 / 3))]
    path = cz.save_hints(hints, tmp_path / "sub" / "h.json", shape=(40, 40))
    assert cz.load_hints(path) == hints and cz.load_hints(path, shape=(40, 40)) == hints
    doc = json.loads(path.read_text())
    assert doc["version"] == 1 and doc["hints"][-1] == {"y": 0, "x": 0, "rgb": [0.0, 1.0, 1 / 3]}
    assert sorted(p.name for p in path.parent.iterdir()) == ["h.json"]  # no temp file left
    with pytest.raises(cz.HintError, match="hint 0: the colour"):  # never reaches the file
        cz.save_hints([(0, 0, (2, 0, 0))], path)
    assert cz.load_hints(path) == hints


@pytest.mark.parametrize("text, match", [
    ('{"version": 1,\n "hints": [\n  {"y": 1, "x": 2 "rgb": [0, 0, 0]}]}',
     r"h\.json: not valid JSON: .* at line 3, column 19"),
    ("", r"h\.json: not valid JSON: .* at line 1, column 1"),
    ('[1, 2]', r"h\.json: not a hints file"),
    ('{"version": 2, "hints": []}', r"h\.json: unsupported hints file version 2"),
    ('{"version": 1, "hints": {}}', r'h\.json: "hints" must be a list'),
    ('{"version": 1, "hints": [{"y": 1, "x": 2}]}', r"h\.json: hint 0 must be an object with keys"),
    ('{"version": 1, "hints": [{"y": 1, "x": 2.5, "rgb": [0, 0, 0]}]}',
     r"h\.json: hint 0: x must be an integer"),
    ('{"version": 1, "hints": [{"y": 1, "x": 2, "rgb": [0, 0, 9]}]}', r"h\.json: hint 0: .*\[0, 1\]"),
])
def test_broken_hint_files_name_the_file(tmp_path, text, match):
    path = tmp_path / "h.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        cz.load_hints(path)
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(cz.HintError, match=r"h\.json: not a UTF-8 text file"):
        cz.load_hints(path)


def test_load_hints_checks_the_image_size(tmp_path):
    path = cz.save_hints([(9, 9, RED)], tmp_path / "h.json")
    with pytest.raises(cz.HintError, match=r"h\.json: hint 0: y = 9 is outside the image"):
        cz.load_hints(path, shape=(8, 16))
