"""The `nomysticism` command line on bundled images and a synthetic clip."""

import subprocess
import sys

import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import cli
from nomysticism import fast_style as fs
from PIL import Image


def test_stylize_an_image_with_the_shipped_model(tmp_path, capsys):
    src = nm.save_image(nm.sample_image("chelsea", 160), tmp_path / "chelsea.jpg")
    out = tmp_path / "out.png"
    assert cli.main(["stylize", "--model", "mosaic", str(src), str(out)]) == 0
    a = np.asarray(Image.open(out))
    assert a.shape == (106, 160, 3)  # chelsea is 451×300
    # the CLI must give what the library gives (same model, same input), up to JPEG/PNG rounding
    ref = fs.stylize(fs.load_pretrained("mosaic"), nm.load_image(src))
    assert np.abs(a.astype(float) - nm.images.to_numpy(ref).astype(float)).mean() < 1.0
    assert "out.png" in capsys.readouterr().out


def test_stylize_a_video(tmp_path):
    src = fs.write_video(fs.synthetic_clip(5, (48, 64)), tmp_path / "clip.mp4", fps=10)
    out = tmp_path / "styled.mp4"
    assert cli.main(["stylize", "-q", "--model", "mosaic", "--temporal", "0.5", str(src), str(out)]) == 0
    frames, fps = fs.read_video(out)
    assert frames.shape == (5, 3, 48, 64) and fps == 10


def test_train_style_then_stylize(tmp_path):
    model = tmp_path / "tiny.safetensors"
    rc = cli.main(["train-style", "-q", "--style", "stripes", "--steps", "3", "--batch", "2", "--size", "32",
                   "--width", "4", "--n-crops", "4", "--loss-net", "efficientnet_lite0",
                   "--out", str(model)])
    assert rc == 0 and model.exists()
    assert (tmp_path / "tiny.ckpt.pt").exists()  # resumable checkpoint next to it
    m = fs.load_pretrained(str(model))
    assert m.config["width"] == 4
    src = nm.save_image(nm.sample_image("coffee", 64), tmp_path / "c.png")
    assert cli.main(["stylize", "--model", str(model), str(src), str(tmp_path / "o.png")]) == 0
    assert Image.open(tmp_path / "o.png").size == Image.open(src).size


def test_errors_are_one_line_not_tracebacks(tmp_path, capsys):
    assert cli.main(["stylize", "--model", "no-such-model", "a.jpg", "b.jpg"]) == 2
    err = capsys.readouterr().err
    assert "no shipped model" in err and "Traceback" not in err
    assert cli.main(["stylize", str(tmp_path / "missing.jpg"), str(tmp_path / "b.jpg")]) == 2


def test_console_entry_point_lists_models():
    r = subprocess.run([sys.executable, "-m", "nomysticism.cli", "list-models"], capture_output=True,
                       text=True, timeout=120, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert "mosaic" in r.stdout and "efficientnet_lite0" in r.stdout
    torch.manual_seed(0)


def test_stylize_a_video_streams(tmp_path, monkeypatch, capsys):
    src = fs.write_video(fs.synthetic_clip(4, (32, 48)), tmp_path / "clip.mp4", fps=8)

    def no_whole_clip(*a, **k):
        raise AssertionError("the CLI must stream the video")

    monkeypatch.setattr(nm.video, "read_video", no_whole_clip)
    out = tmp_path / "styled.mp4"
    assert cli.main(["stylize", "-q", "--model", "mosaic", str(src), str(out)]) == 0
    assert nm.video.info(out).frames == 4 and "4 frames 48x32" in capsys.readouterr().out
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_train_style_defaults_come_from_the_recipe():
    args = cli.build_parser().parse_args(["train-style", "--style", "mosaic"])
    assert args.recipe == "cli" and args.steps is None  # filled from fs.RECIPES at run time
    r = fs.recipe(args.recipe, steps=args.steps, lr=3e-4)
    assert r["steps"] == fs.RECIPES["cli"]["steps"] and r["lr"] == 3e-4


def test_colorize_with_hints_is_the_library(tmp_path, capsys):
    from nomysticism import colorize as C

    src = nm.save_image(nm.sample_image("astronaut", 64), tmp_path / "a.png")
    img = nm.load_image(src)
    hints = [(10, 20, (0.9, 0.3, 0.1)), (50, 40, (0.1, 0.3, 0.9))]
    C.save_hints(hints, tmp_path / "h.json")
    out = tmp_path / "out.png"
    assert cli.main(["colorize", str(src), str(out), "--hints", str(tmp_path / "h.json")]) == 0
    assert "2 hints, levin" in capsys.readouterr().out
    ref = nm.images.to_numpy(C.from_hints(img, hints)).astype(float)
    assert np.abs(np.asarray(Image.open(out)).astype(float) - ref).max() <= 1
    assert cli.main(["colorize", str(src), str(out), "--hints", str(tmp_path / "h.json"),
                     "--method", "nearest"]) == 0
    ref = nm.images.to_numpy(C.from_hints(img, hints, method="nearest")).astype(float)
    assert np.abs(np.asarray(Image.open(out)).astype(float) - ref).max() <= 1


def test_colorize_errors_are_one_line(tmp_path, capsys, monkeypatch):
    from nomysticism import colorize as C

    src = nm.save_image(nm.sample_image("coffee", 48), tmp_path / "c.png")
    (tmp_path / "bad.json").write_text('{"version": 1, "hints": [{"y": 400, "x": 1, "rgb": [1, 0, 0]}]}')
    assert cli.main(["colorize", str(src), str(tmp_path / "o.png"), "--hints", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "outside the image" in err and "Traceback" not in err
    C.save_hints([(1, 1, (1, 0, 0))], tmp_path / "h.json")
    assert cli.main(["colorize", str(src), str(tmp_path / "o.png"), "--hints", str(tmp_path / "h.json"),
                     "--method", "magic"]) == 2
    assert "unknown colourisation method 'magic'" in capsys.readouterr().err
    monkeypatch.delattr(C, "automatic", raising=False)  # a version without the automatic colouriser
    assert cli.main(["colorize", str(src), str(tmp_path / "o.png")]) == 2
    assert "--hints" in capsys.readouterr().err and not (tmp_path / "o.png").exists()


def test_colorize_without_hints_runs_the_automatic_colouriser(tmp_path):
    from nomysticism import colorize as C

    if not hasattr(C, "automatic"):
        pytest.skip("nomysticism.colorize.automatic is not there yet")
    src = nm.save_image(nm.sample_image("chelsea", 64), tmp_path / "c.png")
    out = tmp_path / "auto.png"
    assert cli.main(["colorize", str(src), str(out)]) == 0
    assert Image.open(out).size == Image.open(src).size
    ref = nm.images.to_numpy(C.automatic(nm.load_image(src))).astype(float)
    assert np.abs(np.asarray(Image.open(out)).astype(float) - ref).mean() < 1.0
