"""Sound in and out: read an audio file as a mono waveform, write one, and the log-mel spectrogram.

    wave, sr = nm.audio.load_audio("song.flac")          # (n,) float32 in [-1, 1], sr = 16000
    S = nm.audio.log_mel(wave, sr)                        # (n_mels, n_frames) in dB

- :func:`load_audio`: WAV / FLAC / OGG (anything libsndfile reads) through ``soundfile``, made
  mono (the channel mean) and resampled (polyphase, ``scipy.signal.resample_poly``) to ``sr``;
  8-, 16-, 24- and 32-bit integer and float files all come back as floats in [-1, 1].
  Broken, empty, too short or non-finite files raise :class:`AudioError` saying which file and
  why; a silent file is returned as it is (zeros; :func:`is_silent` tells).
- :func:`save_audio`: a waveform to WAV / FLAC / OGG, atomically (no half-written file).
- :func:`mel_filterbank` and :func:`log_mel`: the short-time Fourier transform (``torch.stft``,
  periodic Hann window, centred frames) → power → triangular mel filters → decibels. The mel
  scale and filter normalisation are Slaney's (Auditory Toolbox, 1998), librosa's defaults;
  ``htk=True`` gives O'Shaughnessy's 2595 log10(1 + f/700). ``tests/test_audio.py`` checks both
  against librosa. (torchaudio has no release for the torch this project pins, so it is not used.)

This is core: the music data (``nm.data.music``) and the music topic (``nm.music``) both use it.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .assets import atomic_write

__all__ = ["SR", "AudioError", "load_audio", "save_audio", "resample", "to_mono", "is_silent",
           "hz_to_mel", "mel_to_hz", "mel_filterbank", "stft_power", "log_mel", "LOG_MEL"]

#: The sample rate the toolkit works at (Hz): enough for the mel bands up to 8 kHz.
SR = 16000
#: Default log-mel settings (16 kHz, 20-ms hop; the music CNN itself reads ``nm.music.spectra``'s
#: semitone spectrogram, on the same frames).
LOG_MEL = {"n_fft": 1024, "hop_length": 320, "n_mels": 96, "fmin": 40.0, "fmax": 8000.0}
#: Shortest file :func:`load_audio` accepts by default (s): one analysis frame at 16 kHz.
MIN_SECONDS = 0.064
SILENCE = 1e-4  # peak amplitude below which a waveform counts as silent


class AudioError(ValueError):
    """An audio file or waveform that cannot be used: unreadable, empty, too short, non-finite."""


def to_mono(x: np.ndarray) -> np.ndarray:
    """(n,) or (n, channels) → (n,): the mean of the channels."""
    return x if x.ndim == 1 else x.mean(axis=1)


def resample(x, sr_in: int, sr_out: int):
    """Polyphase resampling (``scipy.signal.resample_poly``, Kaiser-windowed FIR) by sr_out/sr_in.

    Takes and returns a numpy array or a torch tensor (1-D, or the last axis)."""
    from scipy.signal import resample_poly

    if int(sr_in) <= 0 or int(sr_out) <= 0:
        raise AudioError(f"sample rates must be positive, got {sr_in} → {sr_out}")
    if int(sr_in) == int(sr_out):
        return x
    r = Fraction(int(sr_out), int(sr_in))
    is_t = isinstance(x, torch.Tensor)
    a = x.detach().cpu().double().numpy() if is_t else np.asarray(x, dtype=np.float64)
    y = resample_poly(a, r.numerator, r.denominator, axis=-1)
    return torch.from_numpy(y.astype(np.float32)) if is_t else y.astype(np.float32)


def is_silent(wave, threshold: float = SILENCE) -> bool:
    """True if the waveform's peak amplitude is below ``threshold`` (1e-4 ≈ −80 dBFS)."""
    w = wave.detach().abs() if isinstance(wave, torch.Tensor) else torch.as_tensor(np.abs(wave))
    return w.numel() == 0 or float(w.max()) < threshold


def load_audio(path, sr: int | None = SR, mono: bool = True,
               min_seconds: float = MIN_SECONDS) -> tuple[torch.Tensor, int]:
    """Read an audio file: ``(wave, sr)``, wave a float32 tensor in [-1, 1], (n,) when ``mono``.

    ``sr=None`` keeps the file's rate. Integer files (8-bit unsigned, 16, 24, 32-bit) are scaled
    by libsndfile to [-1, 1); multichannel files are averaged. Raises ``FileNotFoundError`` for a
    missing path and :class:`AudioError` for a file that is not audio or is truncated, has no
    samples, is shorter than ``min_seconds`` or holds NaN/inf. Silence is returned as it is.
    """
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no audio file {str(p)!r}")
    if p.is_dir():
        raise AudioError(f"{str(p)!r} is a folder, not an audio file")
    try:
        data, file_sr = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioError(f"cannot read {str(p)!r} as audio (WAV, FLAC, OGG, ...): {e}") from None
    if data.shape[0] == 0:
        raise AudioError(f"{str(p)!r} has no samples")
    seconds = data.shape[0] / file_sr
    if seconds < min_seconds:
        raise AudioError(f"{str(p)!r} is {seconds * 1000:.1f} ms long; at least "
                         f"{min_seconds * 1000:.0f} ms is needed")
    if not np.isfinite(data).all():
        raise AudioError(f"{str(p)!r} has NaN or infinite samples")
    x = to_mono(data) if mono else data.T
    if sr is not None and sr != file_sr:
        x = resample(x, file_sr, sr)
    else:
        sr = file_sr
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), int(sr)


