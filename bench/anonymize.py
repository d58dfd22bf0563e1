"""Anonymisation (``nomysticism.anonymize``): is every face found, is it still a photo of people,
and can an attacker still tell who it is?

(a) Detection: the 100 faces of scikit-image's ``lfw_subset`` in one 10×10 grid at 112 px per face
    (found: a detection with IoU ≥ 0.5 with the tile), and false detections on a grid of its 100
    non-face tiles.
(b) Re-identification: a nearest-neighbour attacker holds the 100 original faces (one per identity;
    LFW's subset has one image each). The probes are a *second view* made here: each face shifted
    by 1 px, rescaled by 1.04 and re-lit (×0.9 + 0.04), put in a grid, anonymised, cut out again.
    Naive attacker: compares with his clean gallery. Matched attacker: puts his gallery through
    the same obfuscation first. HOG and EfficientNet-Lite0 features; chance is 0.01.
(c) After ``faces="replace"``: faces left unchanged (mean |Δ| < 0.01 in the box), faces the detector
    still finds in place, landmark shift relative to the face size; on astronaut with
    ``LEVELS["clothes"]`` (background="none"): the largest change outside the person mask.
(d) Speed: seconds per 512 px photo per level, and frames per second on a 256-px, 30-frame clip.

"replace head" grows the blend ellipse to the head (``replace_faces(extent=1.75)``): the hair and
outline that face replacement leaves are what HOG re-identifies by.

    python bench/anonymize.py            # ~5-10 min on 2 CPU cores
    python bench/anonymize.py --quick    # 30 faces, smaller clip
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nomysticism as nm
import numpy as np
import torch
from _table import table as _table  # noqa: E402
from nomysticism import anonymize as A

SIZE, COLS = 112, 10
MODES = ("none", "blur", "pixelate", "replace", "replace head")


def matches(truth: np.ndarray, found: A.Faces, iou: float = 0.5) -> np.ndarray:
    """For each true box, the index of its detection (IoU ≥ iou), or -1."""
    if not len(found):
        return np.full(len(truth), -1)
    m = A.box_iou(truth, found.boxes)
    return np.where(m.max(1) >= iou, m.argmax(1), -1)


def obfuscate(mode: str, img: torch.Tensor, dets: A.Faces) -> torch.Tensor:
    if mode == "replace head":  # the blend ellipse grown to the whole head, hair included
        return A.replace_faces(img, dets, extent=1.75)
    return A.anonymize(img, faces=mode, detections=dets) if mode != "none" else img


def main(quick: bool = False) -> None:
    faces, non = nm.data.lfw_faces()
    if quick:
        faces, non = faces[:30], non[:30]
    n = len(faces)

    # (a) detection
    t = time.perf_counter()
    grid, boxes = nm.data.face_grid(faces=faces, size=SIZE, cols=COLS)
    gdet = A.detect_faces(grid)
    t_grid = time.perf_counter() - t
    ngrid, _ = nm.data.face_grid(faces=non, size=SIZE, cols=COLS)
    thr = A.RECIPES["detect"]["threshold"]
    rows = []
    for th in sorted({0.5, thr}, reverse=True):
        det = A.detect_faces(grid, threshold=th)
        label = f"{th}" + (" (anonymize's)" if th == thr else " (detect_faces default)")
        rows.append([label, n, f"{(matches(boxes, det) >= 0).mean():.3f}", "≥ 0.95", len(non),
                     len(A.detect_faces(ngrid, threshold=th)), "≤ 2"])
    gdet = A.detect_faces(grid, threshold=thr)
    print(f"(a) detection on lfw_subset at {SIZE} px per face ({grid.shape[-1]}x{grid.shape[-2]} grid, "
          f"{t_grid:.1f} s)")
    _table(["threshold", "faces", "recall (IoU ≥ 0.5)", "target", "non-face tiles", "false detections",
            "target"], rows)

    # (b) re-identification
    probe_faces = nm.data.second_view(faces)
    pgrid, pboxes = nm.data.face_grid(faces=probe_faces, size=SIZE, cols=COLS)
    pdet = A.detect_faces(pgrid, threshold=thr)
    gallery = nm.data.crop_tiles(grid, boxes)
    rows, outs = [], {}
    for mode in MODES:
        out = obfuscate(mode, pgrid, pdet)
        outs[mode] = out
        probes = nm.data.crop_tiles(out, pboxes)
        gal_matched = nm.data.crop_tiles(obfuscate(mode, grid, gdet), boxes)
        cells = [mode]
        for feats in ("hog", "efficientnet"):
            cells.append(f"{A.reidentification_rate(gallery, probes, features=feats):.2f}")
            cells.append(f"{A.reidentification_rate(gallery, probes, features=feats, matched=lambda g, m=gal_matched: m):.2f}")
        c = slice(12, SIZE - 12)  # HOG on the inner face only (the tile minus 12 px all round)
        cells.append(f"{A.reidentification_rate(gallery[..., c, c], probes[..., c, c]):.2f}")
        cells.append(f"{A.reidentification_rate(gallery[..., c, c], probes[..., c, c], matched=lambda g, m=gal_matched[..., c, c]: m):.2f}")
        rows.append(cells)
    print(f"(b) re-identification of {n} faces (chance {1 / n:.2f}); target after replace ≤ 0.05 for both")
    _table(["probe faces", "HOG naive", "HOG matched", "EfficientNet naive", "EfficientNet matched",
            "HOG inner naive", "HOG inner matched"], rows)

    # (c) after replace
    rep = outs["replace"]
    d = (rep - pgrid).abs().mean(1)[0]
    unchanged = sum(float(d[int(b[1]):int(b[3]), int(b[0]):int(b[2])].mean()) < 0.01 for b in pboxes)
    rdet = A.detect_faces(rep)
    before, after = matches(pboxes, pdet), matches(pboxes, rdet)
    both = (before >= 0) & (after >= 0)
    err = [np.abs(rdet.landmarks[after[i]] - pdet.landmarks[before[i]]).max()
           / pdet.sizes[before[i]] for i in np.nonzero(both)[0]]
    x = nm.sample_image("astronaut")
    xdet = A.detect_faces(x)
    person = A.person_mask(x, xdet)
    out = A.anonymize(x, **A.LEVELS["clothes"], seed=0, detections=xdet)
    outside = float((out - x).abs().amax(1)[0][person == 0].max())
    print("(c) after faces='replace'")
    _table(["faces unchanged", "still detected in place", "landmark shift / face size (median, max)",
            "within 5%", "max |Δ| outside person mask (astronaut, background none)"],
           [[f"{unchanged} / {n}", f"{both.sum()} / {(before >= 0).sum()}",
             f"{np.median(err):.3f}, {np.max(err):.3f}", f"{np.mean(np.array(err) <= 0.05):.2f}",
             f"{outside:.4f}"]])

    # (d) speed
    rows = []
    for name, kw in A.LEVELS.items():
        A.anonymize(x, seed=0, **kw)  # warm
        t = time.perf_counter()
        A.anonymize(x, seed=0, **kw)
        rows.append([name, ", ".join(f"{k}={v}" for k, v in kw.items()), f"{time.perf_counter() - t:.2f}"])
    t = time.perf_counter()
    A.detect_faces(x)
    rows.insert(0, ["(detection only)", "CenterFace, OpenCV DNN", f"{time.perf_counter() - t:.2f}"])
    print(f"(d) seconds per 512 px photo (astronaut), {torch.get_num_threads()} CPU thread(s)")
    _table(["level", "options", "seconds"], rows)
    nf = 12 if quick else 30
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clip.mp4"
        with nm.video.Writer(src, fps=25) as w:
            for k in range(nf):
                w.write(nm.images.resize(x[..., :, 3 * k:3 * k + 400], 256))
        rows = []
        for label, kw in (("replace, detect every frame", dict(faces="replace")),
                          ("replace, detect every 3rd", dict(faces="replace", detect_every=3)),
                          ("blur, detect every frame", dict(faces="blur")),
                          ("full, detect every frame", dict(A.LEVELS["full"], seed=0))):
            r = A.anonymize_video(src, Path(tmp) / "out.mp4", progress=False, **kw)
            rows.append([label, r.frames, r.faces_detected, r.frames_rescued, f"{r.fps:.1f}"])
    print(f"(e) video: {nf} frames, 200x256 px (a 3 px/frame pan over astronaut), tracked")
    _table(["run", "frames", "faces detected", "frames rescued", "frames/s"], rows)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    main(ap.parse_args().quick)
