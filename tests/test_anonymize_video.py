"""nm.anonymize.anonymize_video: streamed, and tracking covers a face the detector misses."""

from __future__ import annotations

import nomysticism as nm
import numpy as np
import pytest
from nomysticism import anonymize as A


def _clip(path, hide=3, n=6):
    """A 160-px crop of astronaut panning 4 px a frame; on frame ``hide`` the face is covered by a
    flat patch of its own mean colour with the eyes and mouth painted out (the detector misses it)."""
    x = nm.sample_image("astronaut")
    frames = []
    for k in range(n):
        f = x[..., 40:200, 140 + 4 * k:300 + 4 * k].clone()
        if k == hide:
            f[..., 50:140, 45:125] = f[..., 50:140, 45:125].mean((-1, -2), keepdim=True)
        frames.append(f)
    with nm.video.Writer(path, fps=10) as w:
        for f in frames:
            w.write(f)
    return frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    p = tmp_path_factory.mktemp("anon") / "clip.mp4"
    _clip(p)
    return p


def test_tracking_rescues_the_missed_frame(clip, tmp_path):
    plain = A.anonymize_video(clip, tmp_path / "plain.mp4", faces="blur", track=False, progress=False)
    tracked = A.anonymize_video(clip, tmp_path / "tracked.mp4", faces="blur", progress=False)
    assert plain.frames == tracked.frames == 6
    dets = [d for d, _ in tracked.per_frame]
    assert dets[3] == 0 and all(d == 1 for i, d in enumerate(dets) if i != 3)
    assert plain.frames_rescued == 0 and tracked.frames_rescued == 1
    assert tracked.faces_anonymized == 6 and plain.faces_anonymized == 5
    assert nm.video.info(tmp_path / "tracked.mp4").frames == 6


def test_track_step_by_hand():
    t = A.Faces([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.8], np.zeros((2, 5, 2)), (100, 100))
    d = A.Faces([[1, 1, 11, 11]], [0.95], np.zeros((1, 5, 2)), (100, 100))
    out, missed, carried = A.track_faces(t, np.array([0, 7]), d, max_missed=8)
    assert carried == 1 and len(out) == 2 and list(missed) == [0, 8]
    out, missed, carried = A.track_faces(out, missed, d, max_missed=8)
    assert carried == 0 and len(out) == 1  # the old track has used up its frames


def test_cli_video(clip, tmp_path, capsys):
    from nomysticism.cli import main

    dst = tmp_path / "out.mp4"
    assert main(["anonymize", str(clip), str(dst), "--faces", "pixelate", "--quiet"]) == 0
    assert "1 frames rescued" in capsys.readouterr().out
    assert nm.video.info(dst).frames == 6


def test_bad_options(clip, tmp_path):
    with pytest.raises(ValueError, match="detect_every"):
        A.anonymize_video(clip, tmp_path / "x.mp4", detect_every=0)
    with pytest.raises(ValueError, match="clothes"):
        A.anonymize_video(clip, tmp_path / "x.mp4", clothes="red")
    assert not (tmp_path / "x.mp4").exists()
