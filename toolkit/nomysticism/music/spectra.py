"""The network's input: a log-frequency spectrogram with one bin per semitone, and its chroma.

A mel spectrogram is fine for timbre but its bands do not line up with notes: a transposition
moves a chord by a different number of bands in each register. Here the STFT power is pooled by
triangular filters centred on the equal-tempered pitches (A4 = 440 Hz), ``bins_per_octave``
per octave — a constant-Q-like filterbank (Brown 1991, "Calculation of a constant Q spectral
transform") built from ``torch.stft``, without librosa: filter k is centred at
f_k = f_min · 2^(k / B) and falls linearly in log frequency to zero at its neighbours' centres.
Where the FFT bins are wider than that (low notes), a filter takes the linear interpolation of
the power spectrum at f_k instead, so no filter is empty. A transposition by s semitones is then
a shift by s·B/12 bins, and folding the octaves onto 12 pitch classes gives the chroma
(Wakefield 1999; Fujishima 1999) that key finders use.

- :func:`semitone_filterbank`: the (n_bins, n_fft//2 + 1) weights;
- :func:`log_frequency`: the (n_bins, T) spectrogram in dB (absolute reference, like ``log_mel``);
- :func:`fold_chroma`: (…, n_bins, T) power → (…, 12, T) pitch-class energy;
- :func:`pitch_of_bin`: the MIDI pitch at the centre of each bin.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from ..audio import AudioError, stft_power

__all__ = ["semitone_filterbank", "log_frequency", "fold_chroma", "pitch_of_bin", "LOG_FREQ"]

#: Defaults: C2 (65.4 Hz, MIDI 36) up 6 octaves to B7 (3951 Hz), 12 bins an octave, 20 ms hop at
#: 16 kHz, a 256-ms window (3.9 Hz FFT bins: finer than a semitone from about 70 Hz up).
LOG_FREQ = {"n_fft": 4096, "hop_length": 320, "fmin_midi": 36, "n_bins": 72, "bins_per_octave": 12}


def pitch_of_bin(n_bins: int = LOG_FREQ["n_bins"], fmin_midi: float = LOG_FREQ["fmin_midi"],
                 bins_per_octave: int = LOG_FREQ["bins_per_octave"]) -> np.ndarray:
    """(n_bins,) MIDI pitch of each bin's centre: fmin_midi + 12 k / bins_per_octave."""
    return fmin_midi + 12.0 * np.arange(n_bins) / bins_per_octave


@lru_cache(maxsize=16)
def _bank(sr: int, n_fft: int, fmin_midi: float, n_bins: int, bpo: int) -> np.ndarray:
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    centre = 440.0 * 2.0 ** ((pitch_of_bin(n_bins, fmin_midi, bpo) - 69) / 12.0)
    if centre[-1] * 2 ** (1 / bpo) > sr / 2:
        raise ValueError(f"the top bin ({centre[-1]:.0f} Hz) is too close to sr/2 = {sr / 2:.0f} Hz")
    with np.errstate(divide="ignore"):
        octs = np.log2(np.maximum(freqs, 1e-9)[None, :] / centre[:, None])  # (K, F)
    tri = np.maximum(0.0, 1.0 - np.abs(octs) * bpo)  # zero at the neighbours' centres
    df = freqs[1] - freqs[0]
    interp = np.maximum(0.0, 1.0 - np.abs(freqs[None, :] - centre[:, None]) / df)
    w = np.where((tri > 0).sum(1, keepdims=True) >= 2, tri, interp)
    return w / w.sum(1, keepdims=True)  # each filter averages the power it covers


def semitone_filterbank(sr: int, n_fft: int = LOG_FREQ["n_fft"], fmin_midi: float = LOG_FREQ["fmin_midi"],
                        n_bins: int = LOG_FREQ["n_bins"],
                        bins_per_octave: int = LOG_FREQ["bins_per_octave"],
                        dtype=torch.float32) -> torch.Tensor:
    """Brown 1991's constant-Q idea on the STFT: (n_bins, n_fft//2 + 1) triangular filters centred
    at 440·2^((m − 69)/12) Hz for m = fmin_midi + 12k/B, each row summing to 1."""
    if bins_per_octave < 1 or n_bins < 1:
        raise ValueError(f"need n_bins >= 1 and bins_per_octave >= 1, got {n_bins}, {bins_per_octave}")
    return torch.from_numpy(_bank(int(sr), int(n_fft), float(fmin_midi), int(n_bins),
                                  int(bins_per_octave))).to(dtype)


def log_frequency(audio, sr: int, n_fft: int = LOG_FREQ["n_fft"],
                  hop_length: int = LOG_FREQ["hop_length"], fmin_midi: float = LOG_FREQ["fmin_midi"],
                  n_bins: int = LOG_FREQ["n_bins"], bins_per_octave: int = LOG_FREQ["bins_per_octave"],
                  amin: float = 1e-10, top_db: float | None = 80.0) -> torch.Tensor:
    """The semitone spectrogram (n_bins, n_frames) in dB: 10 log10(max(W |STFT|², amin)), W from
    :func:`semitone_filterbank`; floored at max − ``top_db``; the frames are ``log_mel``'s."""
    p = stft_power(audio, n_fft, hop_length)
    if not torch.is_floating_point(p):
        raise AudioError("expected a floating-point waveform")
    w = semitone_filterbank(sr, n_fft, fmin_midi, n_bins, bins_per_octave, dtype=p.dtype).to(p.device)
    hi = int(torch.nonzero(w.sum(0)).max()) + 1  # the FFT bins above the top filter are unused
    db = 10.0 * torch.log10(torch.clamp(w[:, :hi] @ p[:hi], min=amin))
    if top_db is not None:
        db = torch.maximum(db, db.max() - float(top_db))
    return db


def fold_chroma(power: torch.Tensor, bins_per_octave: int = LOG_FREQ["bins_per_octave"],
                fmin_midi: float = LOG_FREQ["fmin_midi"]) -> torch.Tensor:
    """Fold (…, n_bins, T) *power* (not dB) onto the 12 pitch classes (C = 0): (…, 12, T), each
    semitone bin added to the class of its centre pitch (bins between semitones are dropped)."""
    if bins_per_octave % 12:
        raise ValueError(f"bins_per_octave must be a multiple of 12, got {bins_per_octave}")
    step = bins_per_octave // 12
    x = power[..., ::step, :]  # the bins centred on semitones
    pc0 = int(round(fmin_midi)) % 12
    octaves = math.ceil((x.shape[-2] + pc0) / 12)
    pad = octaves * 12 - x.shape[-2] - pc0
    x = torch.nn.functional.pad(x.transpose(-1, -2), (pc0, pad)).transpose(-1, -2)
    return x.reshape(*x.shape[:-2], octaves, 12, x.shape[-1]).sum(-3)
