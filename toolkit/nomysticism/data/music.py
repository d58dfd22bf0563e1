"""Music with mood labels, made here: Bach chorales from the music21 corpus, performed and rendered.

No music-emotion data set (DEAM, PMEmo, MediaEval) can be downloaded here, so the clips are made
here: a chorale from the corpus in music21's wheel, a *performance* (:class:`Performance`: mode,
tempo, loudness, register, articulation, instrument, harmony, brightness), a small MIDI file,
and FluidSynth with Debian's 6 MB General MIDI soundfont (``timgm6mb-soundfont``). Its labels
are not listeners' ratings: they come from :data:`LABEL_FORMULA`, a weighted sum of what the
music-psychology literature finds drives perceived mood (Gabrielsson & Lindström 2010;
Juslin & Laukka 2004; Eerola & Vuoskoski 2011)::

    valence = ( 0.50·mode + 0.25·harmony + 0.25·brightness ) / 1.00
    arousal = ( 0.35·tempo + 0.25·velocity + 0.15·register + 0.15·articulation
                + 0.10·instrument ) / 1.00

every factor scaled to [-1, 1] by :func:`factors` (mode +1 major / −1 minor; harmony +1
consonant / −1 with a semitone cluster on every chord; tempo log-scaled 50 → 170 BPM; staccato
+1, legato −1; instrument: the calm/energetic value in :data:`INSTRUMENTS`), so both labels are
in [-1, 1] and rise with each factor. Pass another formula to :func:`labels` or
:meth:`MusicClips.labels` to change it: the audio does not depend on it, only the targets.

The mode factor is a real manipulation: :func:`parallel_mode` moves a piece to its parallel
major or minor (3rd and 6th degrees, and the 7th, up or down a semitone), so the same melody is
rendered in both modes (clips come in such pairs). Pieces and instruments are split:
:data:`HELD_OUT_PIECES` and :data:`HELD_OUT_INSTRUMENTS` never appear in training.

- :func:`music_clips`: ``n`` clips (``split="train"`` or ``"test"``) as :class:`MusicClips`;
  the audio is cached under :func:`cache_dir` (``$NOMYSTICISM_CACHE`` or the user cache
  folder, ``~/.cache/nomysticism`` on Linux), never in the package.
- :func:`render_score`: a music21 stream (or a corpus name) and a performance → waveform.
- :func:`deam_folder`: the same interface pointed at the real DEAM folder, when you have it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch

from ..audio import SR, load_audio, save_audio

__all__ = ["music_clips", "MusicClips", "render_score", "Performance", "LABEL_FORMULA", "labels",
           "factors", "parallel_mode", "piece_notes", "INSTRUMENTS", "TRAIN_INSTRUMENTS",
           "HELD_OUT_INSTRUMENTS", "PIECES", "TRAIN_PIECES", "HELD_OUT_PIECES", "cache_dir",
           "soundfont", "RenderError", "deam_folder", "TEMPO_RANGE", "VELOCITY_RANGE"]

RENDER_VERSION = 1  # bump when rendering changes: old cache entries are then ignored


class RenderError(OSError):
    """FluidSynth or the soundfont is missing, or rendering failed."""


#: The label formula: factor → weight, per axis. Each label is Σ w·factor / Σ |w| (in [-1, 1]).
LABEL_FORMULA = MappingProxyType({
    "valence": MappingProxyType({"mode": 0.50, "harmony": 0.25, "brightness": 0.25}),
    "arousal": MappingProxyType({"tempo": 0.35, "velocity": 0.25, "register": 0.15,
                                 "articulation": 0.15, "instrument": 0.10}),
})
TEMPO_RANGE = (50.0, 170.0)   # BPM, log-scaled to [-1, 1]
VELOCITY_RANGE = (35, 120)    # MIDI velocity, linear to [-1, 1]
ARTICULATION_RANGE = (0.25, 1.0)  # sounding fraction of each note: staccato … legato

#: name → (General MIDI program, instrument factor: −1 calm … +1 energetic). The values are
#: this project's reading of the usual associations (soft sustained timbres calm; bright,
#: noisy, percussive ones energetic), not measurements.
INSTRUMENTS = MappingProxyType({
    "piano": (0, 0.0), "harpsichord": (6, 0.3), "marimba": (12, 0.2), "church_organ": (19, -0.2),
    "distortion_guitar": (30, 1.0), "strings": (48, -0.4), "choir": (52, -0.6),
    "trumpet": (56, 0.6), "brass_section": (61, 0.7), "flute": (73, -0.4),
    "square_lead": (80, 0.8), "warm_pad": (89, -1.0),
    # held out (never trained on)
    "electric_piano": (4, -0.1), "overdriven_guitar": (29, 0.8), "synth_strings": (50, -0.5),
    "clarinet": (71, -0.3), "alto_sax": (65, 0.4),
})
HELD_OUT_INSTRUMENTS = ("electric_piano", "overdriven_guitar", "synth_strings", "clarinet", "alto_sax")
TRAIN_INSTRUMENTS = tuple(k for k in INSTRUMENTS if k not in HELD_OUT_INSTRUMENTS)


@lru_cache(maxsize=1)
def _all_pieces() -> tuple[str, ...]:
    from music21 import corpus

    names = sorted({Path(str(p)).stem for p in corpus.getComposer("bach")
                    if Path(str(p)).stem.startswith("bwv")})
    return tuple(names)


#: 60 Bach chorales (music21 corpus names, in sorted order); every fifth one is held out.
PIECES = ("bwv1.6", "bwv10.7", "bwv101.7", "bwv102.7", "bwv103.6", "bwv104.6", "bwv108.6",
          "bwv11.6", "bwv110.7", "bwv111.6", "bwv112.5", "bwv113.8", "bwv114.7", "bwv115.6",
          "bwv116.6", "bwv117.4", "bwv119.9", "bwv12.7", "bwv121.6", "bwv122.6", "bwv123.6",
          "bwv124.6", "bwv125.6", "bwv126.6", "bwv127.5", "bwv128.5", "bwv13.6", "bwv130.6",
          "bwv133.6", "bwv135.6", "bwv136.6", "bwv137.5", "bwv139.6", "bwv14.5", "bwv140.7",
          "bwv144.3", "bwv144.6", "bwv145.5", "bwv146.8", "bwv148.6", "bwv149.7", "bwv151.5",
          "bwv153.1", "bwv153.5", "bwv153.9", "bwv154.3", "bwv154.8", "bwv155.5", "bwv156.6",
          "bwv157.5", "bwv158.4", "bwv159.5", "bwv16.6", "bwv161.6", "bwv162.6-lpz", "bwv164.6",
          "bwv165.6", "bwv166.6", "bwv168.6", "bwv169.7")
HELD_OUT_PIECES = PIECES[4::5]
TRAIN_PIECES = tuple(p for p in PIECES if p not in HELD_OUT_PIECES)


@dataclass(frozen=True)
class Performance:
    """How a piece is played. ``mode``: "major", "minor" (via :func:`parallel_mode`) or None
    (as written); ``register``: octaves up (+) or down; ``articulation``: sounding fraction of
    each note (0.25 staccato … 1 legato); ``dissonance``: fraction of chords given a semitone
    cluster (harmony = 1 − 2·dissonance); ``brightness``: spectral tilt in [-1, 1];
    ``start``: where to start (quarter notes); ``seconds``: clip length."""

    piece: str = "bwv1.6"
    mode: str | None = None
    tempo: float = 90.0
    velocity: int = 80
    register: int = 0
    articulation: float = 0.9
    instrument: str = "piano"
    dissonance: float = 0.0
    brightness: float = 0.0
    start: float = 0.0
    seconds: float = 6.0
    seed: int = 0

    def key(self) -> str:
        return hashlib.sha1(json.dumps([RENDER_VERSION, asdict(self)], sort_keys=True).encode()
                            ).hexdigest()[:20]


def factors(p: Performance, written_mode: str | None = None) -> dict[str, float]:
    """Each label factor of ``p`` scaled to [-1, 1] (see the module docstring)."""
    mode = p.mode or written_mode or piece_notes(p.piece)[1][1]
    lo, hi = TEMPO_RANGE
    vlo, vhi = VELOCITY_RANGE
    alo, ahi = ARTICULATION_RANGE
    clip = lambda v: float(min(1.0, max(-1.0, v)))  # noqa: E731
    return {
        "mode": 1.0 if mode == "major" else -1.0,
        "harmony": clip(1.0 - 2.0 * p.dissonance),
        "brightness": clip(p.brightness),
        "tempo": clip(2 * (math.log(p.tempo) - math.log(lo)) / (math.log(hi) - math.log(lo)) - 1),
        "velocity": clip(2 * (p.velocity - vlo) / (vhi - vlo) - 1),
        "register": clip(p.register),
        "articulation": clip(2 * (ahi - p.articulation) / (ahi - alo) - 1),
        "instrument": clip(INSTRUMENTS[p.instrument][1]),
    }


def labels(p: Performance, formula=None, written_mode: str | None = None) -> tuple[float, float]:
    """(valence, arousal) of a performance under ``formula`` (default :data:`LABEL_FORMULA`)."""
    formula = LABEL_FORMULA if formula is None else formula
    f = factors(p, written_mode)
    out = []
    for axis in ("valence", "arousal"):
        w = formula[axis]
        unknown = set(w) - set(f)
        if unknown:
            raise ValueError(f"unknown {axis} factors {sorted(unknown)}; known: {sorted(f)}")
        total = sum(abs(v) for v in w.values())
        out.append(sum(v * f[k] for k, v in w.items()) / total if total else 0.0)
    return out[0], out[1]


# ----------------------------------------------------------------------------- scores → notes
@lru_cache(maxsize=256)
def piece_notes(name: str) -> tuple[tuple[tuple[float, float, int], ...], tuple[int, str], float]:
    """A corpus piece as ((onset, duration, midi pitch) in quarter notes, (tonic pitch class,
    mode), length): ties merged, all parts together; the key from music21's key analysis."""
    from music21 import corpus

    try:
        score = corpus.parse(name)
    except Exception as e:  # music21 raises its own CorpusException
        raise ValueError(f"no piece {name!r} in the music21 corpus ({e})") from None
    return _notes_of(score)


