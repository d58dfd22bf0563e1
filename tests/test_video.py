"""nm.video against PyAV itself: frames written with PyAV directly come back with the right count,
shape and pixels; info() matches the stream's own fields; broken files raise VideoError by name."""

from fractions import Fraction

import av
import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import video


def pattern(t: int, h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth moving colour ramp (H.264 keeps it nearly exact), (H,W,3) uint8."""
    y, x = np.mgrid[0:h, 0:w].astype(float)
    base = np.stack([np.sin(x / 9 + t / 3), np.cos(y / 7 - t / 4), np.sin((x + y) / 11 + t / 5)], -1)
    return np.round(128 + 90 * base).astype(np.uint8)


def write_pyav(path, clip, fps=12, pix_fmt="yuv444p", lossless=True):
    """Encode with PyAV directly (not nm.video.Writer): the independent writer."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.height, s.width = clip[0].shape[:2]
        s.pix_fmt = pix_fmt
        s.options = {"qp": "0"} if lossless else {"crf": "23"}
        for a in clip:
            for p in s.encode(av.VideoFrame.from_ndarray(a, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def read_pyav(path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])])


def as_u8(frames) -> np.ndarray:
    return np.stack([video.to_uint8(f) for f in frames]).astype(int)


@pytest.fixture
def clip():
    return [pattern(t) for t in range(9)]


def test_frames_count_shape_and_pixels(tmp_path, clip):
    p = write_pyav(tmp_path / "a.mp4", clip)
    got = list(video.frames(p))
    assert len(got) == len(clip)
    for f in got:
        assert f.shape == (1, 3, 48, 64) and f.dtype == torch.float32
        assert 0 <= float(f.min()) and float(f.max()) <= 1
    diff = np.abs(as_u8(got) - np.stack(clip))
    # qp=0 is lossless in YUV 4:4:4; only the RGB<->YUV rounding is left
    assert diff.max() <= 3 and diff.mean() < 1.0
    # and exactly what PyAV decodes
    assert np.array_equal(as_u8(got), read_pyav(p))


def test_info_matches_pyav_stream_fields(tmp_path, clip):
    p = write_pyav(tmp_path / "a.mp4", clip, fps=12)
    inf = video.info(p)
    with av.open(str(p)) as c:
        s = c.streams.video[0]
        assert inf.frames == s.frames == len(clip)
        assert inf.fps == pytest.approx(float(s.average_rate)) and inf.fps == pytest.approx(12)
        assert (inf.width, inf.height) == (s.codec_context.width, s.codec_context.height) == (64, 48)
        assert inf.duration == pytest.approx(float(s.duration * s.time_base))
    assert inf.size == (48, 64)
    assert inf.duration == pytest.approx(len(clip) / 12, abs=1 / 12)


