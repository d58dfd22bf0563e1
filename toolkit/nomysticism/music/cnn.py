"""The mood network: a small CNN on semitone-spectrogram patches that regresses (valence, arousal).

Like the spectrogram CNNs of music tagging (Choi, Fazekas & Sandler 2016) and the CNN part of
Malik et al. 2017 (arousal/valence on MediaEval 2015, RMSE 0.202 / 0.268), scaled to one CPU.
The input is the log-frequency spectrogram with one bin per semitone (:mod:`.spectra`), in dB,
shifted and scaled by fixed constants (:data:`DB_SHIFT`, :data:`DB_SCALE`), never per clip, so
loudness stays in it. Three branches read it, each built for what drives one kind of label:

- **timbre and dynamics** (arousal, brightness): frames averaged in pairs, four 3×3 conv–BN–ReLU blocks with 2×2
  max-pooling, then the mean and the max over the remaining time–frequency cells;
- **onsets** (tempo, articulation): the spectral flux (the half-wave-rectified rise of each bin,
  averaged over bins) through dilated 1-D convolutions, mean and max over time, and its
  autocorrelation over lags up to 1.5 s (whose peaks sit at the beat period, as in Ellis 2007's
  tempo estimate) through a linear layer;
- **harmony and mode** (valence): the chroma (octaves folded onto 12 pitch classes, each frame
  normalised), a circular convolution over pitch class per frame (chord shapes on every root),
  the mean over time, a second circular convolution over the 12 roots (learned key templates, as
  Krumhansl & Kessler 1982's profiles are fixed ones) and the max over the 12 rotations: the same
  notes in any key give the same features, so a transposed piece is no new piece to it;
- **register**: the time-averaged spectrum in half-octave bands.

A linear–ReLU–linear head with tanh gives both outputs in [-1, 1]. A track is cut into
``window``-frame patches ``hop`` frames apart and its mood is the mean of the patches' outputs.

- :class:`MoodCNN`, :func:`patches`, :func:`predict` (a batch of tracks), :func:`train` (Adam,
  MSE per axis scaled by the axis' variance, random patches; ``progress.Loop`` +
  ``checkpoint.Checkpointer``);
- :func:`export`, :func:`load_model`, :func:`load_pretrained`, :func:`pretrained_info`;
- :func:`mood`: one waveform → :class:`Mood` with the shipped model; :func:`sounding`: which
  windows count (silence does not);
- :func:`saliency`: Simonyan et al. 2014's gradient of one output with respect to the input
  spectrogram (notebook 02's saliency map, here over time × pitch).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import checkpoint as ckpt
from ..assets import asset, asset_path
from ..audio import SR, AudioError, is_silent, resample
from ..checkpoint import Checkpointer
from ..progress import Loop
from .recipes import DEFAULT_MODEL, RECIPES
from .spectra import log_frequency

__all__ = ["MoodCNN", "Mood", "Saliency", "spectrogram", "patches", "predict", "train", "export",
           "load_model", "load_pretrained", "pretrained_info", "mood", "saliency", "sounding",
           "DB_SHIFT", "DB_SCALE", "SILENCE_DB"]

DB_SHIFT, DB_SCALE = 40.0, 20.0  # input = (dB + 40) / 20: about [-2, 2] for these renderings
SILENCE_DB = 40.0  # a window this far below the track's loudest one is silence: left out of the mean
_FOLDER = "music"


def _circular(x: torch.Tensor, dim: int, k: int) -> torch.Tensor:
    """Pad ``dim`` circularly by k − 1 (a 'valid' convolution of size k then wraps around)."""
    idx = torch.arange(x.shape[dim] + k - 1, device=x.device) % x.shape[dim]
    return x.index_select(dim, idx)


class MoodCNN(nn.Module):
    """(B, 1, n_bins, T) normalised semitone spectrogram → (B, 2) (valence, arousal) in [-1, 1]."""

    def __init__(self, width: int = 12, n_bins: int = 72, chroma: int = 16, onset: int = 8,
                 hidden: int = 32, bins_per_octave: int = 12, fmin_midi: int = 36, lags: int = 75):
        super().__init__()
        self.config = {"arch": "MoodCNN", "width": int(width), "n_bins": int(n_bins),
                       "chroma": int(chroma), "onset": int(onset), "hidden": int(hidden),
                       "bins_per_octave": int(bins_per_octave), "fmin_midi": int(fmin_midi),
                       "lags": int(lags)}
        if bins_per_octave % 12:
            raise ValueError(f"bins_per_octave must be a multiple of 12, got {bins_per_octave}")
        self.n_bins, self.bpo, self.fmin_midi = n_bins, bins_per_octave, fmin_midi
        chans = [1, width, 2 * width, 2 * width, 2 * width]
        blocks = [nn.AvgPool2d((1, 2))]  # 40 ms frames are enough for timbre and dynamics
        for i in range(4):
            blocks += [nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=False),
                       nn.BatchNorm2d(chans[i + 1]), nn.ReLU()]
            if i < 3:
                blocks.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*blocks)
        layers, c = [], 1
        for d in (1, 2, 4, 8):
            layers += [nn.Conv1d(c, onset, 5, dilation=d, padding=2 * d), nn.ReLU()]
            c = onset
        self.onsets = nn.Sequential(*layers)
        self.lags = lags
        self.tempo = nn.Sequential(nn.Linear(lags, onset), nn.ReLU())
        self.chord = nn.Conv2d(1, chroma, (12, 1))          # per frame, every root
        self.chord_bn = nn.BatchNorm2d(chroma)
        self.key = nn.Conv1d(chroma, chroma, 12)            # over roots: key templates
        self.n_bands = max(1, n_bins // (bins_per_octave // 2))
        n_in = 2 * chans[-1] + 3 * onset + chroma + self.n_bands
        self.head = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(0.1),
                                  nn.Linear(hidden, 2))

    def chroma(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, n_bins, T) input → (B, 1, 12, T) chroma, each frame summing to 1."""
        from .spectra import fold_chroma

        power = 10.0 ** ((x * DB_SCALE - DB_SHIFT) / 10.0)
        c = fold_chroma(power, self.bpo, self.fmin_midi)
        return c / c.sum(-2, keepdim=True).clamp_min(1e-12)

    def autocorrelation(self, flux: torch.Tensor) -> torch.Tensor:
        """(B, 1, T) onset strength → (B, lags): its autocorrelation at lags 1 … ``lags`` frames,
        over the lag-0 value; its peaks sit at the beat period (Ellis 2007's tempo estimate)."""
        o = flux[:, 0] - flux[:, 0].mean(-1, keepdim=True)
        n = 2 * o.shape[-1]
        spec = torch.fft.rfft(o, n)
        ac = torch.fft.irfft(spec.real ** 2 + spec.imag ** 2, n)[:, : self.lags + 1]
        ac = ac[:, 1:] / ac[:, :1].clamp_min(1e-8)
        if ac.shape[-1] < self.lags:  # a patch shorter than the longest lag
            ac = F.pad(ac, (0, self.lags - ac.shape[-1]))
        return ac

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != self.n_bins:
            raise ValueError(f"expected (B, 1, {self.n_bins}, T), got {tuple(x.shape)}")
        h = self.features(x)
        timbre = torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)
        flux = F.relu(x[..., 1:] - x[..., :-1]).mean(2)            # (B, 1, T-1)
        o = self.onsets(flux)
        onset = torch.cat([o.mean(-1), o.amax(-1), self.tempo(self.autocorrelation(flux))], 1)
        c = F.relu(self.chord_bn(self.chord(_circular(self.chroma(x), 2, 12))))  # (B, K, 12, T)
        k = self.key(_circular(c.mean(-1), 2, 12))                   # (B, K, 12)
        key = F.relu(k).amax(-1)
        bands = F.adaptive_avg_pool1d(x.mean(-1), self.n_bands)[:, 0]  # (B, n_bands)
        return torch.tanh(self.head(torch.cat([timbre, onset, key, bands], 1)))


