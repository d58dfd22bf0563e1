"""The contract function: :func:`anonymize` one photo at a chosen level."""

from __future__ import annotations

import warnings

import torch

from .detect import Faces, as_image, detect_faces
from .person import cartoon_background, person_mask, recolor_clothes
from .recipes import BACKGROUNDS, CLOTHES, FACES, RECIPES
from .replace import blur_faces, pixelate_faces, replace_faces

__all__ = ["anonymize", "NoFacesWarning", "check_options"]


class NoFacesWarning(UserWarning):
    """The photo has no detected face: faces and clothes are left as they are."""


def check_options(faces: str, background: str, clothes: str) -> None:
    """Raise ValueError naming the allowed values when an option string is unknown."""
    for name, value, allowed in (("faces", faces, FACES), ("background", background, BACKGROUNDS),
                                 ("clothes", clothes, CLOTHES)):
        if value not in allowed:
            raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, allowed))}")


def anonymize(image, *, faces: str = "replace", background: str = "none", clothes: str = "none",
              seed: int | None = None, detections: Faces | None = None) -> torch.Tensor:
    """DeepAnon (2019 hackathon): hide who is in a photo but keep the photo. Faces are replaced by
    one canonical face with the expression kept (or blurred / pixelated), the clothes get a random
    hue (HSV), the background outside a GrabCut person mask becomes a cartoon.

    ``detections``: precomputed :class:`Faces` (else CenterFace runs). ``seed`` fixes the clothes'
    hue. Returns (1,3,H,W), the input's size. With no face found, a :class:`NoFacesWarning` says
    so; the faces and clothes steps then do nothing, and ``background="cartoon"`` cartoonises the
    whole photo (all of it is background).
    """
    check_options(faces, background, clothes)
    x = as_image(image)
    if faces == background == clothes == "none":
        return x.clone()
    dets = detections if detections is not None else detect_faces(x, **RECIPES["detect"])
    if len(dets) == 0:
        why = dets.note or "no faces found"
        warnings.warn(f"anonymize: {why}; faces and clothes are unchanged"
                      + ("; the whole photo is background" if background != "none" else ""),
                      NoFacesWarning, stacklevel=2)
    out = x
    person = None
    if len(dets) and (background != "none" or clothes != "none"):
        person = person_mask(x, dets)
    if clothes == "hue" and len(dets):
        out = recolor_clothes(out, person, dets, seed=seed)
    if faces == "replace":
        out = replace_faces(out, dets)
    elif faces == "blur":
        out = blur_faces(out, dets)
    elif faces == "pixelate":
        out = pixelate_faces(out, dets)
    if background == "cartoon":
        if person is None:
            person = torch.zeros(x.shape[-2:])
        out = cartoon_background(out, person)
    return out.clone() if out is x else out