def _notes_of(score):
    s = score.stripTies()
    notes = tuple((float(n.offset), float(n.quarterLength), int(p.midi))
                  for n in s.flatten().notes for p in n.pitches if n.quarterLength > 0)
    if not notes:
        raise ValueError("the score has no notes")
    k = s.analyze("key")
    return notes, (int(k.tonic.pitchClass), str(k.mode)), float(s.highestTime)


def parallel_mode(notes, tonic: int, source: str, target: str):
    """Move notes to the parallel mode: major → (harmonic) minor lowers scale degrees 3 and 6;
    minor → major raises the minor 3rd, 6th and 7th. Other pitches are kept."""
    if source == target or target is None:
        return tuple(notes)
    shift = {4: -1, 9: -1} if target == "minor" else {3: 1, 8: 1, 10: 1}
    return tuple((on, d, m + shift.get((m - tonic) % 12, 0)) for on, d, m in notes)


def _performed(p: Performance, notes, key, length):
    """The notes of the clip: mode, window, dissonance, register, articulation (onset/duration in
    seconds, pitch, velocity)."""
    notes = parallel_mode(notes, key[0], key[1], p.mode)
    spb = 60.0 / p.tempo
    need = p.seconds / spb
    start = max(0.0, min(p.start, length - need)) if length > need else 0.0
    win = [(on - start, d, m) for on, d, m in notes if start <= on < start + need]
    rng = np.random.default_rng(p.seed)
    extra = []
    for on in sorted({on for on, _, _ in win}):
        if rng.random() < p.dissonance:
            top = max(m for o, _, m in win if o == on)
            d = min(d for o, d, _ in win if o == on)
            extra.append((on, d, top + 1))  # a semitone above the top voice: a cluster
    out = []
    for on, d, m in win + extra:
        pitch = int(np.clip(m + 12 * p.register, 21, 108))
        out.append((on * spb, max(0.03, d * spb * p.articulation), pitch, int(p.velocity)))
    return out


