"""Make the canonical face that ``nm.anonymize.replace_faces`` puts on every detected face.

It is nobody's face: the landmark-aligned mean of the 100 faces in scikit-image's ``lfw_subset``
and their mirror images (200 faces, so the result is symmetric).

1. each 25×25 face is upscaled (bicubic) to 112 px in a grid and CenterFace finds its 5 landmarks;
2. the faces are upscaled to ``SIZE`` px and aligned to the mean landmark layout by a similarity
   transform (rotation, scale, shift; ``cv2.estimateAffinePartial2D``), twice (the second time to
   the mean of the aligned layouts);
3. the aligned faces are averaged and lightly sharpened (unsharp mask).

Writes ``toolkit/nomysticism/assets/anonymize/canonical_face.png`` and ``canonical_face.json``
(the 5 landmarks and the blend ellipse, in the PNG's pixels). Run from the repository root:

    .venv/bin/python scripts/make_canonical_face.py
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import nomysticism as nm
import numpy as np
import torch.nn.functional as F
from nomysticism.anonymize.detect import box_iou, detect_faces

SIZE = 128
OUT = Path(__file__).resolve().parent.parent / "toolkit/nomysticism/assets/anonymize"
MIRROR = [1, 0, 2, 4, 3]  # landmark order after a left-right flip (eyes and mouth corners swap)


def landmarks_of_lfw(faces) -> tuple[np.ndarray, np.ndarray]:
    """(landmarks (N,5,2) in 25-px face coordinates, found mask (N,))."""
    grid, boxes = nm.data.face_grid(faces=faces, size=112, cols=10, gap=16)
    det = detect_faces(grid, threshold=0.3, tile=0)
    iou = box_iou(boxes, det.boxes)
    lms = np.zeros((len(faces), 5, 2), np.float32)
    found = np.zeros(len(faces), bool)
    for i in range(len(faces)):
        j = int(iou[i].argmax()) if len(det) else -1
        if j >= 0 and iou[i, j] > 0.3:
            lms[i] = (det.landmarks[j] - boxes[i, :2]) * (25 / 112)
            found[i] = True
    return lms, found


def main() -> None:
    faces, _ = nm.data.lfw_faces()
    lms, found = landmarks_of_lfw(faces)
    print(f"landmarks found on {found.sum()} of {len(faces)} faces")
    big = F.interpolate(faces[found], size=(SIZE, SIZE), mode="bicubic", align_corners=False)
    imgs = [f[0].numpy().astype(np.float64) for f in big.clamp(0, 1)]
    pts = [(lm + 0.5) * (SIZE / 25) - 0.5 for lm in lms[found]]
    imgs += [im[:, ::-1].copy() for im in imgs]  # mirror images, with left/right landmarks swapped
    pts += [np.stack([SIZE - 1 - p[MIRROR, 0], p[MIRROR, 1]], -1) for p in pts]
    ref = np.mean(pts, 0)
    for _ in range(2):
        aligned, moved = [], []
        for im, p in zip(imgs, pts):
            m, _ = cv2.estimateAffinePartial2D(p.astype(np.float32), ref.astype(np.float32))
            aligned.append(cv2.warpAffine(im, m, (SIZE, SIZE), flags=cv2.INTER_CUBIC,
                                          borderMode=cv2.BORDER_REFLECT))
            moved.append(p @ m[:, :2].T + m[:, 2])
        ref = np.mean(moved, 0)
    mean = np.mean(aligned, 0)
    soft = cv2.GaussianBlur(mean, (0, 0), 3.0)
    sharp = mean + 1.0 * (mean - soft)
    # an average has less contrast than any one face: give it the typical face's spread back
    inner = (slice(SIZE // 5, SIZE - SIZE // 8), slice(SIZE // 6, SIZE - SIZE // 6))
    typical = float(np.median([a[inner].std() for a in aligned]))
    mu = sharp[inner].mean()
    sharp = np.clip(mu + (sharp - mu) * typical / max(sharp[inner].std(), 1e-6), 0, 1)
    rgb = np.repeat((sharp * 255 + 0.5).astype(np.uint8)[..., None], 3, -1)
    eyes, mouth = ref[:2].mean(0), ref[3:].mean(0)
    d = float(np.linalg.norm(mouth - eyes))
    ellipse = {"center": [float(ref[2, 0]), float((eyes[1] + mouth[1]) / 2 + 0.05 * d)],
               "axes": [float(0.95 * d), float(1.05 * d)], "angle": 0.0}
    OUT.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(OUT / "canonical_face.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    meta = {"source": "mean of the 100 lfw_subset faces (scikit-image) and their mirror images, "
                      "landmark-aligned; made by scripts/make_canonical_face.py",
            "size": SIZE, "faces": int(2 * found.sum()),
            "landmarks": [[round(float(v), 3) for v in p] for p in ref],
            "landmark_order": ["right_eye", "left_eye", "nose", "right_mouth", "left_mouth"],
            "blend_ellipse": ellipse}
    (OUT / "canonical_face.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {OUT / 'canonical_face.png'} ({SIZE}x{SIZE}) and canonical_face.json")


if __name__ == "__main__":
    main()
