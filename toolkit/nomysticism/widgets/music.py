"""The mood map widget: pick a rendered piece or upload a clip, listen, and see it on the map.

    from nomysticism.widgets.music import MoodMap
    MoodMap()          # in a notebook cell

A tempo slider (and a major/minor switch) re-render the chosen chorale with FluidSynth
(``nm.data.render_score``) and move its point: each run is one Runner job in a thread, so the
kernel never waits; moves made while a render runs are picked up when it ends. The map keeps the
earlier points of the session as a faint trail.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import replace
from pathlib import Path

import ipywidgets as W

from .base import Runner, figure_png, mark

__all__ = ["MoodMap", "wav_bytes"]

UPLOAD = "(uploaded file)"


def wav_bytes(wave, sr: int) -> bytes:
    """A mono waveform as 16-bit WAV bytes (for ``ipywidgets.Audio``)."""
    import numpy as np
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(wave.detach().cpu().numpy(), -1, 1), int(sr), format="WAV", subtype="PCM_16")
    return buf.getvalue()


class MoodMap:
    """Pick/upload a clip → ``ipywidgets.Audio`` + its point on the circumplex; a tempo slider
    and a mode switch re-render the piece. ``pieces``: corpus names offered in the dropdown."""

    def __init__(self, pieces=("bwv1.6", "bwv103.6", "bwv110.7"), instrument: str = "piano",
                 seconds: float = 6.0, model=None):
        from ..data.music import Performance

        self.model, self.history = model, []
        self.wave = self.sr = self.mood = None
        self.base = Performance(piece=pieces[0], instrument=instrument, seconds=seconds)
        self.source = mark(W.Dropdown(options=[*pieces, UPLOAD], value=pieces[0], description="clip"),
                           "nm-primary")
        self.upload = W.FileUpload(accept=".wav,.flac,.ogg", multiple=False, description="upload")
        self.tempo = W.IntSlider(value=90, min=50, max=170, step=5, description="tempo (BPM)",
                                 continuous_update=False)
        self.mode = W.ToggleButtons(options=["major", "minor"], value="major", description="mode")
        self.player = W.Audio(value=b"", format="wav", autoplay=False, loop=False)
        self.map = mark(W.Image(format="png", layout=W.Layout(width="420px")), "nm-output")
        self.text = W.HTML()
        self.runner = Runner(self._job, run_label="Render", description="pick a clip")
        self._wanted = None
        for w in (self.source, self.tempo, self.mode):
            w.observe(lambda _: self.refresh(), names="value")
        self.upload.observe(self._on_upload, names="value")
        controls = W.VBox([self.source, self.upload, self.tempo, self.mode, self.runner.box,
                           self.player, self.text])
        self.box = mark(W.HBox([controls, self.map]), "nm-widget")
        self.refresh()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)

    # ----------------------------------------------------------------------------- work
    def settings(self):
        """The performance the controls describe now (None for an uploaded file)."""
        if self.source.value == UPLOAD:
            return None
        return replace(self.base, piece=self.source.value, tempo=float(self.tempo.value),
                       mode=self.mode.value)

    def refresh(self) -> None:
        """Render and place what the controls say (in the Runner thread)."""
        if self.source.value == UPLOAD:
            return
        self._wanted = self.settings()
        if not self.runner.running:
            self.runner.start()

    def _job(self, stop, report):
        from ..data import render_score

        done = None
        while self._wanted is not None and self._wanted != done and not stop.is_set():
            p = done = self._wanted
            report(0.1, f"rendering {p.piece} in {p.mode} at {p.tempo:.0f} BPM …")
            wave = render_score(p.piece, p)
            report(0.7, "placing it on the map …")
            self._show(wave, 16000, f"{p.piece} {p.mode} {p.tempo:.0f}")
        report(1.0, "")
        return self.mood

    def _show(self, wave, sr: int, name: str) -> None:
        from .. import music

        m = music.mood(wave, sr, model=self.model)
        self.wave, self.sr, self.mood = wave, sr, m
        self.history.append((name, m.valence, m.arousal))
        self.player.value = wav_bytes(wave, sr)
        self.text.value = (f"<b>{name}</b>: valence {m.valence:+.2f}, arousal {m.arousal:+.2f}: "
                           f"<i>{music.quadrant(m.valence, m.arousal)}</i>")
        self.map.value = figure_png(self.figure())

    def figure(self):
        """The map: earlier points faint, the current one red."""
        import matplotlib.pyplot as plt

        from .. import music

        fig, ax = plt.subplots(figsize=(5, 5))
        past = self.history[:-1][-12:]
        if past:
            ax.scatter([h[1] for h in past], [h[2] for h in past], s=18, color="0.7", zorder=2)
        if self.history:
            name, v, a = self.history[-1]
            music.plot_mood_map({name: (v, a)}, ax=ax, title="mood map")
        else:
            music.plot_mood_map({}, ax=ax)
        return fig

    # ---------------------------------------------------------------------------- upload
    def _on_upload(self, change) -> None:
        files = change["new"]
        if files:
            f = files[0]
            self.load_bytes(f["name"], bytes(f["content"]))

    def load_bytes(self, name: str, content: bytes) -> None:
        """Place an uploaded file (its bytes); errors are shown in the status line."""
        from .. import music

        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / Path(name).name
            path.write_bytes(content)
            try:
                wave, sr = music.load_audio(path)
                self.source.value = UPLOAD
                self._show(wave, sr, Path(name).stem)
                self.runner.status.value = "done"
            except (ValueError, OSError) as e:
                self.runner.status.value = f"<span class='nm-error' style='color:#b00'>error: {e}</span>"
