"""Installing torch for the painting engine into a folder of the add-on's own.

Blender's Python has no torch, and an extension cannot ship it (a CPU wheel is about
190 MB per platform), so the preferences offer to install it with pip, on a helper
thread that never touches ``bpy``. What gets installed is pinned and CPU-only: on
Linux and Windows PyPI's torch wheels are the CUDA builds (several GB with their NVIDIA
libraries), so the requirement names the CPU build's own version (``+cpu``), which only
PyTorch's CPU index has; pip picks the wheel for the Python it runs under, which is
Blender's (3.11 up to Blender 5.0, 3.13 from 5.1). Blender's NumPy is pinned as a
constraint, so the install never brings a second NumPy that would shadow Blender's.

Painting a shot also needs OpenCV (optical flow) and PyAV (video files). They come in
a second pip run, without dependencies (OpenCV's only one is NumPy, which Blender has):
a platform with no wheel for them still gets a working torch for stills, and the
summary says what shots are missing.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from . import bridge

#: Has CPU wheels for both Pythons Blender embeds (3.11, 3.13) and works with the NumPy
#: each Blender bundles (1.x before 5.1, 2.x from 5.1); pinned, so an install never picks
#: up a build nobody tested.
TORCH_VERSION = "2.13.0"
PILLOW_VERSION = "13.0.0"
#: PyAV decodes and encodes video files; its wheels bundle FFmpeg and need no NumPy.
AV_VERSION = "18.1.0"
#: OpenCV for the optical flow between frames, by Blender's NumPy major version:
#: 4.11.0.86 is the last release built for NumPy 1.x (Blender 4.3-5.0); 4.13.0.92 was
#: run with Blender 5.3's NumPy 2.5.5 (tests/blender/test_torch_install.py).
OPENCV_VERSION = {1: "4.11.0.86", 2: "4.13.0.92"}
#: PyTorch's CPU-only index. ``NEURAL_PAINTER_TORCH_INDEX`` replaces it (a mirror's URL,
#: or a local folder of wheels).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def torch_requirement(platform: str = sys.platform) -> str:
    """A requirement only the CPU build satisfies (macOS wheels are CPU/MPS builds and
    carry no ``+cpu`` label)."""
    return f"torch=={TORCH_VERSION}" if platform == "darwin" else f"torch=={TORCH_VERSION}+cpu"


def install_command(target: str, python: str = sys.executable, platform: str = sys.platform,
                    constraints: str | None = None, index: str | None = None) -> list[str]:
    """pip's command line for installing the pinned CPU torch and Pillow into ``target``
    (without byte-compiling torch's thousands of modules up front: Python compiles the
    few it imports on first use, which halves the install's time)."""
    cmd = [python, "-m", "pip", "install", "--target", target, "--upgrade", "--no-input", "--no-compile",
           "--progress-bar", "off", torch_requirement(platform), f"pillow=={PILLOW_VERSION}"]
    source = index or os.environ.get("NEURAL_PAINTER_TORCH_INDEX") or TORCH_CPU_INDEX
    if os.path.isdir(source):
        cmd += ["--find-links", source]
    elif platform != "darwin":
        cmd += ["--extra-index-url", source]
    if constraints:
        cmd += ["--constraint", constraints]
    return cmd


def video_command(target: str, python: str = sys.executable, numpy: str | None = None,
                  index: str | None = None) -> list[str]:
    """pip's command line for the shot libraries (see the module's docstring); ``numpy`` is
    the version of Blender's NumPy, which picks the OpenCV build; a local folder of wheels
    given for torch is searched for them too."""
    major = int((numpy or numpy_version()).split(".")[0])
    opencv = OPENCV_VERSION.get(major, OPENCV_VERSION[max(OPENCV_VERSION)])
    cmd = [python, "-m", "pip", "install", "--target", target, "--upgrade", "--no-input", "--no-compile",
           "--progress-bar", "off", "--no-deps", f"av=={AV_VERSION}", f"opencv-python-headless=={opencv}"]
    source = index or os.environ.get("NEURAL_PAINTER_TORCH_INDEX")
    if source and os.path.isdir(source):
        cmd += ["--find-links", source]
    return cmd


def error_line(lines: Sequence[str]) -> str:
    """The line of pip's output that says what went wrong (its last ``ERROR:`` line)."""
    text = [l.strip() for l in lines if l.strip()]
    errors = [l for l in text if l.startswith("ERROR:")]
    line = (errors or text or ["pip printed nothing"])[-1]
    return line.removeprefix("ERROR:").strip()[:240]


class Install:
    """One install, run on a helper thread: ``lines`` is pip's output so far (the
    preferences show its tail), ``summary`` one line once it is over."""

    def __init__(self, target: str, python: str = sys.executable, index: str | None = None) -> None:
        self.target = target
        self.python = python
        self.index = index
        self.lines: collections.deque[str] = collections.deque(maxlen=200)
        self.running = False
        self.ok: bool | None = None
        self.summary = ""
        self.last_output: list[str] = []  # the output of the last command only

    def run(self) -> None:
        """The whole install, in the calling thread; never raises."""
        self.running = True
        try:
            self._install()
        except (OSError, subprocess.SubprocessError) as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
        finally:
            self.running = False

    def _install(self) -> None:
        try:
            Path(self.target).mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.target, prefix=".write-test-"):
                pass
        except OSError as exc:
            self._failed(f"cannot write to {self.target} ({exc.strerror or exc}); choose an external Python "
                         "with torch instead")
            return
        if self._run([self.python, "-m", "pip", "--version"]) != 0:
            self.lines.append("pip is missing: installing it with ensurepip")
            if self._run([self.python, "-m", "ensurepip", "--upgrade"]) != 0:
                self._failed(error_line(self.lines))
                return
        with tempfile.TemporaryDirectory() as tmp:
            constraints = os.path.join(tmp, "constraints.txt")
            Path(constraints).write_text(f"numpy=={numpy_version()}\n")
            code = self._run(install_command(self.target, self.python, constraints=constraints, index=self.index))
        if code != 0:
            self._failed(error_line(self.lines))
            return
        info = bridge.probe_torch(self.python, self.target)
        if not info.get("torch"):
            self._failed(f"torch was installed but does not import: {info.get('error', 'no details')}")
            return
        self.ok = True
        self.summary = f"Installed torch {info['torch']} ({str(info.get('device', 'cpu')).upper()}) into {self.target}"
        self.install_video()

    def install_video(self) -> None:
        """OpenCV and PyAV into the same folder, after torch; a failure here leaves ``ok``
        as it is (stills work without them) and is said at the end of ``summary``."""
        self.lines.append("Installing OpenCV and PyAV for painting shots")
        try:
            code = self._run(video_command(self.target, self.python, index=self.index))
        except (OSError, subprocess.SubprocessError) as exc:
            self.last_output, code = [f"{type(exc).__name__}: {exc}"], 1
        info = bridge.probe_torch(self.python, self.target)
        if code == 0 and info.get("cv2") and info.get("av"):
            self.summary += f", with OpenCV {info['cv2']} and PyAV {info['av']} for shots"
        else:
            why = error_line(self.last_output) if code != 0 else info.get("video_error", "they do not import")
            self.summary += f"; OpenCV and PyAV for shots failed ({why}): stills work, shots need them"
        self.summary = " ".join(self.summary.split())

    def _run(self, cmd: list[str]) -> int:
        self.lines.append("$ " + " ".join(cmd))
        self.last_output = []
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                encoding="utf-8", errors="replace")
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip())
            self.last_output.append(line.rstrip())
        return proc.wait()

    def _failed(self, why: str) -> None:
        self.ok = False
        self.summary = " ".join(f"Install failed: {why}".split())


def numpy_version() -> str:
    import numpy

    return str(numpy.__version__)
