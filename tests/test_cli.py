"""The `nomysticism` command line on bundled images and a synthetic clip."""

import subprocess
import sys

import nomysticism as nm
import numpy as np
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
