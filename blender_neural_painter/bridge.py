"""Talks to the painting engine in a separate process (``core/app/worker.py``).

A process rather than a thread: torch may be missing from Blender's Python (the user can
point at any interpreter that has it), a crash or out-of-memory in the engine cannot take
Blender down, and cancelling is a clean kill. This module never imports ``bpy``: its
reader threads only move lines from pipes into a queue; the operator on Blender's main
thread turns them into Grease Pencil.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .contracts import protocol

ADDON_DIR = Path(__file__).resolve().parent


def core_root() -> Path:
    """The directory that holds the ``core`` package: inside the extension once
    installed (the build script copies it there), next to the add-on in a checkout."""
    if (ADDON_DIR / "core" / "app" / "worker.py").is_file():
        return ADDON_DIR
    return ADDON_DIR.parent


#: Checks the engine's dependencies before ``core`` is imported (``core`` imports torch on
#: import), so a missing torch becomes one protocol error line instead of a traceback.
BOOTSTRAP = (
    "import json, sys\n"
    "missing = []\n"
    "for name in ('numpy', 'torch', 'PIL'):\n"
    "    try:\n"
    "        __import__(name)\n"
    "    except ImportError:\n"
    "        missing.append({'PIL': 'pillow'}.get(name, name))\n"
    "if missing:\n"
    "    print(json.dumps({'event': 'error', 'kind': 'input', 'message': ', '.join(missing) + ' is not installed for '\n"
    "        + sys.executable + ': install torch from the add-on preferences, or choose a Python that has '\n"
    "        + 'torch, numpy and pillow'}), flush=True)\n"
    "    sys.exit(2)\n"
    "import runpy\n"
    "runpy.run_module('core.app.worker', run_name='__main__', alter_sys=True)\n"
)


def worker_command(python: str | None = None, site_dir: str | None = None) -> tuple[list[str], dict[str, str]]:
    """Command line and environment for the worker: the chosen interpreter (Blender's own
    by default), with ``core`` and the extension's private torch install on its path."""
    exe = python or sys.executable
    env = dict(os.environ)
    paths = [str(core_root())]
    if site_dir and Path(site_dir).is_dir():
        paths.append(site_dir)
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) - 1)))
    return [exe, "-u", "-c", BOOTSTRAP], env