def save_audio(path, wave, sr: int, subtype: str | None = None) -> Path:
    """Write a (n,) or (channels, n) waveform in [-1, 1] (clipped) atomically; the format comes
    from the suffix (.wav, .flac, .ogg); ``subtype`` e.g. ``"PCM_16"`` (default), ``"PCM_24"``."""
    import soundfile as sf

    w = wave.detach().cpu().numpy() if isinstance(wave, torch.Tensor) else np.asarray(wave)
    w = np.clip(w.astype(np.float32), -1, 1)
    w = w.T if w.ndim == 2 else w
    fmt = Path(path).suffix.lstrip(".").upper() or "WAV"
    return atomic_write(path, lambda tmp: sf.write(tmp, w, int(sr), subtype=subtype, format=fmt))


# ---------------------------------------------------------------- the mel scale and filterbank
_F_SP = 200.0 / 3  # Slaney: 66.67 Hz per mel below 1 kHz
_MIN_LOG_HZ, _MIN_LOG_MEL, _LOGSTEP = 1000.0, 15.0, math.log(6.4) / 27.0


def hz_to_mel(f, htk: bool = False):
    """Hz → mel. Slaney 1998: linear (f / 66.67) below 1 kHz, logarithmic above
    (15 + 27 ln(f/1000) / ln 6.4); ``htk``: O'Shaughnessy 1987, 2595 log10(1 + f/700)."""
    f = np.asarray(f, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    lin = f / _F_SP
    return np.where(f >= _MIN_LOG_HZ,
                    _MIN_LOG_MEL + np.log(np.maximum(f, 1e-10) / _MIN_LOG_HZ) / _LOGSTEP, lin)


def mel_to_hz(m, htk: bool = False):
    """The inverse of :func:`hz_to_mel`."""
    m = np.asarray(m, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)


@lru_cache(maxsize=16)
def _filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float, htk: bool,
                norm: str | None) -> np.ndarray:
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    w = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":  # each triangle has unit area in Hz (constant energy per band)
        w *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    elif norm is not None:
        raise ValueError(f"norm must be 'slaney' or None, not {norm!r}")
    return w


def mel_filterbank(sr: int, n_fft: int, n_mels: int = 96, fmin: float = 0.0,
                   fmax: float | None = None, htk: bool = False, norm: str | None = "slaney",
                   dtype=torch.float32) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) triangular filters, equally spaced on the mel scale between
    ``fmin`` and ``fmax`` (default sr/2); each overlaps its neighbours by half (Slaney 1998)."""
    fmax = sr / 2 if fmax is None else float(fmax)
    if not 0 <= fmin < fmax <= sr / 2 + 1e-9:
        raise ValueError(f"need 0 <= fmin < fmax <= sr/2, got fmin={fmin}, fmax={fmax}, sr={sr}")
    return torch.from_numpy(_filterbank(int(sr), int(n_fft), int(n_mels), float(fmin), fmax,
                                        bool(htk), norm)).to(dtype)


def _as_wave(audio) -> torch.Tensor:
    x = audio if isinstance(audio, torch.Tensor) else torch.as_tensor(np.asarray(audio))
    if x.ndim == 2 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 1:
        raise AudioError(f"expected a mono waveform (n,), got shape {tuple(x.shape)}; "
                         "use nm.audio.load_audio (mono) or average the channels")
    if x.numel() == 0:
        raise AudioError("the waveform has no samples")
    if not torch.isfinite(x).all():
        raise AudioError("the waveform has NaN or infinite samples")
    return x if x.is_floating_point() else x.float()


def stft_power(audio, n_fft: int = 1024, hop_length: int | None = None,
               center: bool = True) -> torch.Tensor:
    """|STFT|² (n_fft//2 + 1, n_frames): ``torch.stft`` with a periodic Hann window; centred
    frames pad n_fft/2 zeros each side (librosa's ``pad_mode="constant"``)."""
    x = _as_wave(audio)
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    if center:
        x = torch.nn.functional.pad(x, (n_fft // 2, n_fft // 2))
    if x.numel() < n_fft:
        x = torch.nn.functional.pad(x, (0, n_fft - x.numel()))
    win = torch.hann_window(n_fft, periodic=True, dtype=x.dtype, device=x.device)
    spec = torch.stft(x, n_fft, hop, window=win, center=False, return_complex=True)
    return spec.real ** 2 + spec.imag ** 2


def log_mel(audio, sr: int, n_fft: int = LOG_MEL["n_fft"], hop_length: int = LOG_MEL["hop_length"],
            n_mels: int = LOG_MEL["n_mels"], fmin: float = LOG_MEL["fmin"],
            fmax: float | None = LOG_MEL["fmax"], htk: bool = False, amin: float = 1e-10,
            top_db: float | None = 80.0) -> torch.Tensor:
    """The log-mel spectrogram (n_mels, n_frames) in dB: 10 log10(max(M |STFT|², amin)).

    M is :func:`mel_filterbank`; ``top_db`` floors everything at (max − top_db) dB, as
    librosa's ``power_to_db(ref=1.0)``. The reference is absolute (1.0), so loudness is kept.
    Keeps ``audio``'s dtype and device, and is differentiable.
    """
    x = _as_wave(audio)
    p = stft_power(x, n_fft, hop_length)
    fmax = sr / 2 if fmax is None else min(float(fmax), sr / 2)
    m = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, dtype=p.dtype).to(p.device) @ p
    db = 10.0 * torch.log10(torch.clamp(m, min=amin))
    if top_db is not None:
        db = torch.maximum(db, db.max() - float(top_db))
    return db
