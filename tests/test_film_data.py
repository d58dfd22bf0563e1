"""nm.data.moving_scene / old_film against independent references (exact translations, counts)."""

import nomysticism as nm
import numpy as np
import torch
from nomysticism.data.film import REPEAT_KINDS, moving_scene, old_film


def test_pan_is_an_exact_translation():
    # no sprites, constant speed to the right: frame k+1 is frame k shifted by the camera step,
    # checked against a float64 bilinear shift of the canvas done here
    s = moving_scene(6, (40, 56), speed=(3.0, 3.0), direction=0.0, objects=0, ramp=1, seed=1)
    c = s.canvas.double()
    for t in (2.0, 2.5):
        x, y = s.camera_at(t)
        ix, iy = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - ix, y - iy
        p = c[:, iy:iy + 41, ix:ix + 57]
        ref = ((1 - fy) * ((1 - fx) * p[:, :40, :56] + fx * p[:, :40, 1:]) +
               fy * ((1 - fx) * p[:, 1:, :56] + fx * p[:, 1:, 1:]))
        assert torch.allclose(s.frame(t)[0].double(), ref, atol=1e-5)
    assert abs(s.pan_speed(2) - 3.0) < 1e-9
    f = s.flow(2)
    assert np.allclose(f[..., 0], -(s.camera[3, 0] - s.camera[2, 0])) and np.allclose(f[..., 1], 0)


def test_tween_is_halfway():
    s = moving_scene(10, (48, 64), seed=3)
    cam = s.camera_at(4.5)
    assert np.allclose(cam, (s.camera[4] + s.camera[5]) / 2)
    mid = s.tween(4)
    assert mid.shape == (1, 3, 48, 64)
    # the true flow warps frame 5 back onto frame 4 far better than no motion
    w = nm.flow.warp(s[5], s.flow(4))
    if s.motion(4) > 1:
        assert (w - s[4]).abs().mean() < 0.5 * (s[5] - s[4]).abs().mean()


def test_old_film_truth(tmp_path):
    f = old_film(60, (48, 64), path=tmp_path / "f.mp4", repeats=8, seed=2)
    assert nm.video.info(f.path).frames == len(f)
    assert len(f) == 60 + len(f.repeats)
    kinds = {r.kind for r in f.repeats}
    assert kinds <= set(REPEAT_KINDS) and len(kinds) >= 3
    for r in f.repeats:  # a repeat shows the same clean frame as its original
        assert f.source[r.index] == f.source[r.of]
    assert list(f.source[f.kept]) == list(range(60))
