"""``nomysticism mood``: lines per file, --plot, --json, and errors for bad files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from nomysticism import audio
from nomysticism.cli import main
from nomysticism.data import music as D


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    d = tmp_path_factory.mktemp("songs")
    w = D.render_score("bwv1.6", D.Performance(seconds=4.0))
    return str(audio.save_audio(d / "song.wav", w, audio.SR))


def test_mood_cli(song, tmp_path, capsys):
    png = tmp_path / "map.png"
    assert main(["mood", song, "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "valence" in out and "arousal" in out and png.read_bytes()[:4] == b"\x89PNG"
    assert main(["mood", song, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert -1 <= r[song]["valence"] <= 1


def test_mood_cli_errors(song, tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all" * 20)
    assert main(["mood", song, str(bad), str(tmp_path / "missing.wav")]) == 2
    cap = capsys.readouterr()
    assert "song.wav" in cap.out and "2 of 3 file(s) failed" in cap.err and "bad.wav" in cap.err


def test_mood_cli_subprocess(song):
    r = subprocess.run([sys.executable, "-m", "nomysticism.cli", "mood", song],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "arousal" in r.stdout
