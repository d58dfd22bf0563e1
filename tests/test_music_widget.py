"""The MoodMap widget, driven headless: render, move the tempo slider, switch mode, upload."""

from __future__ import annotations

from nomysticism import audio
from nomysticism.data import music as D
from nomysticism.widgets.music import UPLOAD, MoodMap


def test_mood_map_widget(tmp_path):
    w = MoodMap(pieces=("bwv1.6",), seconds=3.0)
    assert w.runner.join(120) and w.runner.error is None
    assert len(w.history) == 1 and w.map.value[:4] == b"\x89PNG" and w.player.value[:4] == b"RIFF"
    first = w.mood
    w.tempo.value = 170
    assert w.runner.join(120) and w.runner.error is None
    assert len(w.history) == 2 and w.history[-1] != w.history[0]
    assert (w.mood.valence, w.mood.arousal) != (first.valence, first.arousal)
    w.mode.value = "minor"
    assert w.runner.join(120) and "minor" in w.history[-1][0]
    f = audio.save_audio(tmp_path / "up.wav", D.render_score("bwv1.6", D.Performance(seconds=2.0)),
                         audio.SR)
    w.load_bytes("up.wav", f.read_bytes())
    assert w.source.value == UPLOAD and w.history[-1][0] == "up"
    w.load_bytes("bad.wav", b"junk" * 50)
    assert "error" in w.runner.status.value