@dataclass
class Mood:
    """A track's place on the circumplex: the means, and each window's (valence, arousal)."""

    valence: float
    arousal: float
    windows: torch.Tensor

    def __iter__(self):  # v, a = mood(...)
        return iter((self.valence, self.arousal))


@dataclass
class Saliency:
    """``grad``: |∂ output / ∂ input| (or signed), same shape as ``spec``: the (n_bins, T)
    semitone spectrogram in dB."""

    spec: torch.Tensor
    grad: torch.Tensor
    target: str
    value: float


def spectrogram(wave, sr: int, settings: dict | None = None) -> torch.Tensor:
    """The network's input for one waveform: (n_bins, T) normalised semitone spectrogram
    (:func:`.spectra.log_frequency`) at the recipe's rate."""
    r = RECIPES["cnn"]
    settings = settings or r["log_freq"]
    x = wave if isinstance(wave, torch.Tensor) else torch.as_tensor(wave)
    if sr != r["sr"]:
        x, sr = resample(x.float(), sr, r["sr"]), r["sr"]
    return (log_frequency(x.float(), sr, **settings) + DB_SHIFT) / DB_SCALE


def patches(spec: torch.Tensor, window: int, hop: int) -> torch.Tensor:
    """(n_bins, T) → (P, 1, n_bins, window): windows ``hop`` apart covering the whole track; a
    short track is padded with its quietest value (silence) to one window."""
    if spec.shape[-1] < window:
        spec = F.pad(spec, (0, window - spec.shape[-1]), value=float(spec.min()))
    T = spec.shape[-1]
    starts = list(range(0, T - window + 1, hop))
    if starts[-1] != T - window:
        starts.append(T - window)  # the tail, so every frame is seen
    return torch.stack([spec[:, s:s + window] for s in starts])[:, None]