def _midi_bytes(events, program: int, tpq: int = 480, tempo: float = 120.0) -> bytes:
    """A type-0 standard MIDI file: one program change, notes (onset s, duration s, pitch, vel)."""
    tick = lambda s: int(round(s * tpq * tempo / 60.0))  # noqa: E731
    ev = []
    for on, d, m, v in events:
        ev += [(tick(on), 1, bytes([0x90, m, max(1, min(127, v))])), (tick(on + d), 0, bytes([0x80, m, 0]))]
    ev.sort(key=lambda e: (e[0], e[1]))

    def vlq(n):
        b = [n & 0x7F]
        while n > 0x7F:
            n >>= 7
            b.insert(0, (n & 0x7F) | 0x80)
        return bytes(b)

    us = int(round(60e6 / tempo))
    data = bytearray(b"\x00\xff\x51\x03" + us.to_bytes(3, "big") + b"\x00" + bytes([0xC0, program]))
    last = 0
    for t, _, msg in ev:
        data += vlq(t - last) + msg
        last = t
    data += b"\x00\xff\x2f\x00"
    return (b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big")
            + tpq.to_bytes(2, "big") + b"MTrk" + len(data).to_bytes(4, "big") + bytes(data))


def soundfont() -> Path:
    """The General MIDI soundfont: ``$NM_SOUNDFONT``, else Debian's TimGM6mb."""
    for c in (os.environ.get("NM_SOUNDFONT"), "/usr/share/sounds/sf2/TimGM6mb.sf2",
              "/usr/share/sounds/sf2/default-GM.sf2"):
        if c and Path(c).is_file():
            return Path(c)
    raise RenderError("no soundfont: install Debian's timgm6mb-soundfont "
                      "(bash scripts/system-packages.sh) or set NM_SOUNDFONT to a .sf2 file")


