"""nm.anonymize: CenterFace against boxes checked by eye, the attacker on known answers, each level
changing only its own pixels, and bad input."""

from __future__ import annotations

import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import anonymize as A

# Checked by eye on a 4x zoom of skimage's astronaut (512 px) with a 10-px grid drawn over it:
# the face from the fringe to the chin and cheek to cheek, and the centres of the two pupils.
ASTRONAUT_FACE = (182, 75, 272, 190)
ASTRONAUT_EYES = ((202, 102), (246, 102))


@pytest.fixture(scope="module")
def astronaut():
    return nm.sample_image("astronaut")


@pytest.fixture(scope="module")
def small():
    """Astronaut at 256 px, and its faces."""
    x = nm.images.resize(nm.sample_image("astronaut"), 256)
    return x, A.detect_faces(x)


def test_box_iou_and_nms_by_hand():
    a = np.array([[0, 0, 2, 2]], np.float32)
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6]], np.float32)
    np.testing.assert_allclose(A.box_iou(a, b), [[1 / 7, 1.0, 0.0]])
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], np.float32)
    assert list(A.nms(boxes, np.array([0.5, 0.9, 0.7]), 0.3)) == [1, 2]


def test_detector_on_astronaut_against_the_eye(astronaut):
    f = A.detect_faces(astronaut)
    assert len(f) == 1
    assert A.box_iou(f.boxes, np.array([ASTRONAUT_FACE]))[0, 0] >= 0.5
    # landmarks: image-left eye first; both within 8 px of the pupils
    assert np.abs(f.landmarks[0, :2] - np.array(ASTRONAUT_EYES)).max() < 8
    assert f.landmarks[0, 3, 1] > f.landmarks[0, 2, 1] > f.landmarks[0, 0, 1]  # mouth below nose below eyes
    drawn = f.draw(astronaut)
    assert drawn.shape == astronaut.shape and (drawn - astronaut).abs().amax() > 0.5


def test_tiles_find_the_same_face(astronaut):
    f = A.detect_faces(astronaut, tile=256)  # 9 overlapping tiles + the shrunk whole
    assert len(f) == 1
    assert A.box_iou(f.boxes, np.array([ASTRONAUT_FACE]))[0, 0] >= 0.5


def test_grey_input_is_repeated(astronaut):
    grey = nm.color.luminance(astronaut)
    f = A.detect_faces(grey)
    assert len(f) == 1 and A.box_iou(f.boxes, np.array([ASTRONAUT_FACE]))[0, 0] >= 0.5
    out = A.anonymize(grey[..., ::2, ::2], faces="blur")
    assert out.shape == (1, 3, 256, 256)


def test_bad_input_gives_clear_errors_or_handled_results():
    with pytest.raises(ValueError, match="empty"):
        A.detect_faces(torch.zeros(1, 3, 0, 10))
    with pytest.raises(ValueError, match="alpha"):
        A.anonymize(torch.zeros(1, 4, 32, 32))
    with pytest.raises(ValueError, match="batch"):
        A.detect_faces(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match="faces='mask'"):
        A.anonymize(torch.zeros(1, 3, 32, 32), faces="mask")
    with pytest.raises(ValueError, match="background"):
        A.anonymize(torch.zeros(1, 3, 32, 32), background="oil")
    tiny = torch.full((1, 3, 1, 1), 0.3)
    f = A.detect_faces(tiny)
    assert len(f) == 0 and "too small" in f.note
    with pytest.warns(A.NoFacesWarning, match="too small"):
        out = A.anonymize(tiny)
    assert torch.equal(out, tiny)


def test_no_faces_pass_through_with_a_warning():
    x = nm.images.resize(nm.sample_image("coffee"), 200)
    with pytest.warns(A.NoFacesWarning, match="no faces"):
        out = A.anonymize(x, faces="replace", clothes="hue")
    assert torch.equal(out, x)
    assert A.person_mask(x, A.Faces()).abs().sum() == 0


def test_similarity_transform_recovers_a_known_one():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 100, (5, 2))
    th, s, t = 0.3, 1.7, np.array([12.0, -4.0])
    r = s * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    m = A.similarity_transform(p, p @ r.T + t)
    np.testing.assert_allclose(m, np.hstack([r, t[:, None]]), atol=1e-9)


def test_skin_rule_on_hand_made_colours():
    # BT.601 full-range YCrCb, as OpenCV: Cr = (R-Y)*0.713 + 128, Cb = (B-Y)*0.564 + 128
    def ycc(rgb):
        r, g, b = rgb
        y = 0.299 * r + 0.587 * g + 0.114 * b
        return 0.713 * (r - y) + 128, 0.564 * (b - y) + 128

    colours = [(224, 172, 140), (90, 140, 220), (120, 200, 80), (180, 120, 90)]
    x = torch.tensor(colours, dtype=torch.float32).T.reshape(1, 3, 1, 4) / 255
    want = [133 <= cr <= 173 and 77 <= cb <= 127 for cr, cb in map(ycc, colours)]
    assert want == [True, False, False, True]
    assert A.skin_mask(x)[0].tolist() == want