def sounding(p: torch.Tensor, silence_db: float = SILENCE_DB) -> torch.Tensor:
    """(P,) bool: the windows of :func:`patches` that are not silence. A window's level is the 90th
    percentile over its frames of the loudest bin (dB); it counts if within ``silence_db`` of the
    loudest window's, so a trailing silence or a gap does not pull a track's mood towards "calm"."""
    level = p[:, 0].amax(1).quantile(0.9, dim=-1) * DB_SCALE
    return level >= level.max() - silence_db


def _track_mean(y: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return y[sounding(p).to(y.device)].mean(0)


def predict(model: MoodCNN, specs, window: int | None = None, hop: int | None = None,
            batch: int = 64) -> torch.Tensor:
    """(N, 2) track-level (valence, arousal): the mean over each track's sounding patches
    (:func:`sounding`)."""
    r = RECIPES["cnn"]
    window, hop = window or r["window"], hop or r["hop"]
    model.eval()
    dev = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for s in specs:
            p = patches(s, window, hop)
            y = torch.cat([model(p[i:i + batch].to(dev)) for i in range(0, len(p), batch)])
            out.append(_track_mean(y, p).cpu())
    return torch.stack(out)


def train(model: MoodCNN, specs: torch.Tensor, targets: torch.Tensor, epochs: int = 30,
          batch_size: int = 32, lr: float = 3e-3, weight_decay: float = 1e-4,
          window: int = 150, seed: int = 0, checkpoint=None, progress: bool = True,
          callback=None, callback_every: int = 10, stop=None) -> dict:
    """Adam on the MSE of random ``window``-frame patches of ``specs`` (N, n_bins, T) against the
    clip's ``targets`` (N, 2), each axis' squared error divided by that axis' variance (so the
    narrower arousal counts as much as valence); cosine-decayed learning rate. Returns ``{"loss": [...], "seconds"}``."""
    g = torch.Generator().manual_seed(seed)
    N, T = specs.shape[0], specs.shape[-1]
    steps_per_epoch = max(1, N // batch_size)
    total = epochs * steps_per_epoch
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, total))
    hist = {"loss": []}
    ck = Checkpointer(checkpoint, lambda: {"model": model.state_dict(), "opt": opt.state_dict(),
                                           "sched": sched.state_dict(), "loss": hist["loss"],
                                           "gen": g.get_state()}, every=max(1, steps_per_epoch))
    start = 0
    st = ck.resume()
    if st is not None:
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        hist["loss"] = list(st["loss"])
        g.set_state(st["gen"])
        start = int(st["step"])
    inv_var = 1.0 / targets.var(0).clamp_min(1e-3)
    inv_var = inv_var / inv_var.mean()
    t0 = time.perf_counter()
    loop = Loop(total, start=start, progress=progress, callback=callback, every=callback_every,
                stop=stop, desc="mood CNN", unit="step")
    for step in loop:
        model.train()
        idx = torch.randint(0, N, (batch_size,), generator=g)
        off = torch.randint(0, max(1, T - window + 1), (batch_size,), generator=g)
        x = torch.stack([specs[i, :, o:o + window] for i, o in zip(idx.tolist(), off.tolist())])[:, None]
        loss = ((model(x) - targets[idx]) ** 2 * inv_var).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        lv = loss.item()
        hist["loss"].append(lv)
        loop.report(step + 1, loss=lv, postfix={"loss": f"{lv:.4f}"})
        ck.step(step + 1)
    loop.finish()
    ck.save(loop.step)
    hist["seconds"] = time.perf_counter() - t0
    hist["stopped"] = loop.stopped
    model.eval()
    return hist