def _fluidsynth(midi: bytes, sr: int) -> np.ndarray:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise RenderError("the fluidsynth program is not installed (bash scripts/system-packages.sh)")
    with tempfile.TemporaryDirectory(prefix="nm-render-") as d:
        mid, wav = Path(d, "in.mid"), Path(d, "out.wav")
        mid.write_bytes(midi)
        cmd = [exe, "-ni", "-q", "-R", "0", "-C", "0", "-g", "1.0", "-r", str(sr), "-T", "wav",
               "-F", str(wav), str(soundfont()), str(mid)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or not wav.is_file():
            raise RenderError(f"fluidsynth failed ({r.returncode}): {r.stderr.strip()[-300:]}")
        import soundfile as sf

        return sf.read(str(wav), dtype="float32", always_2d=True)[0].mean(1)


def _tilt(x: np.ndarray, sr: int, brightness: float, fc: float = 1200.0) -> np.ndarray:
    """Spectral tilt: lowpass + (1 + b)·(x − lowpass), a one-pole split at ``fc`` Hz."""
    if brightness == 0:
        return x
    from scipy.signal import lfilter

    a = math.exp(-2 * math.pi * fc / sr)
    low = lfilter([1 - a], [1, -a], x).astype(np.float32)
    return low + (1.0 + brightness) * (x - low)


def render_score(score, performance: Performance | None = None, sr: int = SR, **changes) -> torch.Tensor:
    """Render a music21 stream, or a corpus name, with a :class:`Performance` (``changes``
    override its fields): a (n,) float32 waveform at ``sr``, exactly ``seconds`` long."""
    p = replace(performance or Performance(), **changes)
    if p.instrument not in INSTRUMENTS:
        raise ValueError(f"unknown instrument {p.instrument!r}; known: {', '.join(INSTRUMENTS)}")
    if not (p.tempo > 0 and p.seconds > 0):
        raise ValueError(f"tempo and seconds must be positive, got {p.tempo}, {p.seconds}")
    if p.mode not in (None, "major", "minor"):
        raise ValueError(f"mode must be 'major', 'minor' or None, not {p.mode!r}")
    notes, key, length = piece_notes(score) if isinstance(score, str) else _notes_of(score)
    ev = _performed(p, notes, key, length)
    x = _fluidsynth(_midi_bytes(ev, INSTRUMENTS[p.instrument][0]), sr)
    x = _tilt(x, sr, p.brightness)
    n = int(round(p.seconds * sr))
    x = np.pad(x[:n], (0, max(0, n - len(x))))
    return torch.from_numpy(np.clip(x, -1, 1).astype(np.float32))


def cache_dir() -> Path:
    """Where rendered clips are kept: ``$NOMYSTICISM_CACHE/music``, else the user cache folder."""
    root = os.environ.get("NOMYSTICISM_CACHE")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("nomysticism")
    return Path(root) / "music"


def _cached(p: Performance, sr: int) -> torch.Tensor:
    f = cache_dir() / f"{p.key()}-{sr}.flac"
    if f.is_file():
        try:
            return load_audio(f, sr=None)[0]
        except ValueError:
            f.unlink(missing_ok=True)  # a damaged entry: render again
    x = render_score(p.piece, p, sr=sr)
    save_audio(f, x, sr, subtype="PCM_16")
    return load_audio(f, sr=None)[0]  # what a later call reads (16-bit), so runs agree


@dataclass
class MusicClips:
    """Rendered clips: ``audio`` (N, n) float32 at ``sr``, their :class:`Performance` s, and the
    labels under ``formula``; :meth:`labels` recomputes them for another formula."""

    audio: torch.Tensor
    sr: int
    performances: list
    split: str
    formula: dict = field(default_factory=lambda: LABEL_FORMULA)

    def labels(self, formula=None) -> torch.Tensor:
        """(N, 2) float32 (valence, arousal) under ``formula`` (default: the clips' own)."""
        f = self.formula if formula is None else formula
        return torch.tensor([labels(p, f) for p in self.performances], dtype=torch.float32)

    @property
    def valence(self) -> torch.Tensor:
        return self.labels()[:, 0]

    @property
    def arousal(self) -> torch.Tensor:
        return self.labels()[:, 1]

    @property
    def pieces(self) -> list[str]:
        return [p.piece for p in self.performances]

    @property
    def instruments(self) -> list[str]:
        return [p.instrument for p in self.performances]

    def __len__(self) -> int:
        return len(self.performances)


def performances(n: int, seed: int = 0, split: str = "train", seconds: float = 6.0,
                 pieces=None, instruments=None) -> list[Performance]:
    """``n`` random performances, in pairs: the same piece and playing, major then minor."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    pieces = tuple(pieces or (TRAIN_PIECES if split == "train" else HELD_OUT_PIECES))
    instruments = tuple(instruments or (TRAIN_INSTRUMENTS if split == "train" else HELD_OUT_INSTRUMENTS))
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    out = []
    lo, hi = TEMPO_RANGE
    while len(out) < n:
        piece = pieces[rng.integers(len(pieces))]
        base = Performance(
            piece=piece, tempo=float(round(math.exp(rng.uniform(math.log(lo), math.log(hi))), 1)),
            velocity=int(rng.integers(VELOCITY_RANGE[0], VELOCITY_RANGE[1] + 1)),
            register=int(rng.integers(-1, 2)),
            articulation=float(round(rng.uniform(*ARTICULATION_RANGE), 2)),
            instrument=instruments[rng.integers(len(instruments))],
            dissonance=float(round(rng.uniform(0, 1), 2)),
            brightness=float(round(rng.uniform(-0.9, 1.0), 2)),
            start=float(rng.integers(0, 8)), seconds=float(seconds), seed=int(rng.integers(1 << 30)))
        for mode in ("major", "minor"):
            if len(out) < n:
                out.append(replace(base, mode=mode))
    return out


def music_clips(n: int = 64, seed: int = 0, split: str = "train", seconds: float = 6.0,
                sr: int = SR, formula=None, pieces=None, instruments=None,
                progress: bool = True) -> MusicClips:
    """``n`` rendered clips of the ``split`` ("train": :data:`TRAIN_PIECES` on
    :data:`TRAIN_INSTRUMENTS`; "test": the held-out pieces on the held-out instruments), the
    same for the same arguments; rendered once, then read from :func:`cache_dir`."""
    from ..progress import Loop

    perfs = performances(n, seed, split, seconds, pieces, instruments)
    loop = Loop(len(perfs), progress=progress, desc=f"music clips ({split})", unit="clip")
    waves = []
    for i in loop:
        waves.append(_cached(perfs[i], sr))
        loop.report(i + 1)
    return MusicClips(torch.stack(waves), sr, perfs, split,
                      LABEL_FORMULA if formula is None else formula)


def deam_folder(root, sr: int = SR, seconds: float | None = 45.0, limit: int | None = None):
    """The real data, when you have it: DEAM (Aljanaki, Yang & Soleymani 2017) unpacked at
    ``root``, yielding (song id, waveform, (valence, arousal)) with the 1–9 averaged static
    ratings scaled to [-1, 1]. Reads ``annotations/**/static_annotations_averaged_songs*.csv``
    and ``MEMD_audio/<id>.mp3`` (libsndfile ≥ 1.1 reads MP3)."""
    import csv

    root = Path(root)
    tables = sorted(root.glob("**/static_annotations_averaged_songs*.csv"))
    if not tables:
        raise FileNotFoundError(f"no DEAM static_annotations_averaged_songs*.csv under {str(root)!r}")
    count = 0
    for table in tables:
        with open(table, newline="") as fh:
            for row in csv.DictReader(fh, skipinitialspace=True):
                row = {k.strip(): v for k, v in row.items()}
                files = list(root.glob(f"**/MEMD_audio/{int(row['song_id'])}.mp3"))
                if not files:
                    continue
                wave, _ = load_audio(files[0], sr=sr)
                if seconds:
                    wave = wave[: int(seconds * sr)]
                yield int(row["song_id"]), wave, ((float(row["valence_mean"]) - 5) / 4,
                                                   (float(row["arousal_mean"]) - 5) / 4)
                count += 1
                if limit and count >= limit:
                    return