class Worker:
    """One running engine process and the events it has sent so far.

    Cancelling escalates: the engine is asked to stop after its current step; if it is
    still running ``terminate_after`` seconds later (a long step: a download, a big
    level) it gets SIGTERM, which the worker turns into an immediate stop; after
    ``kill_after`` seconds it is killed. Each check happens in :meth:`poll`, which never
    waits, so Blender's UI stays responsive throughout.
    """

    terminate_after = 3.0
    kill_after = 6.0

    def __init__(self, request: Any, python: str | None = None, site_dir: str | None = None) -> None:
        self.request = request  # a protocol.Request, frozen
        self.cmd, self.env = worker_command(python, site_dir)
        self.proc: subprocess.Popen[str] | None = None
        self.events: queue.Queue[Any] = queue.Queue()  # protocol events; None ends the stream
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self._threads: list[threading.Thread] = []
        self.finished = False  # the event stream has ended (process output closed)
        self.cancel_time: float | None = None
        self.escalated: list[str] = []  # "terminate", "kill": what cancelling took

    def start(self) -> None:
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        try:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                         env=self.env, cwd=str(core_root()), creationflags=flags)
        except OSError as exc:
            raise RuntimeError(f"cannot start the painting engine with {self.cmd[0]} ({exc.strerror or exc}); "
                               "check the Python interpreter in the add-on preferences") from None
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(self.request.to_json() + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died at once; the reader reports how
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._threads:
            t.start()

    def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                data = json.loads(line)
            except ValueError:
                self.stderr_tail.append(line)  # not a message: stray output
                continue
            try:
                self.events.put(protocol.decode_event(data))
            except protocol.ProtocolError as exc:
                self.events.put(protocol.Error(f"the painting engine sent a message this add-on cannot read ({exc})",
                                               "engine"))
        self.events.put(None)  # end of stream

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip())

    def poll(self, timeout: float | None = 0.0) -> list[Any]:
        """Events received so far; waits up to ``timeout`` s for the first (None: forever)."""
        self._escalate()
        out: list[Any] = []
        try:
            first = self.events.get(timeout=timeout) if timeout != 0.0 else self.events.get_nowait()
        except queue.Empty:
            return out
        items = [first]
        while True:
            try:
                items.append(self.events.get_nowait())
            except queue.Empty:
                break
        for ev in items:
            if ev is None:
                self.finished = True
            else:
                out.append(ev)
        return out

    def returncode(self, wait: float = 0.0) -> int | None:
        if self.proc is None:
            return None
        if wait > 0:
            try:
                return self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                return None
        return self.proc.poll()

    def cancel(self) -> None:
        """Ask the engine to stop after its current step (it sends "cancelled"); later
        polls escalate if it does not."""
        if self.cancel_time is None:
            self.cancel_time = time.monotonic()
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(protocol.CANCEL + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def _escalate(self) -> None:
        """Terminate, then kill, a process that ignores a cancel; never waits."""
        if self.cancel_time is None or self.proc is None or self.proc.poll() is not None:
            return
        waited = time.monotonic() - self.cancel_time
        try:
            if waited >= self.kill_after and "kill" not in self.escalated:
                self.escalated.append("kill")
                self.proc.kill()
            elif waited >= self.terminate_after and not self.escalated:
                self.escalated.append("terminate")
                self.proc.terminate()
        except OSError:
            pass  # it exited meanwhile

    def stop(self, grace: float = 3.0, wait: bool = True) -> None:
        """Make sure the process is gone: polite first, then terminate, then kill. With
        ``wait=False`` (Blender's UI) that happens on a helper thread that touches only
        the process, so the caller never blocks."""
        if self.proc is None:
            return
        if not wait:
            self.cancel()
            threading.Thread(target=self.stop, args=(grace, True), daemon=True).start()
            return
        if self.proc.poll() is None:
            self.cancel()
            deadline = time.monotonic() + grace
            while self.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(2.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                try:
                    self.proc.wait(5.0)
                except subprocess.TimeoutExpired:
                    # Killed, but not yet reaped: on a starved machine that can take a
                    # while. Never let it turn a finished run into a failed one.
                    threading.Thread(target=self.proc.wait, daemon=True).start()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

    def crash_message(self) -> str:
        code = self.returncode(wait=1.0)
        last = next((l for l in reversed(self.stderr_tail) if l.strip()), "")
        detail = f": {last.strip()[:200]}" if last else ""
        return (f"the painting engine stopped unexpectedly (exit code {code}){detail}; "
                "see the system console, or try fewer strokes or a smaller size")


def probe_torch(python: str | None = None, site_dir: str | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """What the chosen interpreter offers: torch version and best device, or why not, and
    the versions of OpenCV and PyAV (``cv2``, ``av``: None when missing) that shots need.
    Run in a subprocess so Blender never imports torch itself."""
    cmd, env = worker_command(python, site_dir)
    code = ("import json,sys\n"
            "try:\n import torch\nexcept Exception as e:\n print(json.dumps({'torch':None,'error':str(e)[:200]}));sys.exit()\n"
            "mps=bool(getattr(torch.backends,'mps',None) and torch.backends.mps.is_available())\n"
            "video={}\n"
            "for name in ('cv2','av'):\n"
            " try:\n  video[name]=__import__(name).__version__\n"
            " except Exception as e:\n  video[name]=None;video.setdefault('video_error',f'{name}: {e}'[:200])\n"
            "print(json.dumps({'torch':torch.__version__,'device':'cuda' if torch.cuda.is_available() else 'mps' if mps else 'cpu',"
            "'python':sys.version.split()[0],**video}))\n")
    try:
        out = subprocess.run([cmd[0], "-c", code], env=env, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"torch": None, "error": f"cannot run {cmd[0]}: {exc}"}
    try:
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        return {"torch": None, "error": (out.stderr.strip().splitlines() or ["no output"])[-1][:200]}
