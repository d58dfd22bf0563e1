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


def test_pan_reflects_off_the_canvas_edge():
    # constant speed into a wall: the camera turns round once per contact and goes on the other
    # way (it must not jitter back and forth, which would make frame k+1 a copy of frame k-1)
    s = moving_scene(120, (40, 56), speed=(5.0, 5.0), direction=0.0, objects=0, ramp=1, seed=1)
    x = s.camera[:, 0]
    dx = np.diff(x)
    assert np.allclose(np.abs(dx), 5.0)
    flips = np.flatnonzero(np.sign(dx[1:]) != np.sign(dx[:-1]))
    assert len(flips) >= 4 and np.all(np.diff(flips) >= 3)
    cw = s.canvas.shape[-1]
    assert x.min() >= 1.0 - 1e-9 and x.max() <= cw - 56 - 2.0 + 1e-9


def test_motion_at_is_the_nearest_other_picture(tmp_path):
    # 3 px/frame to the right, far from the walls: every frame's nearest other picture is 3 px away;
    # at a turn (hand-made camera) a picture two frames on is back where it was
    s = moving_scene(8, (40, 56), speed=(3.0, 3.0), direction=0.0, objects=0, ramp=1, seed=2)
    s.camera[:, 0] = 5.0 + 3.0 * np.arange(9)
    f = old_film(scene=s, path=tmp_path / "m.mp4", repeats=1, kinds=("plain",), seed=2)
    assert all(abs(f.motion_at(i) - 3.0) < 1e-9 for i in range(len(f)))
    s.camera[:, 0] = [5, 8, 11, 14, 11, 8, 5, 2, 0]
    f.source = np.arange(8)
    assert abs(f.motion_at(3) - 3.0) < 1e-9  # 14 vs 11 on either side
    assert abs(f.motion_at(4) - 0.0) < 1e-9  # frame 4 (x=11) shows what frame 2 showed