# ------------------------------------------------------------------------- models as files
def export(model: MoodCNN, path, metadata: dict | None = None) -> Path:
    """Save as safetensors with the config (and ``metadata``) in the header."""
    return ckpt.save_module(model, path, metadata)


def load_model(path, device=None) -> MoodCNN:
    """Rebuild a :class:`MoodCNN` written by :func:`export` (no pickle; eval mode)."""
    meta = ckpt.read_metadata(path)
    cfg = json.loads(meta.get("config", "{}"))
    if cfg.pop("arch", None) != "MoodCNN":
        raise ValueError(f"{path}: not a MoodCNN written by nomysticism.music.export")
    model = ckpt.load_weights(MoodCNN(**cfg), path)
    return model.eval().to(device or "cpu")


def pretrained_info(name: str = DEFAULT_MODEL) -> dict:
    """The shipped model's training record (``assets/music/<name>.json``)."""
    f = asset(f"{_FOLDER}/{name}.json")
    if not f.is_file():
        raise ValueError(f"no shipped music model {name!r} (assets/music/{name}.json)")
    return json.loads(f.read_text("utf-8"))


_LOADED: dict[str, MoodCNN] = {}


def load_pretrained(name: str = DEFAULT_MODEL, device=None) -> MoodCNN:
    """The shipped model (loaded once), or the path of a file from :func:`export`."""
    if Path(str(name)).suffix == ".safetensors":
        if not Path(name).is_file():
            raise FileNotFoundError(f"no model file {str(name)!r}")
        return load_model(name, device)
    if name not in _LOADED:
        try:
            with asset_path(f"{_FOLDER}/{name}.safetensors") as p:
                _LOADED[name] = load_model(p)
        except FileNotFoundError:
            raise ValueError(f"no shipped music model {name!r}; train one with "
                             "scripts/train_music.py") from None
    return _LOADED[name] if device is None else _LOADED[name].to(device)


def _model(model) -> MoodCNN:
    if model is None:
        return load_pretrained(DEFAULT_MODEL)
    return load_pretrained(model) if isinstance(model, (str, Path)) else model


def _checked(wave, sr: int) -> torch.Tensor:
    x = wave if isinstance(wave, torch.Tensor) else torch.as_tensor(wave)
    if x.ndim != 1:
        raise AudioError(f"expected a mono waveform (n,), got shape {tuple(x.shape)}")
    if x.numel() < 0.064 * sr:
        raise AudioError(f"the audio is {1000 * x.numel() / sr:.0f} ms long; at least 64 ms is needed")
    if is_silent(x):
        raise AudioError("the audio is silent (peak below 1e-4): it has no mood to place")
    return x


def mood(audio, sr: int = SR, model=None) -> Mood:
    """(valence, arousal), both in [-1, 1], of a mono waveform, with the shipped :class:`MoodCNN`
    (or ``model``): the mean over its sounding 3-s windows (:func:`sounding`; ``windows`` holds
    every window's). Silent or too-short audio raises AudioError."""
    net = _model(model)
    spec = spectrogram(_checked(audio, sr), sr)
    p = patches(spec, RECIPES["cnn"]["window"], RECIPES["cnn"]["hop"])
    with torch.no_grad():
        y = net.eval()(p.to(next(net.parameters()).device)).cpu()
    m = _track_mean(y, p)
    return Mood(float(m[0]), float(m[1]), y)


def saliency(audio, sr: int = SR, target: str = "valence", model=None, signed: bool = False) -> Saliency:
    """Simonyan, Vedaldi & Zisserman 2014, eq. (the class saliency map): ∂ y / ∂ S for the
    track-level output y (valence or arousal) and the log-mel S; |·| unless ``signed``. A
    positive signed value: more energy there would raise y (for valence: "happier")."""
    if target not in ("valence", "arousal"):
        raise ValueError(f"target must be 'valence' or 'arousal', not {target!r}")
    net = _model(model).eval()
    spec = spectrogram(_checked(audio, sr), sr).detach().requires_grad_(True)
    r = RECIPES["cnn"]
    p = patches(spec, r["window"], r["hop"])
    y = _track_mean(net(p), p.detach())[0 if target == "valence" else 1]
    (g,) = torch.autograd.grad(y, spec)
    return Saliency(spec.detach() * DB_SCALE - DB_SHIFT, g if signed else g.abs(), target, y.item())
