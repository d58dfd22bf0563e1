"""The film scrubber: the slider changes the picture and the label, labels follow the truth, a video
file is read lazily (checked against imageio, an independent decoder), bad input says what is wrong.

The test film is built here by hand: clean frames of a fast moving scene with exact copies inserted
at known places, so the truth is known without the toolkit's film generator or duplicate search.
"""

import io

import imageio.v3 as iio
import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import restore as R
from nomysticism.restore import KIND_COLORS, Repeat
from nomysticism.video import VideoError
from nomysticism.widgets import FilmScrubber
from nomysticism.widgets.restore import frame_label
from PIL import Image

# source frame order of the film: 3 again right after 3 (plain), 5 6 5 (reverse), 8 9 10 8 (through)
ORDER = [0, 1, 2, 3, 3, 4, 5, 6, 5, 7, 8, 9, 10, 8, 11, 12]
TRUTH = [Repeat(4, 3, "plain"), Repeat(8, 6, "reverse"), Repeat(13, 10, "through")]


@pytest.fixture(scope="module")
def film():
    scene = nm.data.moving_scene(13, (64, 80), speed=(4.0, 5.0), direction=0.0, objects=1, seed=3)
    return torch.cat([scene.frame(k) for k in ORDER])


def png(value: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(value)).convert("RGB"))


def test_classes_and_linked_play(film):
    w = FilmScrubber(film, truth=TRUTH)
    assert "nm-widget" in w.box._dom_classes
    assert "nm-primary" in w.slider._dom_classes and "nm-output" in w.view._dom_classes
    assert w.slider.max == len(ORDER) - 1 and w.play.max == len(ORDER) - 1


def test_moving_the_slider_changes_image_and_label(film):
    w = FilmScrubber(film, truth=TRUTH)
    before_img, before_text, before_strip = w.view.value, w.label.value, w.strip.value
    w.slider.value = 4
    assert w.view.value != before_img and w.label.value != before_text
    assert w.strip.value != before_strip                      # the marker moved
    # the picture shown is the frame itself
    np.testing.assert_allclose(png(w.view.value), film[4].permute(1, 2, 0).numpy() * 255, atol=1)
    assert "frame 4" in w.label.value and "truth: repeat of #3 (plain)" in w.label.value


def test_labels_agree_with_the_truth_after_the_search(film):
    w = FilmScrubber(film, truth=TRUTH)
    assert "not searched yet" in w.label.value
    w.find_repeats(wait=True)
    assert w.runner.error is None, w.runner.error
    assert {r.index for r in TRUTH} <= {r.index for r in w.repeats}   # exact copies: all found
    assert w.repeats == R.duplicate_frames(film)                   # what the search says, shown
    for r, text in zip(TRUTH, ["repeat of #3 (plain)", "repeat of #6 (reverse)", "repeat of #10 (through)"]):
        w.slider.value = r.index
        assert w.current == {"found": text, "truth": text, "agrees": True}, w.current
        assert "✓" in w.label.value
    w.slider.value = 5
    assert w.current == {"found": "kept", "truth": "kept", "agrees": True}
    assert f"{len(w.repeats)} repeats found" in w.score.value and "recall 1.00" in w.score.value


def test_label_says_when_the_search_disagrees():
    lab = frame_label(4, repeats=[], truth=[Repeat(4, 3, "plain")])
    assert lab == {"found": "kept", "truth": "repeat of #3 (plain)", "agrees": False}
    lab = frame_label(4, repeats=[Repeat(4, 2, "reverse")], truth=[Repeat(4, 3, "plain")])
    assert lab["agrees"] is False
    assert frame_label(2, [], None, interpolated=[2])["found"] == "interpolated"


def test_the_strip_marks_cells_of_the_right_colour(film):
    w = FilmScrubber(film, repeats=TRUTH)
    strip = w._strip                                        # the unmarked strip, RGB
    for r in TRUTH:
        y, x = w.cell_center(r.index)
        hx = KIND_COLORS[r.kind].lstrip("#")
        want = np.array([int(hx[i:i + 2], 16) for i in (0, 2, 4)])
        assert np.abs(strip[y, x].astype(int) - want).max() <= 8, (r, strip[y, x], want)
    y, x = w.cell_center(0)
    assert np.abs(strip[y, x].astype(int) - 242).max() <= 8      # a kept cell: light grey


def test_a_video_file_is_read_lazily(tmp_path, film):
    path = tmp_path / "film.mp4"
    nm.video.write_video(film, path, fps=12)
    ref = [f for f in iio.imiter(path, plugin="pyav")]       # an independent decoder
    w = FilmScrubber(path, truth=TRUTH, cache=4)
    assert len(w.source) == len(ref) == len(ORDER)
    for i in [0, 5, 6, 15, 2]:                               # forward, and a backward jump
        w.slider.value = i
        np.testing.assert_allclose(png(w.view.value).astype(int), ref[i].astype(int), atol=1)
    for i in range(len(ORDER)):
        w.slider.value = i
        assert len(w.source._cache) <= 4                     # never the whole film
    assert w.source.decoded < 3 * len(ORDER)


def test_bad_input_gives_clear_errors(tmp_path, film):
    with pytest.raises(TypeError, match="video path, a"):
        FilmScrubber(42)
    with pytest.raises(FileNotFoundError, match="no such video"):
        FilmScrubber(tmp_path / "missing.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video" * 50)
    with pytest.raises(VideoError):
        FilmScrubber(broken)
    with pytest.raises(ValueError, match=r"\(T,3,H,W\)"):
        FilmScrubber(torch.rand(5, 4, 8, 8))
    with pytest.raises(ValueError, match="empty"):
        FilmScrubber([])
    with pytest.raises(ValueError, match="past the film's last frame"):
        FilmScrubber(film, truth=[Repeat(40, 39, "plain")])
    with pytest.raises(TypeError, match="Repeat"):
        FilmScrubber(film, repeats=[(4, 3, "plain")])
    w = FilmScrubber(film)
    with pytest.raises(IndexError, match="outside the film"):
        w.show(len(ORDER))
