"""`python -m nomysticism.cli restore` in a subprocess: the exit code, the output's frame count
(from the rate-change formula, worked out here) and a clean one-line error for a broken file."""

import re
import subprocess
import sys

import nomysticism as nm
import numpy as np
from nomysticism.data.film import old_film


def _run(*args):
    return subprocess.run([sys.executable, "-m", "nomysticism.cli", "restore", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_cli_restore_subprocess(tmp_path):
    f = old_film(20, (48, 64), path=tmp_path / "in.mp4", fps=12.0, repeats=3, speed=(3.0, 5.0), seed=11)
    out = tmp_path / "out.mp4"
    p = _run(f.path, out, "--target-fps", 24, "--quiet")
    assert p.returncode == 0, p.stderr
    m = re.search(r"(\d+) frames in, (\d+) repeats dropped, (\d+) frames out", p.stdout)
    assert m, p.stdout
    n_in, dropped, n_out = map(int, m.groups())
    assert n_in == len(f) and 0 <= dropped < n_in
    kept = n_in - dropped
    film_fps = 12.0 * kept / n_in  # the repeats padded the film out to 12 fps
    expected = int(np.floor((kept - 1) * 24 / film_fps + 1e-9)) + 1
    assert n_out == expected == nm.video.info(out).frames
    assert abs(nm.video.info(out).fps - 24) < 1e-3


def test_cli_restore_broken_input(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    out = tmp_path / "out.mp4"
    p = _run(bad, out, "--target-fps", 24)
    assert p.returncode != 0
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "error" in lines[0] and "broken.mp4" in lines[0], p.stderr
    assert "Traceback" not in p.stderr + p.stdout
    assert not out.exists() and not [q for q in tmp_path.iterdir() if q.name.startswith(".out")]
