"""Painting benchmark: time, memory and quality of `core` over a grid of images and settings.

    python benchmarks/bench_paint.py --quick                       # smoke test (5 small runs)
    python benchmarks/bench_paint.py --out benchmarks/RESULTS.md   # full grid: 77 runs, hours
    python benchmarks/bench_paint.py --images astronaut --styles oil,tape --strokes 100,250 \
        --sizes 256 --out benchmarks/RESULTS.md                    # reduced: 7 runs
    python benchmarks/bench_paint.py --dry-run ...                 # list the runs only

Every painting runs in a fresh child process (this script with ``--single JSON``), so its
peak memory and wall time are its own. Per run it measures

* wall s: image load (``core.io.image_io.load_image``) to the final ``StrokeSet`` (the
  painter's ``Done`` event); imports and the quality measurement are not included;
* peak MB: the child's peak resident set (``ru_maxrss``) at the end of painting,
  which includes the Python interpreter and torch (about 200-300 MB; the JSON has
  ``base_mb``, the peak before the image was loaded);
* PSNR dB and SSIM: the final strokes rendered by the reference renderer
  (``core.render.reference.render_strokes``) at the canvas size, against the input image
  area-averaged to that size (``core.io.image_io.resize_long_side``). SSIM is Wang et al.'s
  (Gaussian 11x11 window, sigma 1.5, K1 0.01, K2 0.03), the mean over the R, G, B
  channels; see ``benchmarks/_metrics.py``;
* strokes/s: strokes / wall s.

Besides the grid (images x styles x strokes x sizes) it runs a few extra rows: the
Sinkhorn OT loss at the paper's weight (``ot_weight=0.1``; the default is off) for two
configurations, and the
``mean`` background instead of the grid's for the tape style. It checks that PSNR grows
with the stroke count in every (image, style, size, OT weight, background) group.

With ``--out FILE`` the results replace the part of FILE between
``<!-- bench_paint:begin -->`` and ``<!-- bench_paint:end -->`` (appended if FILE has
no such section; everything else in FILE is kept), and the raw rows go to
``results_paint.json`` beside FILE (or ``--json``). Without ``--out`` the markdown is
printed. A failed run records its error in its row; Ctrl-C stops after killing the
running child and leaves FILE alone (rows so far are in ``results_paint.partial.json``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import resource
import shlex
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
RESULT_TAG = "BENCH_PAINT_RESULT "
BEGIN = "<!-- bench_paint:begin -->"
END = "<!-- bench_paint:end -->"

DEFAULT_IMAGES = ("astronaut", "coffee", "chelsea")
DEFAULT_STYLES = ("marker", "watercolor", "oil", "tape")
DEFAULT_STROKES = (250, 500, 1000)
DEFAULT_SIZES = (256, 512)
QUICK = dict(images=("astronaut",), styles=("marker", "tape"), strokes=(50,), sizes=(128,))


# ------------------------------------------------------------------------------------------
# Child: one painting
# ------------------------------------------------------------------------------------------

def _maxrss_mb(who: int = resource.RUSAGE_SELF) -> float:
    kb = resource.getrusage(who).ru_maxrss  # kilobytes on Linux, bytes on macOS
    return kb / (1024.0 * 1024.0) if sys.platform == "darwin" else kb / 1024.0


def _reference_render(strokes):
    """Final strokes rendered at the canvas size, float32 H x W x 3."""
    try:
        from core.render.reference import render_strokes
    except ImportError:  # older core: fall back to the differentiable renderer
        import torch

        from core.render import raster
        with torch.no_grad():
            out = raster.render(strokes.style, torch.from_numpy(strokes.params), strokes.width,
                                strokes.height, background=tuple(strokes.background))
        return out.cpu().numpy().astype("float32"), "core.render.raster.render"
    return render_strokes(strokes), "core.render.reference.render_strokes"


def _target_like(image, shape):
    """The input area-averaged to ``shape`` (H, W): resize_long_side, or the same
    area-average resize to the exact shape where the two round the short side differently."""
    from core.io import image_io

    long_side = max(shape[:2])
    target = image if max(image.shape[:2]) == long_side else image_io.resize_long_side(image, long_side)
    if target.shape[:2] == tuple(shape[:2]):
        return target, "resize_long_side"
    # The painter rounds the short side with round() (half to even), resize_long_side
    # half up: e.g. 341 px at half size is 170 vs 171. Use the same area average at the
    # painter's size.
    resize_to = getattr(image_io, "_resize_to", None)
    if resize_to is None:
        raise RuntimeError(f"input resized to {target.shape[:2]} but the render is {shape[:2]}")
    return resize_to(image, int(shape[0]), int(shape[1])), "area resize to the render's exact size"


def run_single(cfg: dict) -> dict:
    """Paint once as described by ``cfg``; returns the row (with ``error`` set on failure)."""
    row = dict(cfg)
    row["error"] = None
    try:
        import numpy as np
        import torch

        sys.path.insert(0, str(ROOT))
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import _metrics
        from core.painters.events import Done
        from core.io.image_io import load_image
        from core.contracts.options import Tuning
        from core.painters.painter import PaintOptions, paint

        if cfg.get("threads"):
            torch.set_num_threads(int(cfg["threads"]))
        row["torch_threads"] = torch.get_num_threads()
        row["torch"] = torch.__version__
        row["base_mb"] = round(_maxrss_mb(), 1)

        options = PaintOptions(style=cfg["style"], strokes=int(cfg["strokes"]), size=int(cfg["size"]),
                               seed=int(cfg.get("seed", 0)), device=cfg.get("device", "auto"),
                               background=cfg["background"], ot_weight=cfg.get("ot_weight"),
                               renderer=cfg.get("renderer", "analytic"),
                               tuning=Tuning(**tuning_fields(cfg.get("extra"))),
                               **dict(cfg.get("paint_options") or {}))
        t0 = time.perf_counter()
        image = load_image(cfg["path"])
        t_loaded = time.perf_counter()
        strokes = None
        levels = 0
        level_s = []
        t_level = time.perf_counter()
        for event in paint(image, options):
            if isinstance(event, Done):
                strokes = event.strokes
                row["paint_s"] = round(event.seconds, 3)
            elif type(event).__name__ == "LevelDone":
                levels += 1
                level_s.append(round(time.perf_counter() - t_level, 3))
                t_level = time.perf_counter()
        row["level_s"] = level_s
        wall = time.perf_counter() - t0
        row["peak_mb"] = round(_maxrss_mb(), 1)
        if strokes is None:
            raise RuntimeError("the painter finished without a Done event")
        row["wall_s"] = round(wall, 3)
        row["load_s"] = round(t_loaded - t0, 3)
        row["levels"] = levels
        row["n_strokes"] = len(strokes)
        row["renderer_used"] = strokes.meta.get("renderer")
        row["strokes_per_s"] = round(len(strokes) / wall, 2) if wall > 0 else None
        row["ot_weight_used"] = strokes.meta.get("ot_weight")
        row["background_rgb"] = [round(c, 4) for c in strokes.background]
        from core.painters.devices import pick_device
        row["device_used"] = str(pick_device(cfg.get("device", "auto")))

        t1 = time.perf_counter()
        render, renderer = _reference_render(strokes)
        row["render_s"] = round(time.perf_counter() - t1, 3)
        row["measured_with"] = renderer
        row["canvas"] = [int(render.shape[1]), int(render.shape[0])]
        target, how = _target_like(image, render.shape)
        row["target_resize"] = how
        row["psnr"] = round(_metrics.psnr(render, target), 4)
        if cfg.get("style_probe"):
            # How far the result is from a style image's style (bench_style.py): the same
            # loss the painter minimises, on the final render.
            from core.painters.style_transfer import make_style_loss
            probe = cfg["style_probe"]
            loss = make_style_loss(load_image(probe["image"], max_side=1024), probe.get("features", "offline"))
            with torch.no_grad():
                row["style_loss"] = round(float(loss(torch.from_numpy(np.ascontiguousarray(render)))), 5)
        row["ssim"] = round(_metrics.ssim(render, target), 5)
        row["peak_total_mb"] = round(_maxrss_mb(), 1)
        if cfg.get("renders"):
            from core.io.image_io import save_png
            folder = Path(cfg["renders"])
            folder.mkdir(parents=True, exist_ok=True)
            save_png(np.clip(render, 0, 1), folder / (run_name(cfg) + ".png"))
    except Exception as exc:  # noqa: BLE001 - a benchmark row records any failure
        traceback.print_exc()
        row["error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return row


def child_main(arg: str) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        row = run_single(json.loads(arg))
    except KeyboardInterrupt:
        return 130
    sys.stdout.write(RESULT_TAG + json.dumps(row) + "\n")
    sys.stdout.flush()
    return 0 if row.get("error") is None else 1


# ------------------------------------------------------------------------------------------
# Parent: the grid
# ------------------------------------------------------------------------------------------

def run_name(cfg: dict) -> str:
    ot = "def" if cfg.get("ot_weight") is None else f"{cfg['ot_weight']:g}"
    bg = str(cfg["background"]).replace("#", "").replace(",", "-")
    extra = "".join(f"_{k}-{v}" for k, v in sorted((cfg.get("extra") or {}).items()))
    tags = "".join(f"_{cfg[k]}" for k in ("renderer", "style_image", "features", "mode") if cfg.get(k))
    return f"{cfg['image']}_{cfg['style']}_{cfg['strokes']}_{cfg['size']}_ot{ot}_{bg}{extra}{tags}"


def _csv(kind):
    def parse(text: str):
        try:
            values = tuple(kind(v.strip()) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a comma-separated list of {kind.__name__}: {text!r}")
        if not values:
            raise argparse.ArgumentTypeError("empty list")
        return values
    return parse


def _extra_value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


#: Older rows name the greedy round's size "round"; the Tuning record calls it round_size.
_TUNING_NAMES = {"round": "round_size"}


def tuning_fields(extra: dict | None) -> dict:
    """A row's ``extra`` settings as fields of ``core.contracts.options.Tuning``."""
    return {_TUNING_NAMES.get(k, k): v for k, v in (extra or {}).items()}