def test_each_level_changes_only_its_pixels(small):
    x, f = small
    assert len(f) == 1
    person = A.person_mask(x, f).numpy()
    regions = A.face_regions(f, (256, 256))
    box = np.zeros_like(regions)
    x1, y1, x2, y2 = f.boxes[0].astype(int)
    box[y1:y2, x1:x2] = True

    def changed(out):
        return (out - x).abs().amax(1)[0].numpy() > 1.5 / 255

    for mode in ("blur", "pixelate", "replace"):
        c = changed(A.anonymize(x, faces=mode, detections=f))
        assert not c[~regions].any(), mode
        assert c[box].mean() > 0.3, mode  # the face itself did change
    c = changed(A.anonymize(x, faces="none", clothes="hue", seed=1, detections=f))
    clothes = A.clothes_mask(x, torch.from_numpy(person), f).numpy()
    assert not c[clothes == 0].any() and not c[regions].any()
    assert c.mean() > 0.05
    c = changed(A.anonymize(x, faces="none", background="cartoon", detections=f))
    assert not c[person >= 1 - 1e-6].any() and not c[box].any()
    assert c[person == 0].mean() > 0.3
    c = changed(A.anonymize(x, **A.LEVELS["clothes"], seed=1, detections=f))
    assert not c[person == 0].any()  # background="none": outside the person nothing moves
    assert torch.equal(A.anonymize(x, **A.LEVELS["none"]), x)


def test_levels_are_valid_options():
    assert {"none", "replace", "full"} <= set(A.LEVELS)
    for kw in A.LEVELS.values():
        A.check_options(**kw)
    assert A.LEVELS["full"] == {"faces": "replace", "background": "cartoon", "clothes": "hue"}


def test_replaced_face_is_still_a_face_in_place(astronaut):
    f = A.detect_faces(astronaut)
    out = A.replace_faces(astronaut, f)
    g = A.detect_faces(out)
    assert len(g) == 1 and A.box_iou(f.boxes, g.boxes)[0, 0] > 0.6
    assert np.abs(g.landmarks - f.landmarks).max() < 0.05 * f.sizes[0]
    x1, y1, x2, y2 = f.boxes[0].astype(int)
    assert (out - astronaut)[..., y1:y2, x1:x2].abs().mean() > 0.03


def test_reidentification_on_known_answers():
    faces, _ = nm.data.lfw_faces()
    g = faces[:6]
    perm = np.array([0, 1, 3, 2, 5, 4])  # probes 0 and 1 match, the rest are swapped
    probes = (g[perm] * 0.95 + 0.02).clamp(0, 1)
    for feats in ("hog", "efficientnet"):
        assert A.reidentification_rate(g, g, features=feats) == 1.0
        assert A.reidentification_rate(g, probes, features=feats) == pytest.approx(2 / 6)
        # the matched attacker permutes his gallery the same way: all found
        assert A.reidentification_rate(g, probes, features=feats, matched=lambda z: z[perm]) == 1.0
    with pytest.raises(ValueError, match="pair"):
        A.reidentification_rate(g, g[:3])
    with pytest.raises(ValueError, match="features"):
        A.reidentification_rate(g, g, features="sift")


def test_face_grid_boxes_hold_the_faces():
    faces, non = nm.data.lfw_faces()
    assert faces.shape == non.shape == (100, 3, 25, 25)
    img, boxes = nm.data.face_grid(n=6, size=50, cols=3, seed=2, nonfaces=3)
    assert img.shape == (1, 3, 150, 150) and boxes.shape == (6, 4)
    tiles = [img[..., int(b[1]):int(b[3]), int(b[0]):int(b[2])] for b in boxes]
    small = torch.cat([torch.nn.functional.interpolate(t, size=(25, 25), mode="area") for t in tiles])
    # each face tile, shrunk back, is one of the LFW faces (nearest by far)
    d = ((small[:, None] - faces[None]) ** 2).mean((2, 3, 4))
    assert (d.min(1).values < 2e-3).all() and len(set(d.argmin(1).tolist())) == 6


def test_cli_photo(tmp_path, astronaut):
    from nomysticism.cli import main

    src, dst = tmp_path / "in.jpg", tmp_path / "out.jpg"
    nm.save_image(nm.images.resize(astronaut, 200), src)
    assert main(["anonymize", str(src), str(dst), "--faces", "replace", "--background", "cartoon"]) == 0
    out = nm.load_image(dst)
    assert out.shape == (1, 3, 200, 200)
    with pytest.raises(SystemExit):  # argparse rejects an unknown choice
        main(["anonymize", str(src), str(dst), "--faces", "mask"])


def test_cli_photo_without_faces(tmp_path, capsys):
    from nomysticism.cli import main

    src, dst = tmp_path / "coffee.png", tmp_path / "out.png"
    x = nm.images.resize(nm.sample_image("coffee"), 160)
    nm.save_image(x, src)
    assert main(["anonymize", str(src), str(dst), "--level", "clothes"]) == 0
    assert "no faces" in capsys.readouterr().out
    assert torch.equal(nm.load_image(dst), nm.load_image(src))


def test_second_view_is_the_stated_shift_and_relight():
    """nm.data.second_view against numpy: with zoom 1 a 1-px shift is exact (bilinear at whole
    pixels), and the re-lighting is gain·x + lift, clamped."""
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((2, 3, 12, 10)).astype(np.float32))
    out = nm.data.second_view(x, shift=1, zoom=1.0, gain=0.9, lift=0.04).numpy()
    ref = np.clip(x.numpy()[..., 1:, 1:] * 0.9 + 0.04, 0, 1)  # content moves up-left by one pixel
    np.testing.assert_allclose(out[..., :-1, :-1], ref, atol=1e-6)
    tiles = nm.data.crop_tiles(torch.arange(48.0).reshape(1, 1, 6, 8), np.array([[0, 0, 4, 3], [4, 3, 8, 6]]))
    assert tiles.shape == (2, 1, 3, 4)
    np.testing.assert_array_equal(tiles[1, 0].numpy(), np.arange(48.0).reshape(6, 8)[3:6, 4:8])
