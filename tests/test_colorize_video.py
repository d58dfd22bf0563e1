"""Video colourisation with tracked hints (nomysticism.colorize.video) against analytic motion.

- tracking: hints on a photo moved by a known sub-pixel translation land where the translation puts
  them (within a pixel), forward and backward from the key frame;
- the forward-backward check drops a hint that an opaque square moves over (and without the check
  it is kept, on the wrong object); a hint that leaves the frame is dropped no later than the
  translation takes it out;
- the streamed file has the input's frame count and size, and the colour follows the object;
- the temporal blend is the exponential filter of its formula;
- bad hint files, a key frame past the end, broken or truncated video: clear errors, no output.
"""

from __future__ import annotations

import json

import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import colorize as C
from nomysticism.colorize.video import (
    END_EDGE,
    END_FB,
    END_LEFT,
    HintTracks,
    check_video_hints,
    load_video_hints,
    save_video_hints,
    track_hints,
    video,
)
from nomysticism.video import VideoError

V = (0.6, 1.3)  # (dy, dx) px per frame


def translation_clip(n: int, v=V, size=(72, 96), photo: str = "chelsea") -> torch.Tensor:
    """(n,3,H,W): a crop of ``photo`` whose content moves by v = (dy, dx) px per frame, exactly
    (bilinear warp of the whole photo by a constant flow, then the same crop): a point at p in
    frame 0 is at p + t·v in frame t."""
    img = nm.sample_image(photo, max_side=200)
    H, W = img.shape[-2:]
    h, w = size
    y0, x0 = (H - h) // 2, (W - w) // 2
    out = []
    for t in range(n):
        flow = np.zeros((H, W, 2), np.float32)
        flow[..., 0], flow[..., 1] = -t * v[1], -t * v[0]   # out[y, x] = img[y − t·vy, x − t·vx]
        out.append(nm.flow.warp(img, flow)[..., y0:y0 + h, x0:x0 + w])
    return torch.cat(out).clamp(0, 1)


@pytest.fixture(scope="module")
def clip():
    return translation_clip(10)


def _interior_hints(n, h, w, margin, seed=0):
    rng = np.random.default_rng(seed)
    ys = rng.integers(margin, h - margin, n)
    xs = rng.integers(margin, w - margin, n)
    return [(int(y), int(x), (0.8, 0.3, 0.2)) for y, x in zip(ys, xs)]


def test_tracks_follow_a_known_translation_forward_and_backward(clip):
    n, _, h, w = clip.shape
    hints = _interior_hints(12, h, w, margin=14)
    fwd = track_hints(iter(clip), {0: hints}, progress=False)          # a one-shot stream is enough
    back = track_hints(iter(clip), {n - 1: hints}, progress=False)
    assert isinstance(fwd, HintTracks) and fwd.n_frames == n and fwd.shape == (h, w)
    for tracks, key in ((fwd, 0), (back, n - 1)):
        moving = [tr for tr in tracks.tracks if len(tr.frames) > 1]
        assert len(moving) == 12 and all(tr.end == END_EDGE for tr in moving)   # none dropped
        for tr in moving:
            y0, x0 = hints[tr.index][:2]
            for t, (y, x) in zip(tr.frames, tr.points):
                ty, tx = y0 + (t - key) * V[0], x0 + (t - key) * V[1]    # the translation's truth
                assert np.hypot(y - ty, x - tx) < 1.0, (key, tr.index, t, (y, x), (ty, tx))
            assert len(tr.frames) == n
    # the hints a frame holds are the tracks rounded to pixels
    at5 = fwd.hints_at(5)
    assert sorted((hh.y, hh.x) for hh in at5) == sorted(
        (int(round(tr.at(5)[0])), int(round(tr.at(5)[1]))) for tr in fwd.tracks if tr.step == 1)
    # without tracking, hints stay at their pixel: the baseline is as far off as the motion
    static = track_hints(iter(clip), {0: hints}, carry="none", progress=False)
    assert {(hh.y, hh.x) for hh in static.hints_at(9)} == {(y, x) for y, x, _ in hints}


def occluder_clip(n=12, size=(64, 96), side=18, y0=20, x0=4, speed=3):
    """A still background photo and an opaque textured square moving right by ``speed`` px a frame
    over it; frame t covers columns [x0 + speed·t, x0 + speed·t + side) of rows [y0, y0 + side)."""
    bg = nm.sample_image("chelsea", max_side=160)[..., 30:30 + size[0], 20:20 + size[1]]
    tex = nm.sample_image("coffee", max_side=120)[..., 20:20 + side, 30:30 + side]
    frames = []
    for t in range(n):
        f = bg.clone()
        a = x0 + speed * t
        f[..., y0:y0 + side, a:a + side] = tex[..., :, : max(0, min(side, size[1] - a))]
        frames.append(f)
    return torch.cat(frames)


