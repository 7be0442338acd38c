"""Painted-animation benchmark: flicker, consistency, fidelity and cost of `paint-frames`.

    python benchmarks/bench_video.py --out benchmarks/RESULTS.md          # everything (~1.5 h on 2 cores)
    python benchmarks/bench_video.py --clips still --frames 6 --strokes 200 --size 128   # a quick look
    python benchmarks/bench_video.py --farm-only --out benchmarks/RESULTS.md             # the render-farm run
    python benchmarks/bench_video.py --clips blender --figure docs/images/shot_blender.png  # README's picture

Three clips, all made here (no third-party footage):

* ``still``: samples/astronaut.png held for N frames with light sensor noise
  (Gaussian, sigma 0.01, quantised to 8 bits like a camera's file);
* ``panzoom``: samples/chelsea.jpg seen through a camera that pans 1.5 px a frame and
  zooms in by 0.75% a frame (a known affine motion);
* ``blender``: an animation rendered by Blender itself headless (bpy, Workbench): a
  monkey head crossing a textured backdrop (samples/coffee.jpg) while it turns.

Each clip is painted twice: frame by frame with the temporal painter
(``core.painters.shot.paint_shot``, as ``paint-frames`` runs it) and every frame independently
from scratch (``core.painters.painter.paint``, same options and seed). Figures:

* fidelity: PSNR of each painting (reference render at the canvas size) against its
  source frame area-averaged to that size; mean over frames;
* consistency: PSNR of the painting of frame t against the painting of frame t-1
  moved onto frame t by the true motion between them; mean over t. For ``blender`` the
  true motion comes from Blender's scene: each pixel's ray hits a surface point, which
  its object's transform carries back to frame t-1 and that frame's camera projects;
  pixels whose point is hidden in frame t-1 (or that come into view) are left out. The
  source frames' own consistency under the same motion is given beside it: it is what a
  painting identical to its source would score. (The JSON also keeps, for ``blender``,
  the figures under the measured DIS flow over the pixels where its forward-backward
  check passes, which earlier runs reported.)
* stroke motion (temporal painter): mean movement of the strokes two consecutive frames
  share (by id), px at the canvas size, over their geometry points;
* cost: CPU seconds of the process per frame of the temporal painter after the first,
  against the CPU seconds of the independent painting of the same frame, both with
  the writing of the frame's JSON and PNG that ``paint-frames`` does for every frame
  (measured alternately in one process with one torch thread: the machine is shared,
  and its wall-clock times swing by several times with other people's work; the JSON
  keeps the wall times too).

``--farm`` also compiles the Flamenco job type (farm/flamenco/neural_painter_shot.js)
under Node with stand-ins for Flamenco's job-compiler API, runs the commands it
produces for real (chunks two at a time, one chunk's worker killed after its first
frame and restarted) and compares the jump at each seam between chunks with the jumps
between frames inside a chunk and with a single-machine run.

With ``--out FILE`` the results replace the part of FILE between
``<!-- bench_video:begin -->`` and ``<!-- bench_video:end -->`` (the farm run between
``<!-- bench_farm:begin -->`` and ``<!-- bench_farm:end -->``); raw figures go to
``results_video.json`` / ``results_farm.json`` beside FILE.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_paint  # noqa: E402  (machine description, section writer)

CLIPS = ("still", "panzoom", "blender")
#: The job type's default warm-up, read from its file (farm/flamenco/neural_painter_shot.js).
DEFAULT_WARMUP = int(re.search(r'key: "warmup", type: "int32", default: (\d+)',
                               (ROOT / "farm" / "flamenco" / "neural_painter_shot.js").read_text()).group(1))


# ------------------------------------------------------------------------------------------
# Clips
# ------------------------------------------------------------------------------------------

def make_still(folder: Path, frames: int, size: int, sigma: float = 0.01) -> list[np.ndarray | None]:
    """The astronaut held still with sensor noise; returns the true motion (none) per frame."""
    from core.io.image_io import load_image, resize_long_side, save_png

    image = resize_long_side(load_image(ROOT / "samples" / "astronaut.png"), size)
    rng = np.random.default_rng(1)
    for i in range(frames):
        noisy = np.clip(image + rng.normal(0, sigma, image.shape), 0, 1)
        save_png(noisy, folder / f"still_{i + 1:04d}.png")
    h, w = image.shape[:2]
    return [None] + [np.zeros((h, w, 2), np.float32) for _ in range(frames - 1)]


def _panzoom_map(t: int, w: int, h: int, src_w: int, src_h: int) -> np.ndarray:
    """2x3 affine from frame pixel centres (x, y) to source pixel coordinates at frame t (0-based)."""
    zoom = 1.0075 ** t
    scale = 0.8 * src_w / w / zoom  # source px per frame px
    cx = src_w * 0.5 - 0.08 * src_w + 1.5 * t * 0.8 * src_w / w  # pans right 1.5 frame px per frame
    cy = src_h * 0.5
    return np.array([[scale, 0, cx - scale * w / 2], [0, scale, cy - scale * h / 2]], np.float64)


def make_panzoom(folder: Path, frames: int, size: int) -> list[np.ndarray | None]:
    """Chelsea through a panning, zooming camera; returns the true backward motion per frame:
    flow_back[t](x) = where the point at x in frame t was in frame t-1, minus x."""
    import cv2

    from core.io.image_io import load_image, save_png

    src = load_image(ROOT / "samples" / "chelsea.jpg")
    src_h, src_w = src.shape[:2]
    w = size
    h = int(round(size * 0.62))  # the window stays inside the photo while it pans and zooms
    motions: list[np.ndarray | None] = [None]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    centres = np.stack([xx + 0.5, yy + 0.5, np.ones_like(xx)], -1)
    for t in range(frames):
        m = _panzoom_map(t, w, h, src_w, src_h)
        # warpAffine maps destination (x, y) (pixel indices) to the source by the inverse
        # flag; convert from pixel centres to OpenCV's pixel-index convention.
        to_src = centres @ m.T - 0.5  # source pixel index coordinates
        frame = cv2.remap(src, to_src[..., 0].astype(np.float32), to_src[..., 1].astype(np.float32),
                          interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        save_png(frame, folder / f"panzoom_{t + 1:04d}.png")
        if t:
            prev = _panzoom_map(t - 1, w, h, src_w, src_h)
            a, b = prev[:, :2], prev[:, 2]
            src_pt = centres @ m.T
            back = np.linalg.solve(a, (src_pt - b).reshape(-1, 2).T).T.reshape(h, w, 2)
            motions.append((back - centres[..., :2]).astype(np.float32))
    return motions


BLENDER_SCRIPT = r'''
import sys, math, bpy
out, frames, width, height, texture = sys.argv[-5], int(sys.argv[-4]), int(sys.argv[-3]), int(sys.argv[-2]), sys.argv[-1]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "BLENDER_WORKBENCH"
scene.display.shading.light = "STUDIO"
scene.display.shading.color_type = "TEXTURE"
scene.render.resolution_x, scene.render.resolution_y = width, height
scene.render.resolution_percentage = 100
scene.render.image_settings.file_format = "PNG"
scene.frame_start, scene.frame_end = 1, frames
# Backdrop: a plane with the photo as its texture.
bpy.ops.mesh.primitive_plane_add(size=2, location=(0, 0, 0))
plane = bpy.context.object
plane.scale = (6.0, 9.0, 1)
mat = bpy.data.materials.new("backdrop")
mat.use_nodes = True
tex = mat.node_tree.nodes.new("ShaderNodeTexImage")
tex.image = bpy.data.images.load(texture)
bsdf = mat.node_tree.nodes["Principled BSDF"]
mat.node_tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
mat.node_tree.nodes.active = tex
plane.data.materials.append(mat)
# The actor: a monkey head with a colour-grid texture that crosses the frame and turns.
bpy.ops.mesh.primitive_monkey_add(size=1.8, location=(-1.5, 0, 0.9))
monkey = bpy.context.object
bpy.ops.object.shade_smooth()
mmat = bpy.data.materials.new("monkey")
mmat.use_nodes = True
mtex = mmat.node_tree.nodes.new("ShaderNodeTexImage")
mtex.image = bpy.data.images.new("grid", 256, 256)
mtex.image.generated_type = "COLOR_GRID"
mmat.node_tree.links.new(mtex.outputs["Color"], mmat.node_tree.nodes["Principled BSDF"].inputs["Base Color"])
mmat.node_tree.nodes.active = mtex
monkey.data.materials.append(mmat)
for f in range(1, frames + 1):
    u = (f - 1) / max(1, frames - 1)
    monkey.location = (-1.5 + 3.0 * u, 0.15 * math.sin(6.28 * u), 0.9)
    monkey.rotation_euler = (math.radians(20), 0, math.radians(-35 + 70 * u))
    monkey.keyframe_insert("location", frame=f)
    monkey.keyframe_insert("rotation_euler", frame=f)
cam_data = bpy.data.cameras.new("cam")
cam = bpy.data.objects.new("cam", cam_data)
scene.collection.objects.link(cam)
cam.location = (0, -6.5, 4.2)
cam.rotation_euler = (math.radians(57), 0, 0)
scene.camera = cam
for f in range(1, frames + 1):
    scene.frame_set(f)
    scene.render.filepath = f"{out}/blender_{f:04d}.png"
    bpy.ops.render.render(write_still=True)# True motion, for the consistency measure: for each pixel centre of frame a, the
# surface point the camera sees there (a ray cast), carried to frame b by its object's
# transform and projected by that frame's camera; valid where that point is also what
# the camera sees in frame b (not hidden) and inside the frame.
import numpy as np
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Vector

def _seen(f):
    scene.frame_set(f)
    dg = bpy.context.evaluated_depsgraph_get()
    tr, br, bl, tl = [Vector(v) for v in cam.data.view_frame(scene=scene)]
    m3, origin = cam.matrix_world.to_3x3(), cam.matrix_world.translation.copy()
    out = {}
    for y in range(height):
        for x in range(width):
            p = tl + (tr - tl) * ((x + 0.5) / width) + (bl - tl) * ((y + 0.5) / height)
            ok, loc, _n, _i, obj, mat = scene.ray_cast(dg, origin, (m3 @ p).normalized())
            if ok:
                out[(y, x)] = (obj.name, mat.inverted() @ loc)
    return out

def _motion(a, b):
    seen = _seen(a)
    scene.frame_set(b)
    dg = bpy.context.evaluated_depsgraph_get()
    origin = cam.matrix_world.translation.copy()
    flow = np.zeros((height, width, 2), np.float32)
    valid = np.zeros((height, width), bool)
    for (y, x), (name, local) in seen.items():
        world = bpy.data.objects[name].matrix_world @ local
        v = world_to_camera_view(scene, cam, world)
        px, py = v.x * width, (1.0 - v.y) * height
        flow[y, x] = (px - (x + 0.5), py - (y + 0.5))
        if not (0 <= px <= width and 0 <= py <= height and v.z > 0):
            continue
        d = world - origin
        ok, loc, _n, _i, obj, _m = scene.ray_cast(dg, origin, d.normalized())
        valid[y, x] = ok and obj.name == name and (loc - world).length < 1e-3 * max(1.0, d.length)
    return flow, valid

for f in range(2, frames + 1):
    back, valid = _motion(f, f - 1)
    fwd, fvalid = _motion(f - 1, f)
    np.savez_compressed(f"{out}/blender_motion_{f:04d}.npz", back=back, valid=valid, fwd=fwd, fwd_valid=fvalid)
'''


def make_blender(folder: Path, frames: int, size: int) -> list:
    """Rendered headless by Blender (bpy) in a child process; returns the true backward
    motion per frame with the pixels it holds for, (flow_back, valid), from Blender's own
    scene (see the ray casts at the end of BLENDER_SCRIPT)."""
    width, height = size, int(round(size * 0.75))
    script = folder / "make_clip.py"
    script.write_text(BLENDER_SCRIPT)
    cmd = [sys.executable, str(script), str(folder), str(frames), str(width), str(height),
           str(ROOT / "samples" / "coffee.jpg")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0 or not (folder / f"blender_{frames:04d}.png").exists():
        raise RuntimeError(f"Blender render failed: {proc.stderr[-2000:]}")
    script.unlink()
    motions: list = [None]
    for f in range(2, frames + 1):
        kept = np.load(folder / f"blender_motion_{f:04d}.npz")
        motions.append((kept["back"], kept["valid"]))
    return motions


MAKERS = {"still": make_still, "panzoom": make_panzoom, "blender": make_blender}


# ------------------------------------------------------------------------------------------
# Measurements
# ------------------------------------------------------------------------------------------

def _psnr_masked(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    d = (np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2
    if mask is not None:
        d = d[mask]
    mse = float(d.mean()) if d.size else 0.0
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def _motion_back(clip_motion, frames_canvas, t: int):
    """(flow_back, valid) from frame t to t-1 at the canvas size: true motion scaled, or measured."""
    from core.painters.flow import optical_flow, reliable_flow

    cur, prev = frames_canvas[t], frames_canvas[t - 1]
    h, w = cur.shape[:2]
    true = clip_motion[t]
    if isinstance(true, tuple):  # the true motion and the pixels seen in both frames (blender)
        back, valid = true
        if back.shape[:2] != (h, w):
            raise ValueError(f"the true motion is {back.shape[1]}x{back.shape[0]}, the canvas {w}x{h}: "
                             "render the clip at the canvas size")
        valid = valid.copy()
    elif true is not None:
        sy, sx = h / true.shape[0], w / true.shape[1]
        if (sy, sx) != (1.0, 1.0):
            import cv2
            true = cv2.resize(true, (w, h), interpolation=cv2.INTER_LINEAR) * np.array([sx, sy], np.float32)
        back = true
        valid = np.ones((h, w), bool)
    else:
        back = optical_flow(cur, prev)
        fwd = optical_flow(prev, cur)
        valid = reliable_flow(back, fwd)
    yy, xx = np.mgrid[0:h, 0:w]
    px, py = xx + 0.5 + back[..., 0], yy + 0.5 + back[..., 1]
    valid &= (px >= 0) & (px <= w) & (py >= 0) & (py <= h)
    return back, valid


def measured_motion(frames_canvas) -> list:
    """The measured DIS flow of a clip as (flow_back, valid) per frame, to measure
    consistency under it even where the true motion is known (computed once per clip)."""
    blind = [None] * len(frames_canvas)
    return [None] + [_motion_back(blind, frames_canvas, t) for t in range(1, len(frames_canvas))]


def consistency(renders: list[np.ndarray], clip_motion, frames_canvas) -> list[float]:
    """PSNR of each painting against the previous one moved onto it (see the module doc)."""
    from core.painters.flow import warp_image

    out = []
    for t in range(1, len(renders)):
        back, valid = _motion_back(clip_motion, frames_canvas, t)
        moved = warp_image(renders[t - 1], back)
        out.append(_psnr_masked(renders[t], moved, valid))
    return out


def _torch_threads(n: int | None) -> None:
    if n:
        import torch
        torch.set_num_threads(n)


def run_clip(name: str, folder: Path, motion, args) -> dict:
    """Paint one clip both ways and measure it."""
    import torch

    from core.painters.painter import PaintOptions
    from core.render.reference import render_strokes
    from core.painters.shot import FrameDone, FrameStarted, FrameStore, paint_shot
    from core.painters.temporal import TemporalOptions, canvas_target, stroke_motion
    from core.io.video_io import open_source

    source = open_source(str(folder / f"{name}_%04d.png"))
    frames = [img for _, img in source.frames(1, source.count)]
    options = PaintOptions(style=args.style, strokes=args.strokes, size=args.size, seed=0)
    topts = TemporalOptions(**json.loads(args.topts or "{}"))
    out = folder / f"{name}_painted"
    if out.exists():
        shutil.rmtree(out)  # paint_shot would resume an earlier run's frames
    out.mkdir()
    reused: list[str] = []
    temporal, independent, t_temporal, t_independent = [], [], {}, {}
    events = paint_shot(source, out, 1, source.count, options, topts)
    indep_frames = set(range(1, source.count + 1)) if name != "still" else set(range(1, 1 + args.still_independent))
    cpu_temporal, cpu_independent, write_cpu = {}, {}, {}
    scratch = folder / f"{name}_independent_written"
    scratch.mkdir(exist_ok=True)
    cpu0 = time.process_time()
    for event in events:
        if isinstance(event, FrameStarted):
            cpu0 = time.process_time()
        if isinstance(event, FrameDone) and event.kept:
            cpu_temporal[event.number] = time.process_time() - cpu0
            temporal.append(event.strokes)
            t_temporal[event.number] = event.seconds
            print(f"  {name} frame {event.number}: temporal {event.seconds:.1f}s"
                  + (f" ({event.stats.text()})" if event.stats else ""), file=sys.stderr, flush=True)
            # Interleave the independent painting of the same frame (same load on the machine).
            if event.number in indep_frames and not args.skip_independent:
                result, wall, cpu, when = independent_painting(folder / f"{name}_independent", event.number,
                                                               frames[event.number - 1], options,
                                                               args.reuse_independent)
                # A from-scratch painting of a frame in paint-frames is written as every frame
                # is (JSON and the reference render's PNG), and the temporal figure includes
                # that: the same write is timed here (now, even for a reused painting).
                c1 = time.process_time()
                FrameStore(scratch).write(event.number, result, None)
                write_cpu[event.number] = time.process_time() - c1
                t_independent[event.number], cpu_independent[event.number] = wall, cpu + write_cpu[event.number]
                independent.append((event.number, result))
                if when:
                    reused.append(when)
                print(f"  {name} frame {event.number}: independent {wall:.1f}s"
                      + (f" (reused, measured {when})" if when else ""), file=sys.stderr, flush=True)
    s0 = temporal[0]
    frames_canvas = [canvas_target(f, s0.width, s0.height, torch.device("cpu")).numpy() for f in frames]
    r_temp = [render_strokes(s) for s in temporal]
    row: dict = {"clip": name, "frames": source.count, "size": f"{s0.width}x{s0.height}",
                 "strokes": args.strokes, "style": args.style, "topts": topts.__dict__}
    row["fidelity_temporal"] = [_psnr_masked(r, f) for r, f in zip(r_temp, frames_canvas)]
    row["consistency_temporal"] = consistency(r_temp, motion, frames_canvas)
    # The source frames' own consistency under the same motion: what a painting identical
    # to its source would score (shading that changes as an object turns, resampling).
    row["consistency_source"] = consistency(frames_canvas, motion, frames_canvas)
    measured = measured_motion(frames_canvas) if any(isinstance(m, tuple) for m in motion) else None
    if measured:
        row["consistency_temporal_measured_flow"] = consistency(r_temp, measured, frames_canvas)
        row["consistency_source_measured_flow"] = consistency(frames_canvas, measured, frames_canvas)
    row["stroke_motion_px"] = [stroke_motion(a, b)[0] for a, b in zip(temporal, temporal[1:])]
    row["consecutive_psnr_temporal"] = [_psnr_masked(a, b) for a, b in zip(r_temp, r_temp[1:])]
    row["stroke_counts"] = [len(s) for s in temporal]
    row["seconds_temporal"] = [t_temporal[k] for k in sorted(t_temporal)]
    if independent:
        numbers = [k for k, _ in independent]
        r_ind = [render_strokes(s) for _, s in independent]
        row["fidelity_independent"] = [_psnr_masked(r, frames_canvas[k - 1]) for k, r in zip(numbers, r_ind)]
        contiguous = numbers == list(range(1, len(numbers) + 1))
        if contiguous and len(numbers) > 1:
            row["consistency_independent"] = consistency(r_ind, motion[:len(numbers)], frames_canvas[:len(numbers)])
            if measured:
                row["consistency_independent_measured_flow"] = consistency(
                    r_ind, measured[:len(numbers)], frames_canvas[:len(numbers)])
            row["consecutive_psnr_independent"] = [_psnr_masked(a, b) for a, b in zip(r_ind, r_ind[1:])]
        row["seconds_independent"] = [t_independent[k] for k in numbers]
        row["cpu_independent"] = [cpu_independent[k] for k in numbers]
        row["cpu_independent_write"] = [write_cpu[k] for k in numbers]
        row["cost_ratio"] = [cpu_temporal[k] / cpu_independent[k] for k in numbers if k > 1]
    row["cpu_temporal"] = [cpu_temporal[k] for k in sorted(cpu_temporal)]
    row["independent_reused"] = sorted(set(reused))
    row["independent_reused_count"] = len(reused)
    return row


def independent_painting(cache: Path, number: int, frame: np.ndarray, options, reuse: bool):
    """Paint ``frame`` from scratch; returns (strokes, wall s, CPU s, None).

    Every painting is kept in ``cache`` with its times and a key (the frame's pixels
    and the paint options). With ``reuse`` a kept painting whose key matches is
    returned instead, with the times measured when it was painted and that date in
    place of None: the painter is deterministic, so only its times are old (reuse is
    for re-measuring the temporal painter; say so where the figures are reported, and
    never reuse across a change to the still painter)."""
    from core.painters.events import Done
    from core.painters.painter import paint
    from core.model.strokes import StrokeSet

    key = hashlib.sha256(np.ascontiguousarray(frame, np.float32).tobytes()
                         + repr(sorted(options.__dict__.items())).encode()).hexdigest()[:20]
    path = cache / f"frame_{number:04d}.json"
    if reuse and path.exists():
        kept = StrokeSet.load_json(path)
        bench = kept.meta.get("bench") or {}
        if bench.get("key") == key:
            return kept, float(bench["wall"]), float(bench["cpu"]), str(bench["date"])
    t0, c0 = time.perf_counter(), time.process_time()
    result = None
    for ev in paint(frame, options):
        if isinstance(ev, Done):
            result = ev.strokes
    assert result is not None
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    result.meta["bench"] = {"key": key, "wall": round(wall, 3), "cpu": round(cpu, 3),
                            "date": f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC"}
    cache.mkdir(parents=True, exist_ok=True)
    result.save_json(path)
    return result, wall, cpu, None


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------

def figure(folder: Path, name: str, path: Path) -> None:
    """The clip's first, middle and last source frames above their temporal paintings
    (README's picture of a painted shot), at the canvas size."""
    import cv2

    from core.io.image_io import load_image, save_png

    painted = sorted((folder / f"{name}_painted").glob("frame_*.png"))
    picks = [painted[0], painted[len(painted) // 2], painted[-1]]
    top, bottom = [], []
    for png in picks:
        paint = load_image(png)[..., :3]
        src = load_image(folder / f"{name}_{png.stem.split('_')[1]}.png")[..., :3]
        top.append(cv2.resize(src, paint.shape[1::-1], interpolation=cv2.INTER_AREA))
        bottom.append(paint)
    h, w = bottom[0].shape[:2]
    gap = np.ones((h, 4, 3), np.float32)
    row = lambda tiles: np.concatenate([tiles[0], gap, tiles[1], gap, tiles[2]], 1)
    save_png(np.concatenate([row(top), np.ones((4, 3 * w + 8, 3), np.float32), row(bottom)], 0), path)


def _mean(v):
    """Mean of the finite values: two identical paintings have an infinite PSNR, which no
    mean can hold, so they are left out and counted apart (:func:`_identical_pairs`)."""
    v = [x for x in v if x is not None and math.isfinite(x)]
    return sum(v) / len(v) if v else float("nan")


_PAIR_KEYS = {"consistency_temporal": "consistency temporal", "consistency_independent": "consistency independent",
              "consecutive_psnr_temporal": "consecutive PSNR temporal"}


def _identical_pairs(rows: list[dict]) -> list[str]:
    """One line per measure where some pairs of paintings are identical, because
    :func:`_mean` leaves them out: a painting that is mostly unchanged would otherwise
    read as only as steady as its few changed frames."""
    out = []
    for r in rows:
        for key, label in _PAIR_KEYS.items():
            v = r.get(key) or []
            same = sum(1 for x in v if x is not None and math.isinf(x))
            if same:
                out.append(f"- {r['clip']}, {label}: {same} of {len(v)} pairs identical (infinite PSNR), "
                           "left out of the mean above.")
    return out


def _machine() -> str:
    import torch
    cpu = bench_paint.machine_info([])["cpu"]
    return (f"{cpu}; {os.cpu_count()} logical CPUs; Python {platform.python_version()}, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads); load average at the start "
            f"{os.getloadavg()[0]:.1f} (the machine is shared)")


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(rows: list[dict], command: str) -> str:
    lines = ["## Painted animation (`benchmarks/bench_video.py`)", "",
             f"- Date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
             f"- Command: `{command}`", f"- Machine: {_machine()}",
             "- Clips made here (see the script's docstring); painting options: style, strokes and size "
             "below, everything else the defaults; temporal options: the defaults of "
             "`core.painters.temporal.TemporalOptions` unless listed.",
             "- CPU seconds per frame, both ways, include writing the frame's JSON and PNG, as `paint-frames` "
             "does for every frame (timed in this run, also for a reused independent painting)."]
    for r in rows:
        if r.get("independent_reused_count"):
            when = r["independent_reused"]
            lines.append(f"- {r['clip']}: {r['independent_reused_count']} of {len(r.get('cpu_independent', []))} "
                         "independent paintings (and their CPU times) reused from an earlier run in the same --work "
                         f"folder (`--reuse-independent`; painted {when[0]}"
                         + (f" to {when[-1]}" if len(when) > 1 else "") + " by the same still painter).")
    lines.append("")
    lines += ["| clip | frames | canvas | strokes | fidelity temporal dB | fidelity independent dB | "
              "consistency temporal dB | consistency independent dB | consistency of the source dB | stroke motion px | consecutive PSNR dB (min) | "
              "strokes (min-max) | CPU s/frame temporal (after 1st) | CPU s/frame independent | cost ratio |",
              "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|"]
    for r in rows:
        lines.append(
            f"| {r['clip']} | {r['frames']} | {r['size']} | {r['strokes']} {r['style']} "
            f"| {_mean(r['fidelity_temporal']):.2f} | {_mean(r.get('fidelity_independent', [])):.2f} "
            f"| {_mean(r['consistency_temporal']):.2f} | {_mean(r.get('consistency_independent', [])):.2f} "
            f"| {_mean(r.get('consistency_source', [])):.2f} "
            f"| {_mean(r['stroke_motion_px']):.3f} | {_mean(r['consecutive_psnr_temporal']):.2f} "
            f"({min(r['consecutive_psnr_temporal']):.2f}) "
            f"| {min(r['stroke_counts'])}-{max(r['stroke_counts'])} "
            f"| {_mean(r['cpu_temporal'][1:]):.1f} | {_mean(r.get('cpu_independent', [])):.1f} "
            f"| {_mean(r.get('cost_ratio', [])):.2f} |")
    same = _identical_pairs(rows)
    if same:
        lines += [""] + same
    lines += ["", "Targets of issue 11:", "", "| target | measured | verdict |", "|---|---|---|"]
    for r in rows:
        budget = r["strokes"]
        counts_ok = all(abs(c - budget) <= 0.1 * budget for c in r["stroke_counts"])
        if r["clip"] == "still":
            m, p = _mean(r["stroke_motion_px"]), _mean(r["consecutive_psnr_temporal"])
            lines.append(f"| still: strokes move < 0.5 px between frames | {m:.3f} px (max {max(r['stroke_motion_px']):.3f}) "
                         f"| {verdict(m < 0.5)} |")
            worst = min(r['consecutive_psnr_temporal'])
            lines.append(f"| still: consecutive paintings agree at >= 40 dB (every pair) | mean {p:.2f} dB, min "
                         f"{worst:.2f} dB | {verdict(worst >= 40)} |")
        else:
            ct, ci = _mean(r["consistency_temporal"]), _mean(r.get("consistency_independent", []))
            ft, fi = _mean(r["fidelity_temporal"]), _mean(r.get("fidelity_independent", []))
            lines.append(f"| {r['clip']}: consistency >= 6 dB above independent | {ct:.2f} vs {ci:.2f} dB "
                         f"(+{ct - ci:.2f}) | {verdict(ct - ci >= 6)} |")
            lines.append(f"| {r['clip']}: fidelity within 0.5 dB of independent | {ft:.2f} vs {fi:.2f} dB "
                         f"({ft - fi:+.2f}) | {verdict(ft >= fi - 0.5)} |")
        if r.get("cost_ratio"):
            c, worst = _mean(r["cost_ratio"]), max(r["cost_ratio"])
            lines.append(f"| {r['clip']}: each frame after the first costs <= 40% of painting it from scratch "
                         f"| max {100 * worst:.0f}% (mean {100 * c:.0f}%) | {verdict(worst <= 0.4)} |")
        lines.append(f"| {r['clip']}: stroke count within 10% of the budget {budget} | "
                     f"{min(r['stroke_counts'])}-{max(r['stroke_counts'])} | {verdict(counts_ok)} |")
    for r in rows:
        if "consistency_temporal_measured_flow" in r:
            lines += ["", f"{r['clip']}: under the measured DIS flow instead of the true motion (how earlier runs "
                      f"measured it), consistency is {_mean(r['consistency_temporal_measured_flow']):.2f} dB temporal, "
                      f"{_mean(r.get('consistency_independent_measured_flow', [])):.2f} dB independent and "
                      f"{_mean(r['consistency_source_measured_flow']):.2f} dB for the source frames themselves."]
    return "\n".join(lines) + "\n"


def replace_section(path: Path, text: str, tag: str) -> None:
    """The section between ``<!-- tag:begin -->`` and ``<!-- tag:end -->`` (bench_paint's writer)."""
    begin, end = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
    bench_paint.write_section(path, f"{begin}\n{text}{end}", begin, end)


# ------------------------------------------------------------------------------------------
# Render farm: the job compiler's commands, run for real
# ------------------------------------------------------------------------------------------

def compile_job(settings: dict) -> list[dict]:
    """The tasks the job type makes of ``settings`` (compiled under Node, not Flamenco)."""
    proc = subprocess.run(["node", str(ROOT / "farm" / "flamenco" / "test" / "compile_job.js"), json.dumps(settings)],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout)


def _argv(command: dict) -> list[str]:
    """The process a Flamenco worker starts for an ``exec`` command."""
    assert command["name"] == "exec", command
    return [command["parameters"]["exe"], *command["parameters"]["args"]]


def run_farm(args, clip_dir: Path, motion, frames: int) -> dict:
    """Compile, run the chunks (one killed and restarted), measure the seams."""
    import torch

    from core.render.reference import render_strokes
    from core.painters.shot import FrameStore
    from core.painters.temporal import canvas_target
    from core.io.video_io import open_source

    out = clip_dir / "farm_out"
    single = clip_dir / "single_out"
    for old in (out, single):
        if old.exists():
            shutil.rmtree(old)  # paint-frames would resume an earlier run's frames
    (clip_dir / "shot.blend").unlink(missing_ok=True)
    settings = {"input": str(clip_dir / "panzoom_%04d.png"), "output_dir": str(out), "frames": f"1-{frames}",
                "chunk_size": args.chunk, "warmup": args.warmup, "style": args.style, "strokes": args.strokes,
                "size": args.size, "python": sys.executable, "engine_dir": str(ROOT),
                "blend_file": str(clip_dir / "shot.blend"), "extra_args": "--quiet"}
    tasks = compile_job(settings)
    by_name = {t["name"]: t for t in tasks}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    log = []

    def run(task: dict, kill_after_frame: int | None = None) -> None:
        for command in task["commands"]:
            argv = _argv(command)
            t0 = time.perf_counter()
            proc = subprocess.Popen(argv, env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
            if kill_after_frame is not None:
                store = FrameStore(out)
                while proc.poll() is None and store.check(kill_after_frame) is not None:
                    time.sleep(0.2)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                log.append(f"{task['name']}: worker killed (SIGKILL) once frame {kill_after_frame} was written")
                return
            output, _ = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"{task['name']} failed ({proc.returncode}): {output[-2000:]}")
            # argv: python -c SHIM ENGINE_DIR MODULE ARGS...; the log shows MODULE ARGS.
            log.append(f"{task['name']}: `{shlex.join(argv[4:])}` {time.perf_counter() - t0:.1f}s")

    run(by_name["key"])
    chunk_names = [t["name"] for t in tasks if t["name"].startswith("paint-")]
    victim = chunk_names[1] if len(chunk_names) > 1 else chunk_names[0]
    victim_first = int(victim.split("-")[1])
    # Two workers: chunks run two at a time, as two farm machines would.
    pending = list(chunk_names)
    while pending:
        batch, pending = pending[:2], pending[2:]
        if victim in batch:
            run(by_name[victim], kill_after_frame=victim_first)  # run again below, as Flamenco requeues it
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(run, [by_name[n] for n in batch]))
    run(by_name["video"])
    # The import task: the add-on, headless in real Blender (bpy), writes the .blend.
    blend = Path(settings["blend_file"])
    blend.unlink(missing_ok=True)
    run(by_name["import"])
    # The same shot on one machine, for comparison.
    cmd = [sys.executable, "-m", "core", "paint-frames", settings["input"], "--out", str(single),
           "--frames", f"1-{frames}", "--style", args.style, "--strokes", str(args.strokes), "--size", str(args.size),
           "--video", "none", "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=str(ROOT), check=True)
    log.append(f"single machine: {time.perf_counter() - t0:.1f}s")

    source = open_source(settings["input"])
    images = [img for _, img in source.frames(1, frames)]
    farm = [FrameStore(out).load(n) for n in range(1, frames + 1)]
    one = [FrameStore(single).load(n) for n in range(1, frames + 1)]
    canvas = [canvas_target(f, farm[0].width, farm[0].height, torch.device("cpu")).numpy() for f in images]
    r_farm = [render_strokes(s) for s in farm]
    r_one = [render_strokes(s) for s in one]
    c_farm = consistency(r_farm, motion, canvas)  # index t-1 holds the pair (t-1, t), frames numbered from 1
    c_one = consistency(r_one, motion, canvas)
    starts = sorted(int(n.split("-")[1]) for n in chunk_names)
    seams = [s for s in starts if s > 1]
    seam_c = [c_farm[s - 2] for s in seams]
    inside_c = [c_farm[t - 2] for t in range(2, frames + 1) if t not in seams]
    return {"settings": settings, "tasks": [t["name"] for t in tasks], "log": log, "seams": seams,
            "seam_consistency": seam_c, "inside_consistency": inside_c,
            "single_consistency_at_seams": [c_one[s - 2] for s in seams],
            "single_consistency_inside": [c_one[t - 2] for t in range(2, frames + 1) if t not in seams],
            "fidelity_farm": [_psnr_masked(r, c) for r, c in zip(r_farm, canvas)],
            "fidelity_single": [_psnr_masked(r, c) for r, c in zip(r_one, canvas)],
            "videos": sorted(p.name for p in out.glob("*.mp4")),
            "blend": {"name": blend.name, "kb": round(blend.stat().st_size / 1024)} if blend.exists() else None}


def farm_report(res: dict, command: str) -> str:
    s = res["settings"]
    title = "Render farm: Flamenco job type, commands run for real"
    if res["settings"]["warmup"] != DEFAULT_WARMUP:
        title = f"Render farm with a warm-up of {res['settings']['warmup']} frames"
    lines = [f"## {title} (`benchmarks/bench_video.py --farm`)", "",
             f"- Date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
             f"- Command: `{command}`", f"- Machine: {_machine()}",
             "- Not a running Flamenco: the job type was compiled under Node 20 with stand-ins for Flamenco's "
             "documented job-compiler API (`farm/flamenco/test/flamenco_standins.js`), and each task's `exec` "
             "commands were started here as a worker would start them; two chunks at a time (two workers).",
             f"- Clip: panzoom, frames {s['frames']}, chunk size {s['chunk_size']}, warm-up {s['warmup']}, "
             f"{s['strokes']} {s['style']} strokes at {s['size']} px.",
             f"- Tasks: {', '.join(res['tasks'])}; videos written: {', '.join(res['videos']) or 'none'}; "
             + (f"the `import` task (the add-on, headless in real Blender) wrote {res['blend']['name']} "
                f"({res['blend']['kb']} KB)." if res.get("blend") else "the `import` task wrote no .blend."),
             "", "Log:", ""]
    lines += [f"- {line}" for line in res["log"]]
    lines += ["", "| pair of frames | farm: consistency dB (mean) | one machine: consistency dB (mean) |",
              "|---|--:|--:|",
              f"| across a seam ({', '.join(f'{t - 1}-{t}' for t in res['seams'])}) | "
              f"{_mean(res['seam_consistency']):.2f} (min {min(res['seam_consistency']):.2f}) | "
              f"{_mean(res['single_consistency_at_seams']):.2f} |",
              f"| inside a chunk | {_mean(res['inside_consistency']):.2f} (min {min(res['inside_consistency']):.2f}) | "
              f"{_mean(res['single_consistency_inside']):.2f} |",
              f"| fidelity to the source (all frames) | {_mean(res['fidelity_farm']):.2f} | "
              f"{_mean(res['fidelity_single']):.2f} |"]
    lines += ["", "Each seam (farm / one machine, dB): " + ", ".join(
        f"{t - 1}-{t} {c:.2f} / {o:.2f}" for t, c, o in zip(res["seams"], res["seam_consistency"],
                                                          res["single_consistency_at_seams"])) + "."]
    lines += ["", "Consistency as in the section above (PSNR of a painting against the previous one moved by the "
              "true motion): the lower it is across a seam than inside a chunk, the more the seam pops."]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", default=",".join(CLIPS))
    ap.add_argument("--frames", type=int, default=None, help="frames per clip (default: still 24, others 16)")
    ap.add_argument("--strokes", type=int, default=500)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--style", default="oil")
    ap.add_argument("--topts", default=None, help="TemporalOptions overrides as JSON")
    ap.add_argument("--skip-independent", action="store_true")
    ap.add_argument("--still-independent", type=int, default=3, help="independent paintings of the still clip (cost)")
    ap.add_argument("--reuse-independent", action="store_true",
                    help="reuse the independent paintings (and their times) kept in --work by an earlier run "
                         "with the same frames and paint options, instead of painting them again")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: CPU time is then the work)")
    ap.add_argument("--farm", action="store_true", help="also run the render-farm commands")
    ap.add_argument("--farm-only", action="store_true")
    ap.add_argument("--farm-frames", type=int, default=16, help="frames of the farm clip (16: two seams lie past the key chunk)")
    ap.add_argument("--chunk", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    ap.add_argument("--farm-section", default="bench_farm",
                    help="the marker of the RESULTS section the farm run replaces (another one for a variant)")
    ap.add_argument("--work", default=None, help="folder for clips and paintings (default: a temporary one)")
    ap.add_argument("--out", default=None, help="RESULTS.md to update")
    ap.add_argument("--figure", default=None,
                    help="PNG of the blender clip's first, middle and last frames above their paintings")
    args = ap.parse_args(argv)
    _torch_threads(args.threads)
    command = "python benchmarks/bench_video.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_video_"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"working in {work}", file=sys.stderr)
    rows = []
    if not args.farm_only:
        for name in args.clips.split(","):
            folder = work / name
            folder.mkdir(exist_ok=True)
            frames = args.frames or (24 if name == "still" else 16)
            motion = MAKERS[name](folder, frames, args.size)
            rows.append(run_clip(name, folder, motion, args))
            if args.figure and name == "blender":
                figure(folder, name, Path(args.figure))
            text = report(rows, command)
            print(text)
        if args.out:
            out = Path(args.out)
            replace_section(out, report(rows, command), "bench_video")
            (out.parent / "results_video.json").write_text(json.dumps(rows, indent=1))
    if args.farm or args.farm_only:
        folder = work / "farm"
        folder.mkdir(exist_ok=True)
        motion = make_panzoom(folder, args.farm_frames, args.size)
        res = run_farm(args, folder, motion, args.farm_frames)
        text = farm_report(res, command)
        print(text)
        if args.out:
            out = Path(args.out)
            replace_section(out, text, args.farm_section)
            (out.parent / f"results_{args.farm_section.removeprefix('bench_')}.json").write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
