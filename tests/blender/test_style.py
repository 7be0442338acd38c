"""Style transfer from Blender: the Style settings reach the engine, Restyle recolours a
painting in place, and every way it can go wrong (missing or broken style image, VGG-16
weights that would need a download Blender may not make, broken weights) is one clear
line with the scene left exactly as it was. TORCH_HOME points into tmp_path throughout,
so no real cache is read or written, and nothing is ever downloaded."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from conftest import bpy, counts, orphans, paint

PALETTE = np.array([[0.9, 0.1, 0.1], [0.1, 0.1, 0.9]], np.float32)  # the style's red and blue
FAST = '{"options": {"iterations": 15}}'


@pytest.fixture(autouse=True)
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def stripes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Red and blue vertical stripes: a style with a two-colour palette."""
    from PIL import Image

    x = np.arange(48)
    img = np.where(((x // 6) % 2 == 0)[None, :, None], PALETTE[0], PALETTE[1]) * np.ones((48, 1, 1))
    path = tmp_path_factory.mktemp("style") / "stripes.png"
    Image.fromarray((img * 255).round().astype(np.uint8)).save(path)
    return path


def set_style(scene: Any, path: Path | str, mode: str = "full", weight: float = 1.0,
              features: str = "offline") -> None:
    s = scene.neural_painter
    s.style_source = "FILE"
    s.style_image_path = str(path)
    s.style_mode, s.style_weight, s.style_features = mode, weight, features


def read_strokes(obj: Any) -> dict[str, np.ndarray]:
    """Every level layer's latest drawing, concatenated in painting order."""
    from blender_neural_painter import gpencil

    parts: dict[str, list[np.ndarray]] = {"position": [], "radius": [], "vertex_color": [], "opacity": [],
                                          "order": [], "sizes": []}
    for layer, numbers, n in gpencil.level_frames(obj):
        drawing = layer.get_frame_at(numbers[-1]).drawing
        for name, key, width in (("position", "vector", 3), ("radius", "value", 1),
                                 ("vertex_color", "color", 4), ("opacity", "value", 1)):
            a = drawing.attributes[name]
            buf = np.zeros(len(a.data) * width, np.float32)
            a.data.foreach_get(key, buf)
            parts[name].append(buf.reshape(-1, width))
        order = np.zeros(n, np.int32)
        drawing.attributes[gpencil.ORDER_ATTR].data.foreach_get("value", order)
        parts["order"].append(order)
        offsets = np.zeros(n + 1, np.int32)
        drawing.curve_offsets.foreach_get("value", offsets)
        parts["sizes"].append(np.diff(offsets))
    return {k: np.concatenate(v) for k, v in parts.items()}


def palette_distance(obj: Any) -> float:
    """Mean distance of the strokes' (sRGB) colours to the nearer style colour."""
    from blender_neural_painter import gpencil

    rgb = gpencil.linear_to_srgb(read_strokes(obj)["vertex_color"][:, :3])
    return float(np.linalg.norm(rgb[:, None, :] - PALETTE[None], axis=-1).min(1).mean())


def assert_same_strokes(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_paint_with_style_moves_colours_towards_the_palette(scene: Any, image_path: Path, stripes: Path) -> None:
    from blender_neural_painter import gpencil

    settings = dict(style="marker", strokes=16, levels=1, size=40, seed=3)
    result, job = paint(scene, image_path, test_options=FAST, **settings)
    assert result == {"FINISHED"}, job.error
    assert job.worker.request.options.style_image is None  # empty style image: no style
    plain = bpy.context.view_layer.objects.active
    set_style(scene, stripes, mode="full", weight=10.0)
    result, job = paint(scene, image_path, test_options=FAST, **settings)
    assert result == {"FINISHED"}, job.error
    opts = job.worker.request.options
    assert opts.style_image == str(stripes) and opts.style_mode == "full"
    assert opts.style_features == "offline" and opts.style_weight == 10.0 and opts.allow_download is False
    styled = bpy.context.view_layer.objects.active
    assert styled != plain and gpencil.stroke_count(styled) == 16
    assert job.received[-1]["meta"]["style_image"] == str(stripes)
    d_plain, d_styled = palette_distance(plain), palette_distance(styled)
    assert d_styled < 0.85 * d_plain, (d_plain, d_styled)  # measured: 0.48 -> 0.35


def test_restyle_colour_mode_keeps_shapes_and_changes_colours(scene: Any, image_path: Path,
                                                             stripes: Path) -> None:
    from blender_neural_painter import gpencil

    result, job = paint(scene, image_path, engine="random", style="marker", strokes=12, levels=2, size=40)
    assert result == {"FINISHED"}, job.error
    obj = bpy.context.view_layer.objects.active
    obj.data.layers["Level 2"].frames[0].drawing.remove_strokes(indices=[0])  # an artist's edit survives
    # The style from an image in the blend file (handed to the engine as a PNG).
    img = bpy.data.images.load(str(stripes))
    img.use_fake_user = True
    before, n_before = read_strokes(obj), counts()
    layers = [l.name for l in obj.data.layers]
    assert not bpy.ops.neural_painter.restyle.poll()  # no style image yet
    set_style(scene, "", mode="color", weight=5.0)
    scene.neural_painter.style_source = "IMAGE"
    assert not bpy.ops.neural_painter.restyle.poll()
    scene.neural_painter.style_image = img
    assert bpy.ops.neural_painter.restyle.poll()
    try:
        res = bpy.ops.neural_painter.restyle(test_options=FAST)
    except RuntimeError as exc:
        raise AssertionError(exc) from exc
    assert res == {"FINISHED"}
    from blender_neural_painter import jobs, readback

    job = jobs.last_job()
    assert job.worker.request.engine == "stylize" and job.status == "Restyled 11 strokes"
    assert Path(job.worker.request.options.style_image).name == "style.png"
    assert not Path(job.worker.request.options.style_image).exists()  # the temporary folder is gone
    assert bpy.context.view_layer.objects.active == obj  # the same object, changed in place
    assert counts() == n_before and not orphans()
    assert [l.name for l in obj.data.layers] == layers and gpencil.stroke_count(obj) == 11
    after = read_strokes(obj)
    np.testing.assert_array_equal(after["sizes"], before["sizes"])
    np.testing.assert_array_equal(after["order"], before["order"])
    np.testing.assert_allclose(after["position"], before["position"], atol=1e-5)
    np.testing.assert_allclose(after["radius"], before["radius"], rtol=1e-4, atol=1e-6)
    moved = np.abs(after["vertex_color"][:, :3] - before["vertex_color"][:, :3]).max()
    assert moved > 0.05
    assert palette_distance(obj) < np.mean(
        np.linalg.norm(gpencil.linear_to_srgb(before["vertex_color"][:, :3])[:, None] - PALETTE[None], axis=-1)
        .min(1))
    # The replay still reveals every stroke; the stored parameters moved with the colours.
    assert {m.name for m in obj.modifiers} == {"NP Replay"}
    assert gpencil.replay_keyframes(obj)[-1][1] == 12 + 1  # as painted (12 strokes; one deleted since)
    _, drawn = readback.drawn_strokes(obj)
    assert all(d["params"] is not None for d in drawn)


def test_write_png_round_trip(tmp_path: Path) -> None:
    from PIL import Image

    from blender_neural_painter.sources import write_png

    rng = np.random.default_rng(0)
    for channels, mode in ((3, "RGB"), (4, "RGBA")):
        pixels = rng.random((7, 5, channels)).astype(np.float32)
        with Image.open(write_png(str(tmp_path / f"p{channels}.png"), pixels)) as im:
            assert im.mode == mode and im.size == (5, 7)
            np.testing.assert_array_equal(np.asarray(im), np.round(pixels * 255).astype(np.uint8))


def test_missing_style_image_is_refused_and_changes_nothing(scene: Any, image_path: Path, tmp_path: Path) -> None:
    from blender_neural_painter import consent, driver, jobs, operators

    result, _ = paint(scene, image_path, engine="random", style="marker", strokes=8, levels=1, size=32)
    assert result == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    strokes, before, last = read_strokes(obj), counts(), jobs.last_job()
    missing = tmp_path / "no_such_style.png"
    set_style(scene, missing)
    for op in (bpy.ops.neural_painter.paint, bpy.ops.neural_painter.restyle):
        with pytest.raises(RuntimeError, match="style image .*no_such_style.png does not exist") as info:
            op()
        assert "\n" not in str(info.value).strip()
        assert jobs.active_job() is None and jobs.last_job() is last  # no job was started
    assert counts() == before and not orphans()
    assert_same_strokes(read_strokes(obj), strokes)


def test_unreadable_style_image_fails_in_the_engine_and_changes_nothing(scene: Any, image_path: Path,
                                                                       tmp_path: Path) -> None:
    result, _ = paint(scene, image_path, engine="random", style="tape", strokes=8, levels=1, size=32)
    assert result == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    strokes, before = read_strokes(obj), counts()
    bad = tmp_path / "broken_style.png"
    bad.write_bytes(os.urandom(64))
    set_style(scene, bad, mode="color")
    result, job = paint(scene, image_path, style="tape", strokes=8, levels=1, size=32)
    assert result == {"CANCELLED"}
    assert job.error and "\n" not in job.error and "style image" in job.error and "broken_style.png" in job.error
    assert counts() == before and not orphans()
    bpy.context.view_layer.objects.active = obj
    from blender_neural_painter import consent, driver, jobs, operators

    with pytest.raises(RuntimeError, match="broken_style.png"):
        bpy.ops.neural_painter.restyle()
    job = jobs.last_job()
    assert job.error and "\n" not in job.error and job.obj is None
    assert counts() == before and not orphans()
    assert_same_strokes(read_strokes(obj), strokes)


def test_cancelled_restyle_changes_nothing(scene: Any, image_path: Path, stripes: Path) -> None:
    from blender_neural_painter import consent, driver, jobs, operators
    from blender_neural_painter.runner import RestyleJob

    result, _ = paint(scene, image_path, engine="random", style="oil", strokes=8, levels=1, size=32)
    assert result == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    strokes, before = read_strokes(obj), counts()
    set_style(scene, stripes, mode="full")
    from blender_neural_painter.request import Overrides

    op = SimpleNamespace(test_options="", engine="painter")
    job = operators.NEURAL_PAINTER_OT_restyle.make_job(op, bpy.context, str(Path(image_path).parent),
                                                       Overrides(engine="stylize", options={"iterations": 2000}))
    assert isinstance(job, RestyleJob)
    job.start()
    while job.fraction == 0.0:  # let it get going, then stop it mid-run
        assert not job.pump(timeout=0.5), job.error
    job.cancel()
    while not job.pump(timeout=0.5):
        pass
    assert job.cancelled and job.error is None and job.obj is None
    assert job.status == RestyleJob.NOTHING_DONE
    assert counts() == before and not orphans()
    assert_same_strokes(read_strokes(obj), strokes)


def test_vgg16_cache_path_matches_torch(torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blender_neural_painter import consent, driver, jobs, operators
    from core.painters import features

    assert consent.vgg16_cache_path() == features.vgg16_cache_path() == \
        torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth"
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(torch_home / "xdg"))
    assert consent.vgg16_cache_path() == features.vgg16_cache_path()


def test_vgg16_download_refused_when_blender_is_offline(scene: Any, image_path: Path, stripes: Path,
                                                        torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blender_neural_painter import consent, driver, jobs, operators

    result, _ = paint(scene, image_path, engine="random", style="marker", strokes=8, levels=1, size=32)
    assert result == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    strokes, before, last = read_strokes(obj), counts(), jobs.last_job()
    monkeypatch.setattr(consent, "online_access", lambda: False)
    set_style(scene, stripes, features="vgg16")
    for op in (bpy.ops.neural_painter.paint, bpy.ops.neural_painter.restyle):
        with pytest.raises(RuntimeError, match="Allow Online Access is off") as info:
            op()
        assert str(info.value).strip().startswith("Error: VGG-16 weights need a one-time download")
        assert "\n" not in str(info.value).strip()
        assert jobs.active_job() is None and jobs.last_job() is last  # no worker started
    # From the panel (invoke): refused the same way, without asking.
    op, ctx = fake_invoke(confirm=True)
    assert driver.JobOperator.invoke(op, ctx, None) == {"CANCELLED"}
    assert op.reports == [({"ERROR"}, consent.OFFLINE_VGG16)] and ctx.window_manager.asked == []
    assert not torch_home.exists()  # nothing downloaded, not even a directory made
    assert counts() == before and not orphans()
    assert_same_strokes(read_strokes(obj), strokes)


def fake_invoke(confirm: bool) -> tuple[Any, Any]:
    """The Paint operator's invoke on a plain object: bpy.ops in the bpy module (background)
    always calls execute, so the confirmation is reached this way. The window manager's
    invoke_confirm records what it was asked and answers as the user would."""
    from blender_neural_painter import driver, operators

    class Op(driver.JobOperator):
        make_job = operators.NEURAL_PAINTER_OT_paint.make_job

        def __init__(self) -> None:
            self.engine, self.test_options, self.allow_download, self.run_modal = "random", "", False, False
            self.reports: list[tuple[set[str], str]] = []

        def report(self, kind: set[str], message: str) -> None:
            self.reports.append((kind, message))

    class WM:
        asked: list[dict[str, Any]] = []

        def invoke_confirm(self, op: Any, event: Any, **kw: Any) -> set[str]:
            self.asked.append(kw)
            return op.execute(ctx) if confirm else {"CANCELLED"}

    WM.asked = []
    ctx = SimpleNamespace(scene=bpy.context.scene, view_layer=bpy.context.view_layer, window=None,
                          collection=bpy.context.collection, window_manager=WM())
    return Op(), ctx


def test_invoke_asks_before_downloading(scene: Any, image_path: Path, stripes: Path, torch_home: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from blender_neural_painter import consent, driver, jobs, operators

    monkeypatch.setattr(consent, "online_access", lambda: True)
    s = scene.neural_painter
    s.source, s.image_path, s.style, s.strokes, s.levels, s.size = "FILE", str(image_path), "marker", 4, 1, 32
    set_style(scene, stripes, features="vgg16")
    before, last = counts(), jobs.last_job()
    op, ctx = fake_invoke(confirm=False)  # the user says no
    assert driver.JobOperator.invoke(op, ctx, None) == {"CANCELLED"}
    (asked,) = ctx.window_manager.asked
    assert "528 MB" in asked["message"] and str(torch_home) in asked["message"]
    assert jobs.last_job() is last and counts() == before and not torch_home.exists()
    op, ctx = fake_invoke(confirm=True)  # the user says Download
    assert driver.JobOperator.invoke(op, ctx, None) == {"FINISHED"}
    assert len(ctx.window_manager.asked) == 1
    job = jobs.last_job()
    assert job is not last and job.worker.request.options.allow_download is True
    set_style(scene, stripes, features="offline")  # nothing to download: no question
    op, ctx = fake_invoke(confirm=True)
    assert driver.JobOperator.invoke(op, ctx, None) == {"FINISHED"}
    assert ctx.window_manager.asked == []
    assert jobs.last_job().worker.request.options.allow_download is False


def test_download_allowed_only_when_needed_and_online(scene: Any, image_path: Path, stripes: Path,
                                                      torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the request asks of the engine (the random engine never loads VGG-16)."""
    from blender_neural_painter import consent, driver, jobs, operators

    monkeypatch.setattr(consent, "online_access", lambda: True)
    small = dict(engine="random", style="marker", strokes=4, levels=1, size=32)
    set_style(scene, stripes, features="vgg16")
    result, job = paint(scene, image_path, **small)
    assert result == {"FINISHED"} and job.worker.request.options.allow_download is True
    set_style(scene, stripes, features="offline")  # no download needed: never allowed
    result, job = paint(scene, image_path, **small)
    assert job.worker.request.options.allow_download is False
    cached = consent.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"already here")
    set_style(scene, stripes, features="vgg16")
    result, job = paint(scene, image_path, **small)
    assert job.worker.request.options.allow_download is False


def test_broken_vgg16_weights_name_the_file_and_change_nothing(scene: Any, image_path: Path, stripes: Path,
                                                               torch_home: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from blender_neural_painter import consent, driver, jobs, operators, prefs

    monkeypatch.setattr(consent, "online_access", lambda: False)  # a file is there: no download asked
    result, _ = paint(scene, image_path, engine="random", style="marker", strokes=8, levels=1, size=32)
    assert result == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    strokes, before = read_strokes(obj), counts()
    cached = consent.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(os.urandom(4096))
    set_style(scene, stripes, mode="color", features="vgg16")
    result, job = paint(scene, image_path, style="marker", strokes=8, levels=1, size=32)
    assert result == {"CANCELLED"}
    assert job.error and "\n" not in job.error and str(cached) in job.error and "VGG-16" in job.error
    assert counts() == before and not orphans()
    # A weights file chosen in the preferences is used instead of the cache.
    chosen = tmp_path / "my_vgg16.pth"
    chosen.write_bytes(os.urandom(4096))
    monkeypatch.setattr(prefs, "preferences", lambda: SimpleNamespace(
        vgg_weights=str(chosen), torch_source="BLENDER", python_path=""))
    bpy.context.view_layer.objects.active = obj
    with pytest.raises(RuntimeError, match="my_vgg16.pth"):
        bpy.ops.neural_painter.restyle()
    job = jobs.last_job()
    assert job.worker.request.options.vgg_weights == str(chosen)
    assert job.error and "\n" not in job.error and str(chosen) in job.error
    assert counts() == before and not orphans()
    assert_same_strokes(read_strokes(obj), strokes)
    assert sorted(p.name for p in cached.parent.iterdir()) == [cached.name]  # nothing else fetched


def test_replace_strokes_keeps_the_replay(scene: Any, image_path: Path) -> None:
    """Restyle rewrites every stroke: the replay's timing (each stroke's beat, the keys)
    stays with the strokes, and a wrong count is refused before anything changes."""
    from blender_neural_painter import gpencil
    from core.model.strokes import StrokeSet

    result, job = paint(scene, image_path, engine="random", style="watercolor", strokes=12, levels=2, size=32,
                        animation="KEYFRAMES", keyframe_every=3, anim_duration=40)
    assert result == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    s = scene.neural_painter
    s.replay_order = "LIGHT_TO_DARK"
    bpy.ops.neural_painter.apply_replay()
    beats = [list(np.round(read_attr(layer.frames[0].drawing, "np_reveal"), 3)) for layer in list(obj.data.layers)[1:]]
    assert sorted(b for part in beats for b in part) == list(range(1, 13))
    keys = gpencil.replay_keyframes(obj)
    before = read_strokes(obj)
    ss = StrokeSet.concat([StrokeSet.from_json_dict(d) for d in job.received])
    geo = ss.geometry()
    rgba = geo.rgba.copy()
    rgba[..., :3] = (0.0, 0.0, 1.0)  # everything blue, shapes as they were
    batch = gpencil.StrokeBatch(2, geo.points, geo.radius, rgba, ss.params, np.arange(len(ss)), geo.cap,
                                float(geo.softness), bool(geo.textured))
    created = gpencil.Created()
    with pytest.raises(ValueError, match="got 11 strokes for a painting of 12"):
        gpencil.replace_strokes(obj, gpencil.painting_canvas(obj), batch_slice(batch, 11), created)
    assert_same_strokes(read_strokes(obj), before)  # refused before touching anything
    gpencil.replace_strokes(obj, gpencil.painting_canvas(obj), batch, created)
    after = read_strokes(obj)
    np.testing.assert_allclose(after["position"], before["position"], atol=1e-5)
    np.testing.assert_array_equal(after["order"], before["order"])
    np.testing.assert_allclose(after["vertex_color"][:, :3], np.broadcast_to((0.0, 0.0, 1.0), (len(after["position"]), 3)))
    assert [list(np.round(read_attr(layer.frames[0].drawing, "np_reveal"), 3))
            for layer in list(obj.data.layers)[1:]] == beats
    assert gpencil.replay_keyframes(obj) == keys
    assert not created.materials and not orphans()


def read_attr(drawing: Any, name: str) -> np.ndarray:
    a = drawing.attributes[name]
    buf = np.zeros(len(a.data), np.float32)
    a.data.foreach_get("value", buf)
    return buf


def batch_slice(batch: Any, n: int) -> Any:
    from dataclasses import replace

    return replace(batch, points=batch.points[:n], radius=batch.radius[:n], rgba=batch.rgba[:n],
                   params=batch.params[:n], order=batch.order[:n])


def read_drawing_positions(drawing: Any) -> np.ndarray:
    a = drawing.attributes.get("position")
    buf = np.zeros(len(a.data) * 3 if a is not None else 0, np.float32)
    if a is not None:
        a.data.foreach_get("vector", buf)
    return buf.reshape(-1, 3)


def test_restyle_that_fails_while_writing_puts_the_painting_back(scene: Any, image_path: Path, stripes: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from blender_neural_painter import gpencil, jobs

    result, _ = paint(scene, image_path, engine="random", style="marker", strokes=8, levels=2, size=32)
    assert result == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    strokes, before, data_name = read_strokes(obj), counts(), obj.data.name
    real = gpencil.replace_strokes

    def half_then_crash(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)  # the painting is fully rewritten...
        raise RuntimeError("simulated writer bug")  # ...and then something goes wrong

    monkeypatch.setattr(gpencil, "replace_strokes", half_then_crash)
    set_style(scene, stripes, mode="color", weight=5.0)
    with pytest.raises(RuntimeError):
        bpy.ops.neural_painter.restyle(test_options='{"options": {"iterations": 3}}')
    job = jobs.last_job()
    assert job.error and "simulated writer bug" in job.error and "\n" not in job.error
    assert jobs.active_job() is None  # later runs are not blocked
    assert obj.data.name == data_name and counts() == before and not orphans()
    assert_same_strokes(read_strokes(obj), strokes)
