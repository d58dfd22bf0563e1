"""nm.data.music and nm.music: the label formula, the parallel-mode transposition, rendering and
its cache, the baseline's features against independent references, and the shipped model."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from nomysticism import music
from nomysticism.data import music as D


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("NOMYSTICISM_CACHE", str(tmp_path_factory.mktemp("nmcache")))
    yield
    mp.undo()


BASE = D.Performance(piece="bwv1.6", mode="major", seconds=3.0)


@pytest.mark.parametrize("field,values,axis", [
    ("tempo", [50, 80, 120, 170], 1), ("velocity", [35, 60, 90, 120], 1),
    ("register", [-1, 0, 1], 1), ("articulation", [1.0, 0.7, 0.4, 0.25], 1),
    ("instrument", ["warm_pad", "strings", "piano", "trumpet", "distortion_guitar"], 1),
    ("mode", ["minor", "major"], 0), ("dissonance", [1.0, 0.5, 0.0], 0),
    ("brightness", [-1.0, 0.0, 1.0], 0)])
def test_label_formula_is_monotone(field, values, axis):
    ys = [D.labels(replace(BASE, **{field: v}))[axis] for v in values]
    assert all(b > a for a, b in zip(ys, ys[1:])), ys
    other = [D.labels(replace(BASE, **{field: v}))[1 - axis] for v in values]
    assert max(other) - min(other) < 1e-12  # each factor moves one axis only


def test_label_formula_by_hand_and_changeable():
    p = D.Performance(piece="bwv1.6", mode="minor", tempo=170, velocity=35, register=0,
                      articulation=1.0, instrument="piano", dissonance=0.5, brightness=1.0)
    # valence: 0.5·(−1) + 0.25·0 + 0.25·1 = −0.25; arousal: 0.35·1 + 0.25·(−1) + 0 − 0.15 + 0
    v, a = D.labels(p)
    assert v == pytest.approx(-0.25) and a == pytest.approx(-0.05)
    v2, _ = D.labels(p, {"valence": {"mode": 1.0}, "arousal": {"tempo": 1.0}})
    assert v2 == -1.0
    with pytest.raises(ValueError, match="unknown valence factors"):
        D.labels(p, {"valence": {"loudness": 1.0}, "arousal": {"tempo": 1.0}})


def test_parallel_mode_moves_the_right_degrees():
    c_major = [(0.0, 1.0, 60 + k) for k in (0, 2, 4, 5, 7, 9, 11, 12)]  # C D E F G A B C
    minor = [m for _, _, m in D.parallel_mode(c_major, 0, "major", "minor")]
    assert minor == [60, 62, 63, 65, 67, 68, 71, 72]  # C harmonic minor
    a_minor = [(0.0, 1.0, 57 + k) for k in (0, 2, 3, 5, 7, 8, 10)]
    major = [m for _, _, m in D.parallel_mode(a_minor, 9, "minor", "major")]
    assert major == [57, 59, 61, 62, 64, 66, 68]  # A major
    notes, key, _ = D.piece_notes("bwv1.6")
    assert key == (5, "major")  # F major (music21's key analysis)


def test_render_pair_cache_and_split():
    clips = D.music_clips(2, seed=3, split="test", seconds=2.0, progress=False)
    assert clips.audio.shape == (2, 32000) and clips.sr == music.SR
    a, b = clips.performances
    assert (a.mode, b.mode) == ("major", "minor") and replace(a, mode="minor") == b
    assert set(clips.pieces) <= set(D.HELD_OUT_PIECES)
    assert set(clips.instruments) <= set(D.HELD_OUT_INSTRUMENTS)
    assert not set(D.HELD_OUT_PIECES) & set(D.TRAIN_PIECES)
    assert not set(D.HELD_OUT_INSTRUMENTS) & set(D.TRAIN_INSTRUMENTS)
    assert float(clips.audio.abs().max()) > 0.01
    files = list(D.cache_dir().glob("*.flac"))
    assert len(files) == 2 and str(D.cache_dir()).startswith(str(D.cache_dir().parents[0]))
    again = D.music_clips(2, seed=3, split="test", seconds=2.0, progress=False)
    assert torch.equal(again.audio, clips.audio)
    assert clips.labels().shape == (2, 2) and clips.valence[0] > clips.valence[1]


def test_render_tempo_changes_the_onset_rate():
    slow = D.render_score("bwv1.6", BASE, tempo=60, seconds=4.0)
    fast = D.render_score("bwv1.6", BASE, tempo=150, seconds=4.0)
    assert music.tempo_estimate(fast, music.SR) > music.tempo_estimate(slow, music.SR)
    with pytest.raises(ValueError, match="instrument"):
        D.render_score("bwv1.6", BASE, instrument="kazoo")


def test_features_against_references():
    librosa = pytest.importorskip("librosa")
    sr = music.SR
    t = np.arange(sr * 2) / sr
    chord = sum(np.sin(2 * np.pi * 440 * 2 ** (k / 12) * t) for k in (0, 4, 7)) / 3  # A C# E
    c = music.chroma(torch.from_numpy(chord), sr)
    assert set(np.argsort(c)[-3:]) == {9, 1, 4}
    score, tonic, mode = music.key_mode_score(c)
    assert (tonic, mode) == (9, "major") and score > 0
    minor = sum(np.sin(2 * np.pi * 440 * 2 ** (k / 12) * t) for k in (0, 3, 7)) / 3
    assert music.key_mode_score(music.chroma(torch.from_numpy(minor), sr))[0] < 0
    # a click track at 100 BPM
    clicks = np.zeros(sr * 8)
    for k in range(0, len(clicks), int(sr * 0.6)):
        clicks[k:k + 200] = np.hanning(200)
    assert music.tempo_estimate(torch.from_numpy(clicks), sr) == pytest.approx(100, rel=0.04)
    f = music.hand_features(torch.from_numpy(chord), sr)
    ref_c = librosa.feature.spectral_centroid(y=chord, sr=sr, n_fft=1024, hop_length=320,
                                              center=True, pad_mode="constant")
    assert f[3] == pytest.approx(float(np.mean(ref_c)), rel=0.02)
    assert f[2] == pytest.approx(10 * math.log10(np.mean(chord ** 2)), abs=1e-6)


def test_ridge_against_closed_form():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4)) * [1, 10, 0.1, 3]
    y = np.stack([X @ [0.1, 0.01, 1, 0], X @ [0, 0, 0, 0.1]], 1) * 0.3
    m = music.Ridge(alpha=1e-9).fit(X, y)
    np.testing.assert_allclose(m.predict(X), np.clip(y, -1, 1), atol=1e-6)
    assert music.r2(y, y).tolist() == [1.0, 1.0]
    assert music.r2(y, np.broadcast_to(y.mean(0), y.shape)).tolist() == [0.0, 0.0]


def test_shipped_model_orders_major_above_minor():
    """The same held-out chorale on a held-out instrument, in major and in its parallel minor."""
    net = music.load_pretrained()
    wins = 0
    for piece in D.HELD_OUT_PIECES[:4]:
        p = D.Performance(piece=piece, instrument="electric_piano", seconds=6.0)
        vmaj = music.mood(D.render_score(piece, p, mode="major"), model=net).valence
        vmin = music.mood(D.render_score(piece, p, mode="minor"), model=net).valence
        wins += vmaj > vmin
    assert wins >= 3


def test_mood_outputs_and_errors():
    w = D.render_score("bwv1.6", BASE)
    m = music.mood(w, music.SR)
    assert -1 <= m.valence <= 1 and -1 <= m.arousal <= 1 and m.windows.shape[1] == 2
    from nomysticism.audio import resample

    m44 = music.mood(resample(w, music.SR, 44100), 44100)
    assert abs(m44.valence - m.valence) < 0.1  # resampled to the model's rate
    with pytest.raises(music.AudioError, match="silent"):
        music.mood(torch.zeros(music.SR), music.SR)
    with pytest.raises(music.AudioError, match="ms long"):
        music.mood(w[:100], music.SR)
    s = music.saliency(w, music.SR, "valence")
    assert s.grad.shape == s.spec.shape and float(s.grad.abs().sum()) > 0
    assert music.quadrant(0.5, 0.5) == "happy / excited"
    assert music.quadrant(-0.5, -0.5) == "sad / depressed"



def test_silence_is_left_out_of_a_tracks_mood():
    """Loud music, the same 20 dB quieter, then silence: the quiet part still counts (within
    SILENCE_DB = 40 dB), the windows that are all floor do not, and the mean is over the rest."""
    w = D.render_score("bwv1.6", D.Performance(piece="bwv1.6", mode="major", seconds=3.0))
    track = torch.cat([w, 0.1 * w, torch.zeros(6 * music.SR)])
    spec = music.spectrogram(track, music.SR)
    r = music.recipe("cnn")
    p = music.patches(spec, r["window"], r["hop"])
    keep = music.sounding(p)
    floor = (p[:, 0] <= spec.min() + 1e-6).all(-1).all(-1)  # windows of nothing but the dB floor
    starts = [min(i * r["hop"], spec.shape[-1] - r["window"]) for i in range(len(p))]
    quiet = [s >= 150 and s + r["window"] <= 300 for s in starts]  # inside the 0.1x copy
    assert floor.any() and not keep[floor].any()
    assert keep[0] and all(keep[i] for i, q in enumerate(quiet) if q) and any(quiet)
    m = music.mood(track, music.SR)
    assert len(m.windows) == len(p)
    np.testing.assert_allclose([m.valence, m.arousal], m.windows[keep].mean(0).numpy(), atol=1e-6)
    assert not np.allclose([m.valence, m.arousal], m.windows.mean(0).numpy(), atol=1e-3)

# ------------------------------------------------------------------ the semitone spectrogram
def _sine(midi, sr=music.SR, seconds=1.0):
    t = np.arange(int(sr * seconds)) / sr
    return torch.from_numpy(0.5 * np.sin(2 * np.pi * 440.0 * 2 ** ((midi - 69) / 12) * t))


def test_semitone_spectrogram_puts_a_note_in_its_bin():
    lf = music.spectra.LOG_FREQ
    for midi in (36, 45, 57, 69, 81, 100, 107):  # C2 … B7, where FFT bins are coarse and fine
        S = music.spectra.log_frequency(_sine(midi), music.SR)
        assert S.shape[0] == lf["n_bins"]
        assert int(S[:, 10:-10].mean(1).argmax()) == midi - lf["fmin_midi"], midi
    W = music.spectra.semitone_filterbank(music.SR).double().numpy()
    np.testing.assert_allclose(W.sum(1), 1.0, atol=1e-9)
    assert (W >= 0).all() and (W.max(1) > 0).all()
    # a triangle in log frequency, written here: at the centre 1, at a neighbour's centre 0
    f = np.fft.rfftfreq(4096, 1 / music.SR)
    k = 60  # C7 = MIDI 96, 2093 Hz: many FFT bins per semitone
    fk = 440 * 2 ** ((96 - 69) / 12)
    ref = np.maximum(0, 1 - 12 * np.abs(np.log2(np.maximum(f, 1e-9) / fk)))
    np.testing.assert_allclose(W[k], ref / ref.sum(), atol=1e-12)


def test_transposition_shifts_the_spectrogram_and_rotates_the_chroma():
    chord = lambda root: sum(_sine(root + i) for i in (0, 4, 7, 12))  # noqa: E731
    a = music.spectra.log_frequency(chord(55), music.SR)
    b = music.spectra.log_frequency(chord(58), music.SR)  # up a minor third
    top = lambda S: set(np.argsort(S[:, 5:-5].mean(1).numpy())[-4:].tolist())  # noqa: E731
    assert top(a) == {55 - 36, 59 - 36, 62 - 36, 67 - 36}  # the four notes' bins (C2 is bin 0)
    assert top(b) == {k + 3 for k in top(a)}
    pa = 10 ** (a.double() / 10)
    ca = music.spectra.fold_chroma(pa).mean(-1).numpy()
    # numpy reference: add every bin to the pitch class of its centre
    pcs = (music.spectra.pitch_of_bin().round().astype(int)) % 12
    ref = np.zeros(12)
    for k, pc in enumerate(pcs):
        ref[pc] += pa[k].mean().item()
    np.testing.assert_allclose(ca, ref, rtol=1e-9)
    assert set(np.argsort(ca)[-3:]) == {55 % 12, 59 % 12, 62 % 12}  # G B D
    cb = music.spectra.fold_chroma(10 ** (b.double() / 10)).mean(-1).numpy()
    assert set(np.argsort(cb)[-3:]) == {58 % 12, 62 % 12, 65 % 12}  # Bb D F


def test_mood_cnn_key_branch_is_transposition_invariant():
    torch.manual_seed(0)
    net = music.MoodCNN(width=4, chroma=6).eval()
    x = torch.randn(2, 1, 72, 40)
    y = x.roll(5, dims=2)  # every note up 5 semitones (the top ones wrap to the bottom)
    feats = {}
    for name, inp in (("x", x), ("y", y)):
        c = torch.relu(net.chord_bn(net.chord(music.cnn._circular(net.chroma(inp), 2, 12))))
        feats[name] = torch.relu(net.key(music.cnn._circular(c.mean(-1), 2, 12))).amax(-1)
    torch.testing.assert_close(feats["x"], feats["y"], atol=1e-5, rtol=1e-5)
    assert net(x).shape == (2, 2) and net(x).abs().max() <= 1
    with pytest.raises(ValueError, match="expected"):
        net(torch.randn(2, 1, 50, 40))
