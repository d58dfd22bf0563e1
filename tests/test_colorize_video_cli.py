"""``nomysticism colorize-video in.mp4 out.mp4 --hints hints.json`` on a tiny clip: the output has
the input's frames and size and the hint's colour; a bad hints file or a broken video exits 2 with
a message and writes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nomysticism as nm
import pytest
import torch
from nomysticism.cli import main
from nomysticism.colorize.video import save_video_hints

RED = (0.85, 0.15, 0.1)


@pytest.fixture(scope="module")
def clip_and_hints(tmp_path_factory):
    d = tmp_path_factory.mktemp("cv")
    scene = nm.data.moving_scene(10, (48, 64), speed=(1.0, 2.0), objects=1, seed=3)
    src = nm.video.write_video(nm.color.to_gray(scene.clip()), d / "grey.mp4", fps=10)
    hints = save_video_hints({0: [(24, 32, RED)], 9: [(20, 30, RED)]}, d / "hints.json")
    return src, hints


def test_cli_colours_a_tiny_clip(clip_and_hints, tmp_path, capsys):
    src, hints = clip_and_hints
    out = tmp_path / "colour.mp4"
    assert main(["colorize-video", str(src), str(out), "--hints", str(hints), "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "10 frames 64x48" in said and "2 key frames" in said and "hint tracks" in said
    meta = nm.video.info(out)
    assert (meta.frames, meta.width, meta.height) == (10, 64, 48)
    first = next(nm.video.frames(out))
    lab = nm.color.rgb_to_lab(first.double())
    want = nm.color.rgb_to_lab(torch.tensor(RED, dtype=torch.float64).reshape(1, 3, 1, 1))[0, 1:, 0, 0]
    got = lab[0, 1:, 24, 32]
    # the hint's hue survives; its chroma is cut by the gamut at the pixel's L and by yuv420p
    assert torch.dot(got, want) / (got.norm() * want.norm()) > 0.95 and got.norm() > 20, (got, want)


def test_cli_bad_hints_and_broken_video_exit_2_without_output(clip_and_hints, tmp_path, capsys):
    src, _ = clip_and_hints
    out = tmp_path / "colour.mp4"
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "keyframes": {"0": [{"y": 1, "x": 640, "rgb": [0, 0, 0]}]}}')
    assert main(["colorize-video", str(src), str(out), "--hints", str(bad), "-q"]) == 2
    err = capsys.readouterr().err
    assert "nomysticism colorize-video: error:" in err and "x = 640 is outside the image" in err
    late = tmp_path / "late.json"
    late.write_text('{"version": 1, "keyframes": {"50": []}}')
    assert main(["colorize-video", str(src), str(out), "--hints", str(late), "-q"]) == 2
    assert "key frame 50 is past the end" in capsys.readouterr().err
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(Path(src).read_bytes()[:300])
    hints = save_video_hints({0: []}, tmp_path / "ok.json")
    assert main(["colorize-video", str(broken), str(out), "--hints", str(hints), "-q"]) == 2
    assert "broken.mp4" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".colour*"))


def test_cli_runs_as_a_program(clip_and_hints, tmp_path):
    src, hints = clip_and_hints
    out = tmp_path / "colour.mp4"
    exe = Path(sys.executable).parent / "nomysticism"
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-c",
                                             "import sys; from nomysticism.cli import main; sys.exit(main())"]
    r = subprocess.run([*cmd, "colorize-video", str(src), str(out), "--hints", str(hints), "-q",
                        "--smooth", "0", "--max-side", "32"], capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "outside the image" in r.stderr    # hints are in processed pixels
    r = subprocess.run([*cmd, "colorize-video", str(src), str(out), "--hints", str(hints), "-q",
                        "--smooth", "0", "--method", "nearest"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert nm.video.info(out).frames == 10 and "frames 64x48" in r.stdout
