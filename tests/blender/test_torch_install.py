"""The preferences' torch install: pinned, CPU-only, into a folder of its own, with pip's
output kept for the preferences to show and a failure in one line. Run for real, with
pip, into a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import bpy  # noqa: F401  (the add-on package needs bpy to import)


def test_the_requirement_is_pinned_and_only_the_cpu_build_meets_it() -> None:
    from blender_neural_painter import torch_setup as ts

    for platform in ("linux", "win32"):
        cmd = ts.install_command("/target", python="/blender/python", platform=platform, index="https://idx")
        assert cmd[:4] == ["/blender/python", "-m", "pip", "install"]
        assert cmd[cmd.index("--target") + 1] == "/target"
        assert f"torch=={ts.TORCH_VERSION}+cpu" in cmd and f"pillow=={ts.PILLOW_VERSION}" in cmd
        assert cmd[cmd.index("--extra-index-url") + 1] == "https://idx"
    mac = ts.install_command("/target", platform="darwin")
    assert f"torch=={ts.TORCH_VERSION}" in mac and "--extra-index-url" not in mac  # PyPI's are CPU builds
    default = ts.install_command("/target", platform="linux")
    assert default[default.index("--extra-index-url") + 1] == ts.TORCH_CPU_INDEX
    requirements = [a for a in default if a.startswith(("torch", "pillow"))]
    assert all("==" in r for r in requirements) and len(requirements) == 2


def test_the_shot_libraries_are_pinned_for_blenders_numpy_and_bring_no_numpy() -> None:
    from blender_neural_painter import torch_setup as ts

    old = ts.video_command("/target", python="/blender/python", numpy="1.26.4")
    new = ts.video_command("/target", python="/blender/python", numpy="2.5.5")
    assert "opencv-python-headless==4.11.0.86" in old and "opencv-python-headless==4.13.0.92" in new
    for cmd in (old, new):
        assert cmd[:4] == ["/blender/python", "-m", "pip", "install"] and cmd[cmd.index("--target") + 1] == "/target"
        assert "--no-deps" in cmd and f"av=={ts.AV_VERSION}" in cmd  # never a second NumPy
    assert ts.video_command("/t", numpy="1.26.4", index="https://idx")[-1] == "opencv-python-headless==4.11.0.86"


def test_shot_libraries_that_cannot_be_installed_keep_torch_and_say_so(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The second pip run failing (no wheel for this platform, no network) leaves the
    install a success for stills, with one line saying shots need the libraries."""
    from blender_neural_painter import torch_setup

    empty = tmp_path / "no-wheels"
    empty.mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    site = tmp_path / "site"
    site.mkdir()
    install = torch_setup.Install(str(site), index=str(empty))
    install.ok, install.summary = True, f"Installed torch 2.13.0+cpu (CPU) into {site}"
    install.install_video()
    assert install.ok is True and "\n" not in install.summary
    assert install.summary.startswith(f"Installed torch 2.13.0+cpu (CPU) into {site}; OpenCV and PyAV for shots "
                                      "failed (")
    assert f"av=={torch_setup.AV_VERSION}" in install.summary  # pip names what it could not find
    assert install.summary.endswith("stills work, shots need them") and list(site.iterdir()) == []


def test_a_failed_install_is_one_line_keeps_the_output_and_installs_nothing(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from blender_neural_painter import torch_setup

    empty = tmp_path / "no-wheels"
    empty.mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # only the empty folder: nothing can be found
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    site = tmp_path / "site"
    install = torch_setup.Install(str(site), index=str(empty))
    install.run()
    assert install.ok is False and not install.running
    assert install.summary.startswith("Install failed: ") and "\n" not in install.summary
    assert f"torch=={torch_setup.TORCH_VERSION}+cpu" in install.summary  # pip names what it could not find
    assert any(line.startswith("$ ") and " pip install " in line for line in install.lines)  # output kept
    assert site.is_dir() and list(site.iterdir()) == []


def test_a_folder_that_cannot_be_written_is_refused_in_one_line(tmp_path: Path) -> None:
    from blender_neural_painter import torch_setup

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    install = torch_setup.Install(str(blocker / "site"))
    install.run()
    assert install.ok is False and install.summary.startswith(f"Install failed: cannot write to {blocker / 'site'}")
    assert "\n" not in install.summary and list(install.lines) == []  # pip never ran


def wheels_or_skip(dest: Path, *requirements: str) -> Path:
    """``requirements`` downloaded into ``dest`` (a local index for the install), or the
    test skipped with pip's reason where they cannot be fetched for this Python."""
    from blender_neural_painter import torch_setup

    fetch = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(dest), *requirements],
                           capture_output=True, text=True, timeout=600)
    if fetch.returncode != 0:
        pytest.skip(f"{' '.join(requirements)} for Python {sys.version_info.major}.{sys.version_info.minor} cannot be "
                    f"fetched here: {torch_setup.error_line(fetch.stdout.splitlines() + fetch.stderr.splitlines())}")
    return dest


