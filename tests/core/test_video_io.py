"""Frames of a shot in (video, folder, patterns) and videos out (core.io.video_io)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import PainterError
from core.io.video_io import open_source, parse_frames, require_av, require_cv2, write_video

ROOT = Path(__file__).resolve().parents[2]


def frame(i, w=40, h=30):
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx + 3 * i) % w / w, yy / h, np.full_like(xx, 0.2 + 0.1 * i, dtype=float)], -1)
    return (img * 255).astype(np.uint8)


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "shot"
    d.mkdir()
    for i in (1, 2, 10):  # natural order: 2 before 10
        Image.fromarray(frame(i)).save(d / f"f{i}.png")
    (d / "notes.txt").write_text("not a frame")
    return d


def test_folder_is_read_in_natural_order(folder):
    src = open_source(folder)
    assert (src.kind, src.count, src.width, src.height) == ("images", 3, 40, 30)
    assert [os.path.basename(p) for p in src.paths] == ["f1.png", "f2.png", "f10.png"]
    got = list(src.frames(2, 3))
    assert [n for n, _ in got] == [2, 3]
    np.testing.assert_allclose(got[1][1], frame(10) / 255.0, atol=1e-6)
    assert src.frame_name(3) == "f10.png"


def test_printf_and_glob_patterns(tmp_path):
    for i in (7, 8, 9):
        Image.fromarray(frame(i)).save(tmp_path / f"render_{i:04d}.png")
    Image.fromarray(frame(1)).save(tmp_path / "render_12.png")  # 2 digits: not %04d
    printf = open_source(str(tmp_path / "render_%04d.png"))
    assert [os.path.basename(p) for p in printf.paths] == ["render_0007.png", "render_0008.png", "render_0009.png"]
    globbed = open_source(str(tmp_path / "render_*.png"))
    assert globbed.count == 4


def test_video_round_trip(tmp_path):
    frames = [frame(i) for i in range(5)]
    path = write_video(frames, tmp_path / "clip.mp4", fps=12)
    src = open_source(path)
    assert (src.kind, src.count, src.width, src.height) == ("video", 5, 40, 30)
    assert src.fps == pytest.approx(12)
    got = list(src.frames(2, 4))
    assert [n for n, _ in got] == [2, 3, 4]
    assert got[0][1].shape == (30, 40, 3) and got[0][1].dtype == np.float32
    # H.264 is lossy: close, not equal.
    assert np.abs(got[1][1] - frames[2] / 255.0).mean() < 0.05
    gif = write_video(frames, tmp_path / "clip.gif", fps=12)
    assert Image.open(gif).n_frames == 5


def made(path, data=None):
    """``path`` after creating it: a folder when ``data`` is None, else a file holding ``data``."""
    if data is None:
        path.mkdir()
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("setup,match", [
    (lambda d: made(d / "empty"), "holds no images"),
    (lambda d: d / "nothing_%04d.png", "matches no files"),
    (lambda d: d / "nothing_*.png", "matches no files"),
    (lambda d: d / "missing.mp4", "does not exist"),
    (lambda d: made(d / "bad.mp4", b"this is not a video" * 10), "cannot read video"),
    (lambda d: made(d / "zero.mp4", b""), "cannot read video"),
])
def test_bad_sources_are_one_line_errors(tmp_path, setup, match):
    with pytest.raises(PainterError, match=match) as err:
        open_source(setup(tmp_path))
    assert "\n" not in str(err.value)


def test_video_without_frames(tmp_path):
    av = require_av()
    path = tmp_path / "noframes.mp4"
    with av.open(str(path), mode="w") as c:
        s = c.add_stream("mpeg4", rate=24)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        c.start_encoding()  # a valid file with a header and not one frame
    assert path.stat().st_size > 0
    with pytest.raises(PainterError, match="has no frames"):
        open_source(path)


def test_frames_of_different_sizes(tmp_path):
    Image.fromarray(frame(1)).save(tmp_path / "a1.png")
    Image.fromarray(frame(2, w=42)).save(tmp_path / "a2.png")
    with pytest.raises(PainterError, match=r"frame 2 \(a2.png\) is 42x30 but frame 1 is 40x30"):
        open_source(tmp_path)


def test_unreadable_frame_in_a_folder(tmp_path):
    Image.fromarray(frame(1)).save(tmp_path / "a1.png")
    (tmp_path / "a2.png").write_bytes(b"broken")
    with pytest.raises(PainterError, match="frame 2 .* not a readable image"):
        open_source(tmp_path)


@pytest.mark.parametrize("text,count,expect", [
    (None, 9, (1, 9)), ("3-5", 9, (3, 5)), ("4", 9, (4, 4)), ("2-", 9, (2, 9)), ("2..9", 9, (2, 9)),
])
def test_parse_frames(text, count, expect):
    assert parse_frames(text, count) == expect


@pytest.mark.parametrize("text,match", [("5-12", "past the end"), ("0-3", "before frame 1"), ("6-2", "empty"),
                                        ("a-b", "not a range")])
def test_parse_frames_errors(text, match):
    with pytest.raises(PainterError, match=match):
        parse_frames(text, 9)


def test_optional_dependencies_missing_give_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(PainterError, match="pip install av"):
        require_av()
    with pytest.raises(PainterError, match="pip install opencv-python-headless"):
        require_cv2()


def test_core_imports_without_opencv_and_pyav():
    code = ("import sys; sys.modules['cv2'] = None; sys.modules['av'] = None\n"
            "import core, core.app.cli, core.painters.shot, core.io.video_io, core.painters.flow, core.painters.temporal\n"
            "from core.app.cli import main\n"
            "sys.exit(main(['paint-frames', 'x', '--out', 'y']))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: optical flow between frames needs OpenCV: run `pip install opencv-python-headless`"]