def test_info_counts_frames_when_container_does_not_say(tmp_path, clip):
    p = tmp_path / "a.mkv"  # Matroska stores no frame count
    with av.open(str(p), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.height, s.width, s.pix_fmt = 48, 64, "yuv420p"
        for a in clip:
            for pk in s.encode(av.VideoFrame.from_ndarray(a, format="rgb24")):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    with av.open(str(p)) as c:
        assert c.streams.video[0].frames == 0
    assert video.info(p).frames == len(clip) == len(list(video.frames(p)))


def test_writer_round_trip(tmp_path, clip):
    p = tmp_path / "out" / "w.mp4"  # the parent folder is made
    with video.Writer(p, fps=24, crf=0) as w:
        for a in clip[:4]:
            w.write(a)  # uint8 arrays
        for a in clip[4:]:
            w.write(video.from_uint8(a))  # (1,3,H,W) tensors
    assert w.count == len(clip)
    ref = read_pyav(p)  # PyAV reads what the Writer wrote
    assert ref.shape == (len(clip), 48, 64, 3)
    d = np.abs(ref.astype(int) - np.stack(clip))
    assert d.mean() < 4.0 and d.max() <= 24  # yuv420p halves the chroma
    # crf=0 is lossless in YUV: the same pictures as PyAV's own yuv420p qp=0 encoding
    direct = read_pyav(write_pyav(tmp_path / "direct.mp4", clip, pix_fmt="yuv420p"))
    assert np.abs(ref.astype(int) - direct).max() <= 1
    (tmp_path / "direct.mp4").unlink()
    with av.open(str(p)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.codec_context.pix_fmt == "yuv420p"
        assert float(s.average_rate) == 24
    assert video.info(p).frames == len(clip)
    assert [p.name] == [f.name for f in p.parent.iterdir()]  # no temp file left


def test_writer_takes_a_batch_and_write_video_read_video(tmp_path, clip):
    batch = torch.cat([video.from_uint8(a) for a in clip])
    p = video.write_video(batch, tmp_path / "b.mp4", fps=Fraction(30000, 1001))
    back, fps = video.read_video(p)
    assert back.shape == batch.shape and fps == pytest.approx(29.97, abs=1e-2)
    assert (back - batch).abs().mean() < 5 / 255
    short, _ = video.read_video(p, max_side=32, max_frames=3)
    assert short.shape == (3, 3, 24, 32)


@pytest.mark.parametrize("h,w", [(47, 63), (31, 40), (48, 33)])
def test_odd_sizes_are_padded_by_edge(tmp_path, h, w):
    clip = [pattern(t, h, w) for t in range(3)]
    p = tmp_path / "odd.mp4"
    with video.Writer(p, fps=10, crf=0) as wr:
        for a in clip:
            wr.write(a)
    H, W = h + h % 2, w + w % 2  # yuv420p needs even sides
    inf = video.info(p)
    assert (inf.height, inf.width) == (H, W)
    got = as_u8(video.frames(p))
    assert got.shape == (3, H, W, 3)
    assert np.abs(got[:, :h, :w] - np.stack(clip)).mean() < 4.0
    # the added row/column repeats the edge
    ref = np.pad(np.stack(clip), ((0, 0), (0, H - h), (0, W - w), (0, 0)), mode="edge").astype(int)
    assert np.abs(got - ref).mean() < 4.0
    assert np.abs(got[:, h - 1:] - got[:, h - 1:h]).mean() < 3.0  # the padded row is the edge row
    assert np.abs(got[:, :, w - 1:] - got[:, :, w - 1:w]).mean() < 3.0


def test_writer_rejects_wrong_sizes_and_needs_with(tmp_path, clip):
    with pytest.raises(RuntimeError, match="with"):
        video.Writer(tmp_path / "x.mp4").write(clip[0])
    with pytest.raises(ValueError, match="fps"):
        video.Writer(tmp_path / "x.mp4", fps=0)
    with pytest.raises(ValueError, match="frame 1"):
        with video.Writer(tmp_path / "x.mp4") as w:
            w.write(clip[0])
            w.write(clip[0][:20, :20])
    with pytest.raises(ValueError, match="no frames"):
        with video.Writer(tmp_path / "x.mp4"):
            pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("when", ["before", "after"])
def test_writer_block_raises_leaves_nothing(tmp_path, clip, when):
    p = tmp_path / "v.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with video.Writer(p, fps=10) as w:
            if when == "after":
                for a in clip:
                    w.write(a)
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_failure_keeps_an_old_file(tmp_path, clip):
    p = video.write_video([video.from_uint8(a) for a in clip[:2]], tmp_path / "v.mp4", fps=10)
    old = p.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        with video.Writer(p, fps=10) as w:
            w.write(clip[0])
            raise KeyboardInterrupt
    assert p.read_bytes() == old
    assert [f.name for f in tmp_path.iterdir()] == ["v.mp4"]


def test_gif_round_trip(tmp_path):
    cols = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]])
    clip = []
    for t in range(5):
        a = np.zeros((30, 42, 3), np.uint8)
        for k in range(6):
            a[:, 7 * k:7 * (k + 1)] = cols[(k + t) % 6]
        clip.append(a)
    p = tmp_path / "a.gif"
    with video.Writer(p, fps=20) as w:
        for a in clip:
            w.write(a)
    inf = video.info(p)
    assert (inf.frames, inf.width, inf.height) == (5, 42, 30)
    assert inf.fps == pytest.approx(20)  # the GIF's own frame delay (5 cs)
    assert video.read_video(p)[1] == pytest.approx(20)
    got = as_u8(video.frames(p))
    assert got.shape == (5, 30, 42, 3)
    # 3-3-2 bit colour with dithering at the stripes' edges: compare the stripes' middles
    for t in range(5):
        for k in range(6):
            assert np.abs(got[t, 2:-2, 7 * k + 3] - cols[(k + t) % 6]).max() <= 4
    import imageio.v3 as iio

    ref = np.stack([a[..., :3] for a in iio.imiter(p)]).astype(int)  # Pillow's decoding
    assert np.array_equal(got, ref)
    assert len(list(video.frames(p, start=2, max_frames=2))) == 2
    assert len(list(video.frames(p, start=3))) == 2
    assert next(video.frames(p, max_side=21)).shape == (1, 3, 15, 21)


