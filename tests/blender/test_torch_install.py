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


def test_a_real_install_of_the_pinned_cpu_build(tmp_path: Path) -> None:
    """pip installs the pinned CPU wheel and Pillow into the folder; the worker's command
    finds torch there; Blender's own NumPy is left alone."""
    from blender_neural_painter import bridge, torch_setup

    wheels = tmp_path / "wheels"
    fetch = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(wheels),
                            torch_setup.torch_requirement()], capture_output=True, text=True, timeout=600)
    if fetch.returncode != 0:
        pytest.skip(f"{torch_setup.torch_requirement()} for Python {sys.version_info.major}."
                    f"{sys.version_info.minor} cannot be fetched here: {torch_setup.error_line(fetch.stdout.splitlines() + fetch.stderr.splitlines())}")
    site = tmp_path / "site"
    install = torch_setup.Install(str(site), index=str(wheels))
    install.run()
    assert install.ok, "\n".join(install.lines)
    assert install.summary == f"Installed torch {torch_setup.TORCH_VERSION}+cpu (CPU) into {site}"
    assert (site / "torch").is_dir() and (site / "PIL").is_dir()
    assert not (site / "numpy").exists() and not list(site.glob("nvidia*"))
    cmd, env = bridge.worker_command(sys.executable, str(site))
    where = subprocess.run([cmd[0], "-c", "import torch, numpy; print(torch.__file__); print(numpy.__file__)"],
                           env=env, capture_output=True, text=True, timeout=120)
    torch_file, numpy_file = where.stdout.split()
    assert Path(torch_file).is_relative_to(site) and not Path(numpy_file).is_relative_to(site)