def test_the_fb_check_drops_a_hint_that_gets_occluded():
    clip = occluder_clip()
    py, px = 29, 45                                   # on the square's path, in the background
    covered = next(t for t in range(12) if 4 + 3 * t <= px < 4 + 3 * t + 18)     # frame 8
    hints = {0: [(py, px, (0.9, 0.1, 0.1)), (55, 15, (0.1, 0.2, 0.9))]}     # the second: never covered
    tr = track_hints(iter(clip), hints, progress=False)
    occl, free = [t for t in tr.tracks if t.step == 1]
    assert occl.end == END_FB, occl.end
    assert covered - 3 <= occl.frames[-1] < covered, (occl.frames, covered)   # gone before it is covered
    assert free.end == END_EDGE and len(free.frames) == 12
    assert max(np.hypot(y - 55, x - 15) for y, x in free.points) < 0.5        # the background is still
    # without the check the hint is carried on, onto the square
    blind = [t for t in track_hints(iter(clip), hints, check=False, progress=False).tracks if t.step == 1][0]
    assert blind.end != END_FB and blind.frames[-1] >= covered
    assert tr.survival()["fb"] == pytest.approx(0.25) and tr.survival()["kept"] == pytest.approx(0.75)


def test_a_hint_that_leaves_the_frame_is_dropped(clip):
    n, _, h, w = clip.shape
    hints = {0: [(36, w - 5, (0.2, 0.6, 0.2)), (36, 40, (0.2, 0.6, 0.2))]}
    out = next(t for t in range(n) if w - 5 + t * V[1] >= w - 0.5)      # the translation's exit frame
    tr = [t for t in track_hints(iter(clip), hints, progress=False).tracks if t.step == 1]
    assert tr[0].end in (END_LEFT, END_FB)
    assert out - 3 <= tr[0].frames[-1] < out, (tr[0].frames, out)
    assert tr[1].end == END_EDGE


def test_streamed_file_has_the_frames_and_size_and_colour_follows(clip, tmp_path):
    src, dst = tmp_path / "grey.mp4", tmp_path / "out.mp4"
    nm.video.write_video(nm.color.to_gray(clip), src, fps=10, crf=0)
    n, _, h, w = clip.shape
    red = (0.85, 0.15, 0.1)
    hints = {0: [(30, 40, red), (50, 20, (0.3, 0.5, 0.9))]}
    seen = []
    res = video(src, dst, hints, keep_frames=True, progress=False,
                callback=lambda p: seen.append(p.info["frame"]))
    assert dst.is_file() and res.path == dst
    meta = nm.video.info(dst)
    assert (meta.frames, meta.height, meta.width) == (n, h, w) and res.n_frames == n
    assert seen[-1] == n - 1 and res.frames.shape == (n, 3, h, w)
    assert res.hints_per_frame == [2] * n
    # the red hint's chroma is where the translation took its point (and not where it was)
    want = nm.color.rgb_to_lab(torch.tensor(red, dtype=torch.float64).reshape(1, 3, 1, 1))[0, 1:, 0, 0]
    ty, tx = round(30 + 9 * V[0]), round(40 + 9 * V[1])
    got = res.ab[9, :, ty, tx].double()
    assert (got - want).norm() < 8, (got, want)
    static = video(src, None, hints, carry="none", smooth=0.0, progress=False)
    assert (static.ab[9, :, ty, tx].double() - want).norm() > (got - want).norm()


def test_temporal_blend_is_the_exponential_filter():
    """Identical frames (zero flow, every pixel consistent): ab_t = (1 − α) s_t + α ab_{t−1}."""
    frame = nm.sample_image("chelsea", max_side=64)
    clip = frame.expand(5, -1, -1, -1).contiguous()
    hints = {0: [(10, 10, (0.9, 0.1, 0.1))], 4: [(30, 40, (0.1, 0.3, 0.9))]}
    s = video(clip, None, hints, smooth=0.0, progress=False).ab.double()
    alpha = 0.6
    got = video(clip, None, hints, smooth=alpha, progress=False).ab.double()
    ref = [s[0]]
    for t in range(1, 5):
        ref.append((1 - alpha) * s[t] + alpha * ref[-1])
    torch.testing.assert_close(got, torch.stack(ref), atol=0.05, rtol=0)
    assert (s[1] - s[0]).abs().max() > 5            # the hints did change between frames