def test_max_side_start_max_frames(tmp_path, clip):
    p = write_pyav(tmp_path / "a.mp4", clip)
    ref = read_pyav(p)
    assert next(video.frames(p, max_side=32)).shape == (1, 3, 24, 32)
    assert next(video.frames(p, max_side=64)).shape == (1, 3, 48, 64)
    assert next(video.frames(p, max_side=500)).shape == (1, 3, 48, 64)  # never enlarged
    got = list(video.frames(p, start=3, max_frames=4))
    assert len(got) == 4
    assert np.array_equal(as_u8(got), ref[3:7])
    assert len(list(video.frames(p, start=7))) == 2
    assert list(video.frames(p, start=20)) == []
    assert list(video.frames(p, max_frames=0)) == []
    small = next(video.frames(p, start=5, max_side=32))
    ref5 = torch.from_numpy(ref[5]).permute(2, 0, 1)[None].float() / 255
    assert torch.allclose(small, nm.images.resize(ref5, 32), atol=2 / 255)


def test_frames_is_lazy(tmp_path, clip):
    p = write_pyav(tmp_path / "a.mp4", clip)
    it = video.frames(p)
    first = next(it)
    assert first.shape == (1, 3, 48, 64)
    it.close()  # closes the container without decoding the rest


def broken(tmp_path):
    good = write_pyav(tmp_path / "good.mp4", [pattern(t) for t in range(12)], lossless=False)
    data = good.read_bytes()
    rnd = tmp_path / "random.mp4"
    rnd.write_bytes(np.random.default_rng(0).bytes(4000))
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.webm"
    text.write_text("not a video at all\n" * 50)
    return {"random": rnd, "truncated": half, "empty": empty, "text": text,
            "missing": tmp_path / "missing.mp4", "folder": tmp_path}


@pytest.mark.parametrize("kind", ["random", "truncated", "empty", "text", "missing", "folder"])
@pytest.mark.parametrize("fn", ["frames", "info", "read_video"])
def test_broken_files_raise_videoerror_naming_the_file(tmp_path, kind, fn):
    path = broken(tmp_path)[kind]
    call = {"frames": lambda p: list(video.frames(p)), "info": video.info,
            "read_video": video.read_video}[fn]
    with pytest.raises(video.VideoError) as e:
        call(path)
    assert str(path) in str(e.value)
    assert isinstance(e.value, ValueError)  # callers catching ValueError keep working


def test_truncated_faststart_mp4_raises(tmp_path):
    """An mp4 whose index comes first still plays when cut; the missing frames must not pass silently."""
    p = tmp_path / "fs.mp4"
    with av.open(str(p), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=10)
        s.height = s.width = 32
        s.pix_fmt = "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(30):
            a = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            for pk in s.encode(av.VideoFrame.from_ndarray(a, format="rgb24")):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    assert len(list(video.frames(p))) == 30
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(p.read_bytes()[: p.stat().st_size * 2 // 3])
    with pytest.raises(video.VideoError, match="cut.mp4"):
        list(video.frames(cut))
    assert len(list(video.frames(cut, max_frames=3))) == 3  # the intact start is readable


def test_uint8_conversions():
    x = torch.tensor([0.0, 0.5, 1.0, 1.7, -0.2]).view(1, 1, 1, 5).expand(1, 3, 1, 5)
    a = video.to_uint8(x)
    assert a.shape == (1, 5, 3) and a.dtype == np.uint8
    assert a[0, :, 0].tolist() == [0, 128, 255, 255, 0]
    assert video.to_uint8(torch.full((1, 2, 2), 0.5)).shape == (2, 2, 3)
    with pytest.raises(ValueError):
        video.to_uint8(torch.zeros(1, 2, 4, 4))
    b = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    t = video.from_uint8(b)
    assert t.shape == (1, 3, 2, 4) and torch.equal(t[0].permute(1, 2, 0) * 255, torch.from_numpy(b).float())
