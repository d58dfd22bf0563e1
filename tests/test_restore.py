"""nm.restore against independent references: repeat kinds on a tiny film, RIFE vs a float64 shift,
restore's frame count, broken files."""

import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import restore as R
from nomysticism.data.film import moving_scene, old_film
from nomysticism.restore.duplicates import noise_sigma

torch.set_num_threads(1)


def test_normalize_range_percentiles():
    x = torch.linspace(0.2, 0.4, 101).view(1, 1, 1, 101).expand(1, 3, 2, 101)
    y = R.normalize_range(x, 0, 100)
    assert torch.allclose(y[0, 0, 0], torch.linspace(0, 1, 101), atol=1e-5)
    ref_lo, ref_hi = np.percentile(np.linspace(0.2, 0.4, 101), [10, 90])
    y = R.normalize_range(x, 10, 90)
    assert torch.allclose(y[0, 0, 0], torch.from_numpy(np.clip((np.linspace(0.2, 0.4, 101) - ref_lo) /
                                                               (ref_hi - ref_lo), 0, 1)).float(), atol=1e-5)


@pytest.mark.parametrize("kind", ["plain", "reverse", "through", "pair"])
def test_each_repeat_kind_is_found(tmp_path, kind):
    scene = moving_scene(30, (144, 192), speed=(4.0, 6.0), seed=5)  # clear of the < 2 px zone
    f = old_film(scene=scene, path=tmp_path / "k.mp4", repeats=3, kinds=(kind,), seed=5)
    found = R.duplicate_frames(f.path)
    truth = {(r.index, r.of, r.kind) for r in f.repeats}
    assert {(r.index, r.of, r.kind) for r in found} == truth


def test_each_kind_is_found_in_darkened_frames(tmp_path):
    # every frame darkened (gain 0.4-0.6 on top of the low contrast): the stretch and the
    # grain allowance must still find all four kinds, and nothing else, where the pan is fast
    scene = moving_scene(40, (144, 192), speed=(4.0, 6.0), seed=6)
    f = old_film(scene=scene, path=tmp_path / "d.mp4", repeats=6, dark=1.0, seed=6)
    assert f.dark.all() and {r.kind for r in f.repeats} == set(R.REPEAT_KINDS)
    found = R.duplicate_frames(f.path)
    assert {(r.index, r.of, r.kind) for r in found} == {(r.index, r.of, r.kind) for r in f.repeats}


def test_noise_sigma_matches_the_drawn_grain():
    # Immerkær's estimator on a smooth picture plus Gaussian noise of known sigma
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:200, 0:240] / 240.0
    clean = 0.3 + 0.4 * xx + 0.2 * np.sin(3 * yy)
    for sigma in (0.01, 0.03):
        y = torch.from_numpy(clean + rng.normal(0, sigma, clean.shape)).float()[None, None]
        assert abs(noise_sigma(y) / sigma - 1) < 0.08


def test_block_distance_against_numpy():
    rng = np.random.default_rng(1)
    a, b = rng.random((2, 1, 1, 48, 64))
    d = np.abs(a - b)[0, 0].reshape(6, 8, 8, 8).mean(axis=(1, 3))  # 8x8 block means, float64
    ref = np.percentile(d, 90)  # 48 blocks: the percentile is below 1 - 4/48, so 90 is kept
    got = R.block_distance(torch.from_numpy(a).float(), torch.from_numpy(b).float(), 8, 90.0)
    assert abs(got - ref) < 1e-5
    ref = np.percentile(d, 100 * (1 - 4 / 48))  # a high percentile looks past 4 blocks
    assert abs(R.block_distance(torch.from_numpy(a).float(), torch.from_numpy(b).float(), 8, 99.0) - ref) < 1e-5


def test_rife_matches_a_float64_shift():
    # a pure horizontal translation by 4 px: the true middle frame is the float64 shift by 2 px
    img = nm.sample_image("astronaut", max_side=256).double()[..., 32:160, 16:208]
    a = img[..., :, 4:196 - 4 - 64]
    b = img[..., :, 0:196 - 8 - 64]
    mid = img[..., :, 2:196 - 6 - 64]
    out = R.rife(a.float(), b.float(), 0.5)
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))
    err = (out.double() - mid)[inner].abs().mean()
    assert err < 0.01
    assert nm.metrics.psnr(out[inner].float(), mid[inner].float()) > nm.metrics.psnr(
        ((a + b) / 2)[inner].float(), mid[inner].float()) + 8


def test_scene_cut_guard():
    a = nm.sample_image("astronaut", max_side=96)[..., :64, :96]
    b = nm.sample_image("coffee", max_side=96)[..., :64, :96]
    assert R.scene_cut(a, b) and not R.scene_cut(a, a * 0.5)
    assert torch.equal(R.interpolate(a, b, 0.4, "blend"), a)


def test_change_fps_count_and_times():
    fr = [torch.full((1, 3, 8, 8), k / 10) for k in range(7)]
    out = list(R.change_fps(fr, 12, 24, "blend", guard=False))
    assert len(out) == R.n_output_frames(7, 12, 24) == 13
    assert torch.allclose(out[3], torch.full((1, 3, 8, 8), 0.15))


def test_restore_frame_count(tmp_path):
    f = old_film(30, (144, 192), path=tmp_path / "in.mp4", repeats=3, speed=(3.0, 5.0), seed=7)
    res = R.restore(f.path, tmp_path / "out.mp4", target_fps=24, method="flow", progress=False)
    n_kept = len(f) - len(res.repeats)
    assert res.n_out == nm.video.info(res.dst).frames == int(np.floor((n_kept - 1) * 24 / res.film_fps + 1e-9)) + 1
    assert {r.index for r in res.repeats} >= {r.index for r in f.repeats}


def test_broken_and_truncated_files(tmp_path):
    f = old_film(20, (48, 64), path=tmp_path / "in.mp4", repeats=2, seed=8)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    cut = tmp_path / "cut.mp4"
    data = f.path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    for bad in (junk, cut, tmp_path / "missing.mp4"):
        dst = tmp_path / f"out_{bad.stem}.mp4"
        with pytest.raises(nm.video.VideoError):
            R.restore(bad, dst, method="blend", progress=False)
        assert not dst.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".out_{bad.stem}")]


def test_cli_restore(tmp_path):
    from nomysticism.cli import main

    f = old_film(16, (48, 64), path=tmp_path / "in.mp4", repeats=2, seed=9)
    assert main(["restore", str(f.path), str(tmp_path / "o.mp4"), "--target-fps", "24",
                 "--method", "blend", "--quiet"]) == 0
    assert (tmp_path / "o.mp4").exists()
