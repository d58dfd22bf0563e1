"""nm.audio: load_audio against independently written files (stdlib ``wave``), log_mel and the
mel filterbank against librosa at matching settings."""

from __future__ import annotations

import wave as stdlib_wave

import numpy as np
import pytest
import torch
from nomysticism import audio as A

librosa = pytest.importorskip("librosa")  # the reference (dev extra)


def _sine(sr, seconds=0.5, f=440.0, amp=0.5):
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * f * t)).astype(np.float64)


def _write_pcm(path, ints: np.ndarray, width: int, sr: int, channels: int = 1):
    """A PCM WAV written by the standard library, not by libsndfile."""
    with stdlib_wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(sr)
        if width == 1:
            data = ints.astype(np.uint8).tobytes()
        elif width == 3:
            b = ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]
            data = b.tobytes()
        else:
            data = ints.astype(f"<i{width}").tobytes()
        w.writeframes(data)


# ------------------------------------------------------------------------------- log_mel
@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("n_fft,hop,n_mels,fmin,fmax", [(1024, 320, 96, 40.0, 8000.0),
                                                         (512, 128, 40, 0.0, None)])
def test_log_mel_matches_librosa(htk, n_fft, hop, n_mels, fmin, fmax):
    sr = 16000
    rng = np.random.default_rng(0)
    t = np.arange(sr) / sr
    x = 0.3 * np.sin(2 * np.pi * (200 + 1500 * t) * t) + 0.05 * rng.standard_normal(sr)
    ref = librosa.power_to_db(librosa.feature.melspectrogram(
        y=x, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk,
        power=2.0, center=True, pad_mode="constant"), ref=1.0, amin=1e-10, top_db=80.0)
    got = A.log_mel(torch.from_numpy(x), sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels,
                    fmin=fmin, fmax=fmax, htk=htk).numpy()
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=1e-4)
    got32 = A.log_mel(torch.from_numpy(x).float(), sr, n_fft=n_fft, hop_length=hop,
                      n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk).numpy()
    np.testing.assert_allclose(got32, ref, atol=2e-2)  # float32: within 0.02 dB


def test_mel_scale_and_filterbank_match_librosa():
    f = np.array([0.0, 100.0, 999.0, 1000.0, 1001.0, 4000.0, 8000.0])
    for htk in (False, True):
        np.testing.assert_allclose(A.hz_to_mel(f, htk), librosa.hz_to_mel(f, htk=htk), rtol=1e-12)
        m = librosa.hz_to_mel(f, htk=htk)
        np.testing.assert_allclose(A.mel_to_hz(m, htk), f, atol=1e-9)
        fb = A.mel_filterbank(22050, 2048, 128, 20.0, 11025.0, htk=htk, dtype=torch.float64).numpy()
        ref = librosa.filters.mel(sr=22050, n_fft=2048, n_mels=128, fmin=20.0, fmax=11025.0,
                                  htk=htk, dtype=np.float64)
        np.testing.assert_allclose(fb, ref, atol=1e-12)


def test_log_mel_keeps_loudness_and_rejects_bad_waves():
    x = torch.from_numpy(_sine(16000))
    quiet = A.log_mel(x * 0.1, 16000)
    loud = A.log_mel(x, 16000)
    # 20 dB louder in every band that is above the floor: the reference is absolute, not per clip
    band = loud.mean(1).argmax()
    assert abs(float(loud[band].mean() - quiet[band].mean()) - 20.0) < 0.05
    with pytest.raises(A.AudioError, match="NaN"):
        A.log_mel(torch.tensor([0.0, float("nan")] * 1000), 16000)
    with pytest.raises(A.AudioError, match="mono"):
        A.log_mel(torch.zeros(2, 1000), 16000)
    with pytest.raises(A.AudioError, match="no samples"):
        A.log_mel(torch.zeros(0), 16000)
    assert A.log_mel(torch.zeros(10), 16000).shape == (96, 1)  # shorter than a frame: defined


def test_log_mel_is_differentiable():
    x = torch.from_numpy(_sine(16000, 0.2)).requires_grad_(True)
    A.log_mel(x, 16000).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


# ---------------------------------------------------------------------------- load_audio
def test_16_bit_wav_and_stereo(tmp_path):
    sr = 16000
    x = _sine(sr)
    ints = np.round(x * 32767).astype(np.int16)
    _write_pcm(tmp_path / "a.wav", ints, 2, sr)
    w, got_sr = A.load_audio(tmp_path / "a.wav")
    assert got_sr == sr and w.dtype == torch.float32 and w.shape == (len(x),)
    np.testing.assert_allclose(w.numpy(), ints / 32768.0, atol=1e-7)
    st = np.stack([ints, np.zeros_like(ints)], 1).reshape(-1)
    _write_pcm(tmp_path / "s.wav", st, 2, sr, channels=2)
    w2, _ = A.load_audio(tmp_path / "s.wav")
    np.testing.assert_allclose(w2.numpy(), ints / 32768.0 / 2, atol=1e-7)  # the channel mean