def _parse_extra(items: list[str]) -> dict:
    extra = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--extra {item!r}: use key=value, e.g. --extra candidates=12")
        extra[key.strip()] = _extra_value(value.strip())
    return extra


def _image_path(name: str) -> Path:
    p = Path(name)
    if p.suffix and p.is_file():
        return p.resolve()
    for ext in (".png", ".jpg", ".jpeg", ".webp", ".tif"):
        cand = SAMPLES / f"{name}{ext}"
        if cand.is_file():
            return cand
    raise SystemExit(f"image {name!r} not found in {SAMPLES} (give a sample name or a file path)")


def build_plan(args) -> list[dict]:
    base = dict(background=args.background, extra=args.extra, threads=args.threads,
                seed=args.seed, device=args.device, renders=args.renders)
    plan = []

    def add(kind, image, style, strokes, size, ot_weight=None, background=None):
        cfg = dict(base, kind=kind, image=Path(image).stem if Path(image).suffix else image,
                   path=str(_image_path(image)), style=style, strokes=strokes, size=size,
                   ot_weight=ot_weight)
        if background is not None:
            cfg["background"] = background
        plan.append(cfg)

    for image in args.images:
        for style in args.styles:
            for size in args.sizes:
                for strokes in args.strokes:
                    add("grid", image, style, strokes, size)
    if args.no_extras:
        return plan
    mid = sorted(args.strokes)[len(args.strokes) // 2]
    small = min(args.sizes)
    # The Sinkhorn OT loss at the paper's weight (0.1), against the grid's default
    # weight (0 since the benchmark showed no gain), for two (image, style) pairs.
    pairs = [(args.images[0], args.styles[0])]
    if len(args.images) > 1 or len(args.styles) > 1:
        pairs.append((args.images[1 % len(args.images)], args.styles[1 % len(args.styles)]))
    for image, style in pairs:
        add("ot-on", image, style, mid, small, ot_weight=0.1)
    # Tape on the image's mean colour instead of the grid's background (or white if that is mean).
    if "tape" in args.styles:
        other = "white" if str(args.background).lower() == "mean" else "mean"
        for image in args.images:
            add("background", image, "tape", mid, small, background=other)
    return plan


def run_child(cfg: dict, timeout: float | None) -> dict:
    child_cfg = {k: v for k, v in cfg.items()}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--single", json.dumps(child_cfg)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(ROOT))
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return dict(cfg, error=f"timed out after {timeout:g} s", child_s=round(time.perf_counter() - t0, 1))
    except BaseException:  # Ctrl-C (or anything else): never leave the child running
        _stop(proc)
        raise
    row = None
    for line in out.splitlines():
        if line.startswith(RESULT_TAG):
            row = json.loads(line[len(RESULT_TAG):])
    if row is None:
        tail = [ln for ln in err.strip().splitlines() if ln.strip()][-3:]
        how = f"exit code {proc.returncode}"
        if proc.returncode < 0:
            try:
                how = f"killed by {signal.Signals(-proc.returncode).name}"
            except ValueError:
                pass
            if proc.returncode == -signal.SIGKILL:
                how += " (out of memory?)"
        row = dict(cfg, error=f"child failed ({how}): " + " | ".join(tail))
    row["child_s"] = round(time.perf_counter() - t0, 1)
    return row


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _fmt(v, spec: str, none: str = "–") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return none
    return format(v, spec)


def describe(row: dict) -> str:
    ot = "default" if row.get("ot_weight") is None else f"{row['ot_weight']:g}"
    head = (f"{row['image']} {row['style']} {row['strokes']} strokes {row['size']} px "
            f"(ot {ot}, bg {row['background']})")
    if row.get("error"):
        return f"{head}: FAILED: {row['error']}"
    return (f"{head}: wall {row['wall_s']:.1f} s, peak {row['peak_mb']:.0f} MB, "
            f"PSNR {row['psnr']:.2f} dB, SSIM {row['ssim']:.4f}, {row['strokes_per_s']:.1f} strokes/s")


def group_key(row: dict) -> tuple:
    return (row["image"], row["style"], row["size"], row.get("ot_weight"), str(row["background"]),
            json.dumps(row.get("extra") or {}, sort_keys=True))


def monotonic_check(rows: list[dict]) -> tuple[dict, list[str]]:
    """PSNR strictly increasing with the stroke count in each group: key -> 'yes'/'NO'/None."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(group_key(row), []).append(row)
    verdict, lines = {}, []
    for key, members in groups.items():
        ok = sorted((r for r in members if r.get("error") is None and r.get("psnr") is not None),
                    key=lambda r: r["strokes"])
        image, style, size, ot, bg, _ = key
        label = f"{image}/{style}/{size}px (ot {'default' if ot is None else f'{ot:g}'}, bg {bg})"
        if len({r["strokes"] for r in ok}) < 2:
            verdict[key] = None
            continue
        psnrs = [r["psnr"] for r in ok]
        good = all(b > a for a, b in zip(psnrs, psnrs[1:]))
        verdict[key] = "yes" if good else "NO"
        chain = " -> ".join(f"{r['strokes']}: {r['psnr']:.2f}" for r in ok)
        lines.append(f"monotonic {label}: {'yes' if good else 'NO'} ({chain} dB)")
    return verdict, lines


def machine_info(rows: list[dict]) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        from importlib.metadata import version
        torch_version = version("torch")
    except Exception:  # noqa: BLE001
        torch_version = next((r["torch"] for r in rows if r.get("torch")), "?")
    threads = sorted({r["torch_threads"] for r in rows if r.get("torch_threads")})
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "usable_cpus": usable, "ram_gb": ram,
            "os": platform.platform(), "python": platform.python_version(), "torch": torch_version,
            "torch_threads": threads,
            "devices": sorted({r["device_used"] for r in rows if r.get("device_used")})}


def markdown(rows: list[dict], info: dict, command: str, date: str, total: int) -> str:
    verdict, mono_lines = monotonic_check(rows)
    threads = ", ".join(map(str, info["torch_threads"])) or "?"
    extras = "; ".join(sorted({" ".join(f"{k}={v}" for k, v in sorted((r.get("extra") or {}).items()))
                               or "none" for r in rows})) or "none"
    out = [BEGIN, "## Painting benchmark (`benchmarks/bench_paint.py`)", "",
           f"- Date: {date}",
           f"- Command: `{command}`",
           f"- Machine: {info['cpu']}; {info['logical_cpus']} logical CPUs ({info['usable_cpus']} usable); "
           f"{info['ram_gb']} GB RAM; {info['os']}",
           f"- Software: Python {info['python']}, torch {info['torch']} "
           f"({threads} torch threads), device {', '.join(info['devices']) or '?'}",
           f"- PaintOptions.tuning: {extras}",
           "- One painting per fresh process. Wall = image load to final strokes. Peak = the "
           "process's max RSS at the end of painting (interpreter and torch included). "
           "PSNR / SSIM: reference render of the final strokes at the canvas size against the input "
           "area-averaged to that size; SSIM = Gaussian 11x11, sigma 1.5, K1 0.01, K2 0.03, "
           "mean over the R, G, B channels. OT weight: the Sinkhorn loss weight used. "
           "Mono: PSNR strictly increasing with the stroke count within the row's "
           "(image, style, size, OT weight, background) group (– = only one stroke count).",
           ""]
    if len(rows) < total:
        out += [f"**Incomplete: {len(rows)} of {total} runs.**", ""]
    out += ["| image | style | strokes | size (W×H) | OT weight | background | wall s | peak MB "
            "| PSNR dB | SSIM (RGB mean) | strokes/s | mono |",
            "|---|---|--:|---|--:|---|--:|--:|--:|--:|--:|:-:|"]
    failures = []
    for row in rows:
        ot = row.get("ot_weight_used", row.get("ot_weight"))
        ot_txt = _fmt(ot, "g", "default")
        size = str(row["size"])
        if row.get("canvas"):
            size += f" ({row['canvas'][0]}×{row['canvas'][1]})"
        bg = str(row["background"])
        if row.get("error"):
            failures.append(f"- {run_name(row)}: {row['error']}")
            cells = [row["image"], row["style"], str(row["strokes"]), size, ot_txt, bg,
                     "failed", "–", "–", "–", "–", "–"]
        else:
            cells = [row["image"], row["style"], str(row["strokes"]), size, ot_txt, bg,
                     _fmt(row["wall_s"], ".1f"), _fmt(row["peak_mb"], ".0f"), _fmt(row["psnr"], ".2f"),
                     _fmt(row["ssim"], ".4f"), _fmt(row["strokes_per_s"], ".1f"),
                     verdict.get(group_key(row)) or "–"]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    if mono_lines:
        bad = [ln for ln in mono_lines if ": NO " in ln]
        out.append(f"PSNR monotonic in the stroke count: {len(mono_lines) - len(bad)} of "
                   f"{len(mono_lines)} groups." + (" Not monotonic:" if bad else ""))
        out += [f"- {ln[len('monotonic '):]}" for ln in bad]
        out.append("")
    if failures:
        out += ["Failed runs:", *failures, ""]
    out.append(END)
    return "\n".join(out)


def table_lines(rows: list[dict], keys, values, width: int, label) -> list[str]:
    """Markdown table rows: ``keys(row)`` cells, then ``values(row)`` (``width`` cells, or
    "failed" and dashes), then the failed runs' errors under the table."""
    lines = []
    for r in rows:
        cells = keys(r) + (["failed"] + ["–"] * (width - 1) if r.get("error") else values(r))
        lines.append("| " + " | ".join(cells) + " |")
    errors = [f"- {label(r)}: {r['error']}" for r in rows if r.get("error")]
    if errors:
        lines += ["", "Failed runs:", *errors]
    return lines


def run_section(plan: list[dict], label, summary, markdown_fn, script: str, argv, out: Path | None,
                json_path: Path | None, begin: str, end: str) -> list[dict]:
    """Run every row of ``plan`` in a child, print a line per row, then write the markdown
    section between ``begin`` and ``end`` of ``out`` (or print it) and the rows as JSON."""
    rows = []
    for cfg in plan:
        row = run_child(cfg, timeout=3600)
        rows.append(row)
        print(f"{label(cfg)}: " + (row["error"] if row.get("error") else summary(row)), flush=True)
    command = f"python benchmarks/{script} " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    text = markdown_fn(rows, command)
    if out:
        write_section(out, text, begin, end)
        if json_path:
            json_path.write_text(json.dumps(rows, indent=1))
    else:
        print(text)
    return rows


def publish(text: str, out: str | None, begin: str, end: str, rows: list[dict], json_name: str) -> None:
    """A benchmark's last step: its section into ``out`` (raw rows beside it as
    ``json_name``), or the section on stdout when there is no ``out``."""
    if not out:
        print(text)
        return
    write_section(Path(out), text.rstrip("\n"), begin, end)
    Path(out).with_name(json_name).write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {out} and {Path(out).with_name(json_name)}")


def write_section(path: Path, section: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace the marked section of ``path`` (or append it), keeping the rest of the file."""
    BEGIN, END = begin, end  # noqa: N806 - the other benchmarks have sections of their own
    text = path.read_text() if path.exists() else ""
    b, e = text.find(BEGIN), text.find(END)
    if b >= 0 and e > b:
        new = text[:b] + section + text[e + len(END):]
    elif b >= 0 or e >= 0:
        raise SystemExit(f"{path} has only one of the markers {BEGIN} / {END} (or they are out "
                         "of order); fix the file by hand, nothing was written")
    else:
        new = text + ("\n" if text and not text.endswith("\n") else "") + ("\n" if text else "") + section + "\n"
    _write_atomic(path, new)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--single", help=argparse.SUPPRESS)
    ap.add_argument("--images", type=_csv(str), default=DEFAULT_IMAGES,
                    help="sample names (in samples/) or image paths, comma-separated")
    ap.add_argument("--styles", type=_csv(str), default=DEFAULT_STYLES)
    ap.add_argument("--strokes", type=_csv(int), default=DEFAULT_STROKES)
    ap.add_argument("--sizes", type=_csv(int), default=DEFAULT_SIZES, help="canvas long sides, px")
    ap.add_argument("--extra", action="append", default=[], metavar="KEY=VALUE",
                    help="a field of PaintOptions.tuning (repeatable), e.g. --extra candidates=12")
    ap.add_argument("--background", default="white", help="grid background (white, black, mean, ...)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads in each child")
    ap.add_argument("--device", default="auto", help="PaintOptions.device (auto, cpu, cuda, mps)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true",
                    help="tiny grid for smoke tests: astronaut, marker + tape, 50 strokes, 128 px")
    ap.add_argument("--no-extras", action="store_true", help="skip the OT-off and background rows")
    ap.add_argument("--out", type=Path, default=None,
                    help="markdown file whose bench_paint section is written (e.g. benchmarks/RESULTS.md)")
    ap.add_argument("--json", type=Path, default=None,
                    help="raw rows (default: results_paint.json beside --out)")
    ap.add_argument("--renders", type=Path, default=None, help="save each final render as a PNG here")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per run (0: none)")
    ap.add_argument("--dry-run", action="store_true", help="list the runs and exit")
    args = ap.parse_args(argv)

    if args.single is not None:
        return child_main(args.single)

    command = "python " + shlex.join(sys.argv if argv is None else [sys.argv[0], *argv])
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    args.extra = _parse_extra(args.extra)
    if args.renders is not None:
        args.renders = str(args.renders.resolve())
    bad = [s for s in args.strokes if s < 1] + [s for s in args.sizes if s < 16]
    if bad:
        raise SystemExit(f"bad --strokes/--sizes value(s): {bad}")
    json_path = args.json or (args.out.parent / "results_paint.json" if args.out else None)
    partial_path = json_path.with_name(json_path.stem + ".partial.json") if json_path else None

    sys.path.insert(0, str(ROOT))
    from core.model.geometry import STYLES  # imports torch, but catches a typo before hours of runs

    unknown = [s for s in args.styles if s not in STYLES]
    if unknown:
        raise SystemExit(f"unknown style(s) {', '.join(unknown)}: use {', '.join(STYLES)}")
    plan = build_plan(args)
    print(f"{len(plan)} runs ({sum(c['kind'] == 'grid' for c in plan)} grid + "
          f"{sum(c['kind'] != 'grid' for c in plan)} extra), one child process each", flush=True)
    if args.dry_run:
        for i, cfg in enumerate(plan, 1):
            print(f"[{i}/{len(plan)}] {cfg['kind']:10s} {run_name(cfg)}")
        return 0

    rows: list[dict] = []
    date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    timeout = args.timeout if args.timeout and args.timeout > 0 else None
    try:
        for i, cfg in enumerate(plan, 1):
            print(f"[{i}/{len(plan)}] {cfg['kind']:10s} {run_name(cfg)} ...", end=" ", flush=True)
            row = run_child(cfg, timeout)
            rows.append(row)
            print(describe(row).split(": ", 1)[1], flush=True)
            if partial_path:
                _write_atomic(partial_path, json.dumps({"partial": True, "command": command, "rows": rows},
                                                       indent=1))
    except KeyboardInterrupt:
        print(f"\ninterrupted: {len(rows)} of {len(plan)} runs done"
              + (f"; rows so far in {partial_path}" if partial_path and rows else "")
              + ("; " + str(args.out) + " left unchanged" if args.out else ""), flush=True)
        return 130

    info = machine_info(rows)
    _, mono_lines = monotonic_check(rows)
    for line in mono_lines:
        print(line)
    failed = [r for r in rows if r.get("error")]
    section = markdown(rows, info, command, date, len(plan))
    if args.out:
        write_section(args.out, section)
        print(f"wrote the bench_paint section of {args.out}")
    else:
        print(section)
    if json_path:
        _write_atomic(json_path, json.dumps({"date": date, "command": command, "machine": info,
                                             "rows": rows}, indent=1))
        print(f"wrote {json_path}")
        if partial_path and partial_path.exists():
            partial_path.unlink()
    if failed:
        print(f"{len(failed)} of {len(rows)} runs failed")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
