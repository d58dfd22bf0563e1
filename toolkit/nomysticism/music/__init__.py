"""Music mood map: where a track sits on Russell's circumplex, from its spectrogram.

    import nomysticism as nm
    from nomysticism import music
    wave, sr = music.load_audio("song.flac")       # mono, resampled to 16 kHz
    v, a = music.mood(wave, sr)                     # valence (sad … happy), arousal (calm … energetic)
    music.plot_mood_map({"song": (v, a)})

Russell 1980, "A circumplex model of affect": moods lie on a circle spanned by valence
(pleasant – unpleasant) and arousal (activated – deactivated). The students' "Music Map" put each
track of a library there with a CNN on spectrograms, as a Sony player once sorted songs into four
moods. The real data sets (DEAM, PMEmo, MediaEval 2015: Malik et al. 2017 reach RMSE 0.202 for
arousal and 0.268 for valence) cannot be downloaded here, so the model is trained on music
*rendered here* (``nm.data.music_clips``: Bach chorales, FluidSynth, labels from a written-down
formula). Its numbers say how well a CNN recovers that formula, not how people feel;
``nm.data.music.deam_folder`` reads the real DEAM folder when you have it.

The pieces:

- :mod:`nomysticism.audio` (core, re-exported): :func:`load_audio`, :func:`log_mel`,
  :func:`mel_filterbank`, :class:`AudioError`;
- :mod:`.spectra`: the network's input, a log-frequency spectrogram with one bin per semitone
  (:func:`log_frequency`, :func:`semitone_filterbank`) and its chroma (:func:`fold_chroma`);
- :mod:`.features`: the baseline: tempo estimate, Krumhansl–Schmuckler key/mode score, RMS,
  spectral centroid, and :class:`Ridge`, :func:`r2`;
- :mod:`.cnn`: :class:`MoodCNN`, :func:`train`, :func:`predict`, :func:`mood` (→ :class:`Mood`),
  :func:`saliency` (Simonyan et al. 2014 on the spectrogram), the shipped model;
- :mod:`.evaluate`: :func:`scores`, the CNN against the ridge on held-out pieces and instruments;
- :mod:`.plot`: :func:`plot_mood_map` (the circumplex with its quadrant words),
  :func:`plot_spectrogram`, :func:`plot_saliency`;
- :mod:`.recipes`: :data:`RECIPES` (``"cnn"``: the shipped model; ``"smoke"``), :data:`QUADRANTS`.
"""

from __future__ import annotations

from ..audio import SR, AudioError, is_silent, load_audio, log_mel, mel_filterbank, save_audio
from .cnn import (
    DB_SCALE,
    DB_SHIFT,
    SILENCE_DB,
    Mood,
    MoodCNN,
    Saliency,
    export,
    load_model,
    load_pretrained,
    mood,
    patches,
    predict,
    pretrained_info,
    saliency,
    sounding,
    spectrogram,
    train,
)
from .evaluate import baseline, clip_features, clip_spectrograms, scores
from .features import (
    FEATURES,
    KK_MAJOR,
    KK_MINOR,
    Ridge,
    chroma,
    hand_features,
    key_mode_score,
    r2,
    tempo_estimate,
)
from .plot import plot_mood_map, plot_saliency, plot_spectrogram, quadrant
from .recipes import DEFAULT_MODEL, QUADRANTS, RECIPES, recipe
from .spectra import LOG_FREQ, fold_chroma, log_frequency, pitch_of_bin, semitone_filterbank

__all__ = ["SR", "AudioError", "is_silent", "load_audio", "log_mel", "mel_filterbank",
           "save_audio", "MoodCNN", "Mood", "Saliency", "spectrogram", "patches", "predict",
           "train", "export", "load_model", "load_pretrained", "pretrained_info", "mood",
           "saliency", "sounding", "SILENCE_DB", "DB_SHIFT", "DB_SCALE", "baseline", "clip_features", "clip_spectrograms",
           "scores", "FEATURES", "KK_MAJOR", "KK_MINOR", "Ridge", "chroma", "hand_features",
           "key_mode_score", "r2",
           "tempo_estimate", "plot_mood_map", "plot_saliency", "plot_spectrogram", "quadrant",
           "DEFAULT_MODEL", "QUADRANTS", "RECIPES", "recipe", "spectra", "LOG_FREQ",
           "log_frequency", "semitone_filterbank", "fold_chroma", "pitch_of_bin"]