def test_8_bit_and_24_bit_wav_give_the_same_wave(tmp_path):
    sr = 8000
    x = _sine(sr, 0.3)
    u8 = np.clip(np.round(x * 127) + 128, 0, 255)  # 8-bit WAV is unsigned, 128 = silence
    _write_pcm(tmp_path / "u8.wav", u8, 1, sr)
    w8, _ = A.load_audio(tmp_path / "u8.wav", sr=None)
    np.testing.assert_allclose(w8.numpy(), (u8 - 128) / 128.0, atol=1e-7)
    i24 = np.round(x * (2 ** 23 - 1)).astype(np.int64)
    _write_pcm(tmp_path / "i24.wav", i24, 3, sr)
    w24, _ = A.load_audio(tmp_path / "i24.wav", sr=None)
    np.testing.assert_allclose(w24.numpy(), i24 / 2 ** 23, atol=1e-7)
    assert np.abs(w24.numpy() - x).max() < 1e-6 and np.abs(w8.numpy() - x).max() < 1 / 64


def test_resampling_keeps_the_tone(tmp_path):
    sr_in = 44100
    x = _sine(sr_in, 0.5, f=1000.0)
    _write_pcm(tmp_path / "hi.wav", np.round(x * 32767), 2, sr_in)
    w, sr = A.load_audio(tmp_path / "hi.wav", sr=16000)
    assert sr == 16000 and abs(len(w) - 8000) <= 1
    t = np.arange(len(w)) / 16000
    mid = slice(400, -400)  # away from the filter's edges
    np.testing.assert_allclose(w.numpy()[mid], 0.5 * np.sin(2 * np.pi * 1000 * t)[mid], atol=2e-3)


def test_flac_and_ogg(tmp_path):
    sr = 16000
    x = torch.from_numpy(_sine(sr, 0.5, f=660.0)).float()
    A.save_audio(tmp_path / "a.flac", x, sr)
    w, _ = A.load_audio(tmp_path / "a.flac")
    np.testing.assert_allclose(w.numpy(), x.numpy(), atol=1 / 32768 + 1e-7)  # lossless 16-bit
    A.save_audio(tmp_path / "a.ogg", x, sr)
    w, _ = A.load_audio(tmp_path / "a.ogg")
    spec = np.abs(np.fft.rfft(w.numpy()))
    assert abs(np.argmax(spec) * sr / len(w) - 660.0) < 4  # lossy, but the same tone


def test_broken_empty_short_nan_missing_files(tmp_path):
    (tmp_path / "junk.wav").write_bytes(b"RIFF\x00\x00 this is not a wav file" * 10)
    with pytest.raises(A.AudioError, match="cannot read"):
        A.load_audio(tmp_path / "junk.wav")
    sr = 16000
    _write_pcm(tmp_path / "ok.wav", np.zeros(sr, np.int16), 2, sr)
    data = (tmp_path / "ok.wav").read_bytes()
    (tmp_path / "trunc.wav").write_bytes(data[:30])  # cut inside the header
    with pytest.raises(A.AudioError):
        A.load_audio(tmp_path / "trunc.wav")
    _write_pcm(tmp_path / "empty.wav", np.zeros(0, np.int16), 2, sr)
    with pytest.raises(A.AudioError, match="no samples"):
        A.load_audio(tmp_path / "empty.wav")
    _write_pcm(tmp_path / "short.wav", np.zeros(100, np.int16) + 1000, 2, sr)
    with pytest.raises(A.AudioError, match="ms long"):
        A.load_audio(tmp_path / "short.wav")
    import soundfile as sf

    sf.write(tmp_path / "nan.wav", np.array([0.0, np.nan] * 2000, np.float32), sr, subtype="FLOAT")
    with pytest.raises(A.AudioError, match="NaN"):
        A.load_audio(tmp_path / "nan.wav")
    with pytest.raises(FileNotFoundError):
        A.load_audio(tmp_path / "missing.wav")
    with pytest.raises(A.AudioError, match="folder"):
        A.load_audio(tmp_path)


def test_silence_is_a_defined_result(tmp_path):
    sr = 16000
    _write_pcm(tmp_path / "silent.wav", np.zeros(sr // 2, np.int16), 2, sr)
    w, _ = A.load_audio(tmp_path / "silent.wav")
    assert w.shape == (sr // 2,) and float(w.abs().max()) == 0.0 and A.is_silent(w)
    assert not A.is_silent(torch.from_numpy(_sine(sr)))
    S = A.log_mel(w, sr)
    assert torch.isfinite(S).all() and float(S.max()) == pytest.approx(-100.0)  # 10 log10(amin)


def test_save_audio_is_atomic(tmp_path):
    with pytest.raises((ValueError, TypeError, OSError, RuntimeError)):
        A.save_audio(tmp_path / "x.notaformat", torch.zeros(100), 16000)
    assert list(tmp_path.iterdir()) == []
    p = A.save_audio(tmp_path / "y.wav", torch.ones(2000) * 2, 16000, subtype="PCM_24")
    w, _ = A.load_audio(p, sr=None)
    assert float(w.max()) == pytest.approx(1.0, abs=1e-6)  # clipped to [-1, 1]
    assert len(w) == 2000