def test_video_hints_file_round_trip_and_single_image_file(tmp_path):
    hints = {0: [(1, 2, (0.1, 0.2, 0.3))], 40: [(5, 6, (1.0, 0.0, 0.5)), (7, 8, (0, 0, 0))]}
    p = save_video_hints(hints, tmp_path / "v.json", shape=(10, 10))
    doc = json.loads(p.read_text())
    assert doc["version"] == 1 and set(doc["keyframes"]) == {"0", "40"}
    back = load_video_hints(p, shape=(10, 10))
    assert {k: [(h.y, h.x, h.rgb) for h in v] for k, v in back.items()} == {
        k: [(y, x, tuple(map(float, c))) for y, x, c in v] for k, v in hints.items()}
    single = C.save_hints([(3, 4, (0.5, 0.5, 0.5))], tmp_path / "one.json")
    assert list(load_video_hints(single)) == [0]
    assert check_video_hints([(3, 4, (0.5, 0.5, 0.5))]).keys() == {0}


@pytest.mark.parametrize("text, words", [
    ('{"version": 1, "keyframes": {"0": [', "not valid JSON"),
    ('{"version": 1, "keyframes": {"a": []}}', "not a frame number"),
    ('{"version": 1, "keyframes": {"-3": []}}', "not a frame number"),
    ('{"version": 2, "keyframes": {}}', "version"),
    ('{"version": 1, "keyframes": []}', "must be an object"),
    ('{"version": 1, "keyframes": {"4": {"y": 1}}}', "must be a list"),
    ('{"version": 1, "keyframes": {"4": [{"y": 1, "x": 2}]}}', "keys y, x, rgb"),
    ('{"version": 1, "keyframes": {"4": [{"y": 1, "x": 99, "rgb": [0, 0, 0]}]}}', "key frame 4: hint 0: x = 99"),
    ('{"version": 1, "keyframes": {"2": [{"y": 1, "x": 2, "rgb": [0, 300, 0]}]}}', "outside [0, 1]"),
    ('{"version": 1, "keyframes": {}}', "no key frames"),
    ('[1, 2]', "not a video hints file"),
])
def test_bad_hint_files_say_what_is_wrong(tmp_path, text, words):
    p = tmp_path / "bad.json"
    p.write_text(text)
    with pytest.raises(C.HintError, match="bad.json") as e:
        load_video_hints(p, shape=(48, 64))
    assert words in str(e.value), str(e.value)


def _only(tmp_path, keep):
    return sorted(q.name for q in tmp_path.iterdir() if q.name not in keep)


def test_bad_hints_and_broken_video_leave_no_output(clip, tmp_path):
    src = tmp_path / "grey.mp4"
    nm.video.write_video(clip, src, fps=10)
    n, _, h, w = clip.shape
    dst = tmp_path / "out.mp4"
    with pytest.raises(C.HintError, match="key frame 30 is past the end"):
        video(src, dst, {30: [(1, 1, (0, 0, 0))]}, progress=False)
    with pytest.raises(C.HintError, match=r"key frame 2: hint 0: y = 500"):
        video(src, dst, {2: [(500, 1, (0, 0, 0))]}, progress=False)
    with pytest.raises(C.HintError, match="no key frames"):
        video(src, dst, {}, progress=False)
    with pytest.raises(ValueError, match="unknown colourisation method"):
        video(src, dst, {0: []}, method="magic", progress=False)
    with pytest.raises(TypeError, match="read only once"):
        video(iter(clip), dst, {0: []}, progress=False)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 50)
    for bad in (cut, junk, tmp_path / "missing.mp4"):
        with pytest.raises(VideoError, match=bad.name):
            video(bad, dst, {0: [(1, 1, (0.5, 0.2, 0.2))]}, progress=False)
    assert _only(tmp_path, {"grey.mp4", "cut.mp4", "junk.mp4"}) == []   # no out.mp4, no temp file


def test_stop_in_either_pass(clip, tmp_path):
    dst = tmp_path / "out.mp4"
    hints = {0: [(30, 40, (0.9, 0.2, 0.1))]}
    first = video(clip, dst, hints, progress=False,
                  callback=lambda p: p.info.get("tracks") is not None)   # stop while tracking
    assert first.stopped and first.path is None and not dst.exists()
    res = video(clip, dst, hints, progress=False, callback=lambda p: p.step >= 3 and "hints" in p.info)
    assert res.stopped and res.n_frames == 3 and nm.video.info(dst).frames == 3