def test_a_real_install_of_the_pinned_cpu_build(tmp_path: Path) -> None:
    """pip installs the pinned CPU wheel and Pillow into the folder; the worker's command
    finds torch there; Blender's own NumPy is left alone."""
    from blender_neural_painter import bridge, torch_setup

    wheels = wheels_or_skip(tmp_path / "wheels", torch_setup.torch_requirement())
    site = tmp_path / "site"
    install = torch_setup.Install(str(site), index=str(wheels))
    install.run()
    assert install.ok, "\n".join(install.lines)
    import numpy

    opencv = torch_setup.OPENCV_VERSION[int(numpy.__version__.split(".")[0])]
    assert install.summary == (f"Installed torch {torch_setup.TORCH_VERSION}+cpu (CPU) into {site}, with OpenCV "
                               f"{opencv.rsplit('.', 1)[0]} and PyAV {torch_setup.AV_VERSION} for shots")
    assert (site / "torch").is_dir() and (site / "PIL").is_dir() and (site / "cv2").is_dir() and (site / "av").is_dir()
    assert not (site / "numpy").exists() and not list(site.glob("nvidia*"))
    torch_file, numpy_file, cv2_file = flow_in_the_worker(site)
    assert Path(torch_file).is_relative_to(site) and not Path(numpy_file).is_relative_to(site)
    assert Path(cv2_file).is_relative_to(site)


def flow_in_the_worker(site: Path) -> list[str]:
    """Runs the engine's optical flow in the worker's Python with ``site`` on its path, beside
    this Blender's own NumPy; returns where torch, NumPy and OpenCV came from."""
    from blender_neural_painter import bridge

    cmd, env = bridge.worker_command(sys.executable, str(site))
    code = ("import torch, numpy, cv2, av, sys; sys.path.insert(0, sys.argv[1])\n"
            "from core.painters.flow import optical_flow\n"
            "a = numpy.random.default_rng(0).random((48, 64, 3)).astype(numpy.float32)\n"
            "f = optical_flow(a, numpy.roll(a, 2, axis=1))\n"
            "print(torch.__file__); print(numpy.__file__); print(cv2.__file__); print(f[8:-8, 8:-8, 0].mean())")
    where = subprocess.run([cmd[0], "-c", code, str(Path(__file__).resolve().parents[2])],
                           env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr[-2000:]
    *files, shift = where.stdout.split()
    assert abs(float(shift) - 2.0) < 0.3  # the 2 px shift, found
    return files


def test_the_shot_libraries_install_for_real_beside_blenders_numpy(tmp_path: Path) -> None:
    """The second pip run alone (the part every Blender gets, whichever its NumPy): the
    pinned OpenCV and PyAV land in the folder without a NumPy, and the flow runs."""
    import numpy

    from blender_neural_painter import torch_setup

    opencv = torch_setup.OPENCV_VERSION[int(numpy.__version__.split(".")[0])]
    wheels = wheels_or_skip(tmp_path / "wheels", f"opencv-python-headless=={opencv}", f"av=={torch_setup.AV_VERSION}")
    site = tmp_path / "site"
    site.mkdir()
    install = torch_setup.Install(str(site), index=str(wheels))
    install.ok, install.summary = True, "Installed torch"
    install.install_video()
    assert install.summary == (f"Installed torch, with OpenCV {opencv.rsplit('.', 1)[0]} and PyAV "
                               f"{torch_setup.AV_VERSION} for shots"), "\n".join(install.lines)
    assert (site / "cv2").is_dir() and (site / "av").is_dir() and not (site / "numpy").exists()
    _, numpy_file, cv2_file = flow_in_the_worker(site)
    assert Path(cv2_file).is_relative_to(site) and not Path(numpy_file).is_relative_to(site)


def test_the_probe_reports_the_shot_libraries_and_the_preferences_show_them() -> None:
    """Check Torch also says whether shots can be painted (OpenCV in the engine's Python)."""
    import importlib.util

    from blender_neural_painter import bridge, prefs

    info = bridge.probe_torch(sys.executable, None)
    assert info["torch"]
    prefs.STATE.update(torch="ok", info=info)
    try:
        if importlib.util.find_spec("cv2") is not None:
            import cv2

            assert info["cv2"] == cv2.__version__ and "no OpenCV" not in prefs.torch_summary()
        else:
            assert info["cv2"] is None and info["video_error"].startswith("cv2: ")
            assert prefs.torch_summary().endswith("(no OpenCV: stills only)")
    finally:
        prefs.STATE.update(torch="unknown", info={})
