"""Everything that touches the Grease Pencil API lives here.

Blender renamed and reshaped Grease Pencil twice (GPv2 -> GPv3 in 4.3, the data
collection renamed in 5.0); keeping every call in one module means one place to fix
when it moves again, and the rest of the add-on works with numpy arrays only. Names
that differ between the supported versions come from ``compat``.

Writes use whole-array ``foreach_set`` on drawing attributes: per-point Python loops
are about a thousand times slower and would make 10,000 strokes take minutes.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import bpy
import numpy as np

from . import compat
from .contracts import styles
from .gp_data import (ALWAYS, BRUSH_IMAGE, BRUSH_TAG, CANVAS_LAYER, ID_ATTR, ID_MAX, OIL_IMAGE, OIL_TEXTURE_MIX,
                      ORDER_ATTR, PARAM_ATTR, REPLAY_MODIFIER, REPLAY_NODES, REPLAY_TAG, REVEAL_ATTR, SHOT_TAG, TAG,
                      Canvas, Created, Replay, StrokeBatch, Textures, brush_digest, brush_image_pixels,
                      brush_material_name, build_modifier_name, gp_softness, layer_level, level_layer_name,
                      linear_to_srgb, material_name, oil_image_pixels, oil_uv, replay_beats, replay_keys,
                      srgb_to_linear, stroke_arrays, wash_image_name, wash_image_pixels)

__all__ = ["CANVAS_LAYER", "ID_ATTR", "ID_MAX", "ORDER_ATTR", "PARAM_ATTR", "REVEAL_ATTR", "SHOT_TAG", "TAG", "Canvas",
           "Created", "Replay", "StrokeBatch", "Textures", "build_modifier_name", "gp_softness", "layer_level",
           "level_layer_name", "linear_to_srgb", "material_name", "oil_uv", "srgb_to_linear"]

#: On a material the add-on made: the shared name it stands for (``NP Oil 3``), also
#: when it is a painting's own copy (``NP Oil 3.001``).
MATERIAL_TAG = "neural_painter_material"
#: On a painting's own material (Own Materials): never shared with another painting.
OWN_TAG = "neural_painter_own"


def gp_datablocks() -> Any:
    """The Grease Pencil v3 data collection (its name depends on the version)."""
    return compat.gp_datablocks()


# --- materials -------------------------------------------------------------------------

def ensure_oil_image(level: int, textures: np.ndarray | None, created: Created) -> Any:
    """Oil texture ``level`` as a packed image, built from ``core.model.texture`` numbers sent by
    the worker (no image file ships with the add-on). Shared by every oil painting."""
    name = OIL_IMAGE.format(level + 1)
    existing = bpy.data.images.get(name)
    if existing is not None and existing.get(TAG):
        return existing
    if textures is None:
        raise ValueError("the oil texture was not sent by the worker")
    return _packed_image(name, oil_image_pixels(textures, level), created)  # sRGB grey, dry stencil


def ensure_wash_image(profile: np.ndarray | None, softness: float, created: Created) -> Any:
    """A soft style's rim (``gp_data.wash_image_pixels``) as a packed image, shared by
    every painting of that softness."""
    name = wash_image_name(softness)
    existing = bpy.data.images.get(name)
    if existing is not None and existing.get(TAG):
        return existing
    if profile is None:
        raise ValueError("the wash profile was not sent by the worker")
    return _packed_image(name, wash_image_pixels(profile, softness), created)


def _packed_image(name: str, rgba: np.ndarray, created: Created) -> Any:
    """A new 8-bit image (straight alpha) holding ``rgba`` [rows, cols, 4], packed into
    the blend file so the painting travels with it."""
    rows, cols = rgba.shape[:2]
    img: Any = bpy.data.images.new(name, width=cols, height=rows, alpha=True, float_buffer=False)
    img[TAG] = 1
    img.alpha_mode = "STRAIGHT"
    img.pixels.foreach_set(np.asarray(rgba, np.float32).ravel())
    img.update()
    img.pack()
    created.images.append(img)
    return img


def _brush_named(collection: Any, name: str, digest: str, fits: Any) -> tuple[str, Any]:
    """The name to give a brush's datablock, and the existing one to reuse (or None):
    ``name``, unless a datablock of that name holds another brush (another picture of
    the same name), then ``name`` and the stencil's digest."""
    for candidate in (name, f"{name} {digest}"):
        existing = collection.get(candidate)
        if existing is None:
            return candidate, None
        if existing.get(BRUSH_TAG) == digest and fits(existing):
            return candidate, existing
    return f"{name} {digest}", None  # (both names taken by foreign data: Blender adds its own suffix)


def ensure_brush_material(style: str, stencil: np.ndarray, brush_name: str, created: Created) -> Any:
    """The material of a style painted with the artist's brush, ``NP <Style> <Brush>``:
    the stroke colour is the vertex colour alone (mix factor 1) and the brush's image,
    white with the stencil in alpha, says where the paint lies, stretched tip to tip by
    each stroke's u mapping. Shared by every painting of that style and brush."""
    digest = brush_digest(stencil)
    name, mat = _brush_named(bpy.data.materials, brush_material_name(style, brush_name), digest,
                             lambda m: m.get(TAG) == style and m.grease_pencil is not None)
    if mat is not None:
        return mat
    image_name, img = _brush_named(bpy.data.images, BRUSH_IMAGE.format(brush_name), digest,
                                   lambda i: i.get(TAG) is not None)
    if img is None:
        img = _packed_image(image_name, brush_image_pixels(stencil), created)
        img[BRUSH_TAG] = digest
    mat = _new_material(name, style, created)
    mat[BRUSH_TAG] = digest
    g: Any = mat.grease_pencil
    g.stroke_style = "TEXTURE"
    g.stroke_image = img
    g.mix_stroke_factor = 1.0
    g.pixel_size = 500.0
    return mat


def ensure_material(style: str, created: Created, texture: Textures | None = None, level: int = 0) -> Any:
    """The shared material for a style (for a textured one, one per texture level):
    reused across runs so painting twice does not fill the file with duplicates, unless
    the painting has materials of its own (``created.own``), made here on first use. Colour
    comes from vertex colours, so the material itself stays white; what else it is
    follows the style's look (``core.contracts.styles.Look``), not its name."""
    name = material_name(style, level)
    if created.own is not None:  # the painting's own copies (Own Materials), made once per painting
        mat = created.own.get(name)
        if mat is not None:
            return mat
    else:
        mat = next((m for m in bpy.data.materials if (m.get(MATERIAL_TAG) or m.name) == name and m.get(TAG) == style
                    and not m.get(OWN_TAG) and m.grease_pencil is not None), None)
        if mat is not None:
            return mat
    look = styles.get_style(style).look if style != "canvas" else styles.Look()
    mat = _new_material(name, style, created)
    g: Any = mat.grease_pencil
    if look.texture == "bristle":
        # Colour = (1 - mix) vertex colour + mix texture grey; the texture's alpha (the
        # dry brush) masks the stroke. UV factor 1 (500 / pixel size): u is the strokes'.
        g.stroke_style = "TEXTURE"
        g.stroke_image = ensure_oil_image(level, texture.oil if texture else None, created)
        g.mix_stroke_factor = 1.0 - OIL_TEXTURE_MIX
        g.pixel_size = 500.0
    elif look.softness > 0:
        # A wash: vertex colour only, the texture's alpha the pigment gathered at the rim.
        g.stroke_style = "TEXTURE"
        g.stroke_image = ensure_wash_image(texture.wash if texture else None, look.softness, created)
        g.mix_stroke_factor = 1.0
        g.pixel_size = 500.0
    return mat


def _new_material(name: str, style: str, created: Created) -> Any:
    """A white, stroke-only Grease Pencil material of ``style``, tagged as the add-on's."""
    mat = bpy.data.materials.new(name)
    bpy.data.materials.create_gpencil_data(mat)
    mat[TAG] = style
    mat[MATERIAL_TAG] = name
    created.materials.append(mat)
    if created.own is not None:  # the painting's own copies (Own Materials)
        created.own[name] = mat
        mat[OWN_TAG] = 1
    g: Any = mat.grease_pencil
    compat.show_stroke_only(g)
    g.mode = "LINE"
    g.color = (1.0, 1.0, 1.0, 1.0)
    return mat


def material_slot(data: Any, mat: Any) -> int:
    for i, m in enumerate(data.materials):
        if m == mat:
            return i
    data.materials.append(mat)
    return len(data.materials) - 1


# --- writing ---------------------------------------------------------------------------

def _attr(drawing: Any, name: str, dtype: str, domain: str) -> Any:
    a = drawing.attributes.get(name)
    if a is None:
        a = drawing.attributes.new(name, dtype, domain)
    return a


def write_strokes(drawing: Any, positions: np.ndarray, radius: np.ndarray, colors: np.ndarray,
                  opacity: np.ndarray, material_index: int | np.ndarray, flat_caps: bool = False,
                  softness: float = 0.0, params: np.ndarray | None = None,
                  order: np.ndarray | None = None, u_scale: np.ndarray | None = None,
                  u_translation: np.ndarray | None = None, ids: np.ndarray | None = None) -> None:
    """Append N strokes of K points each (positions [N,K,3], radius/opacity [N,K],
    linear colours [N,K,4]) to ``drawing`` with whole-array writes."""
    n, k = radius.shape
    if n == 0:
        return
    first_curve = len(drawing.strokes)
    first_point = len(drawing.attributes["position"].data) if first_curve else 0
    drawing.add_strokes([k] * n)
    n_curves = first_curve + n
    n_points = first_point + n * k

    def put_points(name: str, dtype: str, key: str, values: np.ndarray, width: int) -> None:
        a = _attr(drawing, name, dtype, "POINT")
        buf = np.zeros(n_points * width, np.float32)
        if first_point:
            a.data.foreach_get(key, buf)
        buf[first_point * width:] = np.asarray(values, np.float32).ravel()
        a.data.foreach_set(key, buf)

    def put_curves(name: str, dtype: str, values: np.ndarray | float | int, width: int = 1) -> None:
        a = _attr(drawing, name, dtype, "CURVE")
        np_type = np.float32 if dtype.startswith("FLOAT") else np.int32
        buf = np.zeros(n_curves * width, np_type)
        if first_curve:
            a.data.foreach_get("value", buf)
        buf[first_curve * width:] = np.broadcast_to(np.asarray(values, np_type), (n * width,)) \
            if np.ndim(values) == 0 else np.asarray(values, np_type).ravel()
        a.data.foreach_set("value", buf)

    put_points("position", "FLOAT_VECTOR", "vector", positions, 3)
    put_points("radius", "FLOAT", "value", radius, 1)
    put_points("opacity", "FLOAT", "value", opacity, 1)
    put_points("vertex_color", "FLOAT_COLOR", "color", colors, 4)
    put_curves("material_index", "INT", material_index)
    if flat_caps:
        put_curves("start_cap", "INT8", 1)
        put_curves("end_cap", "INT8", 1)
    if softness > 0:
        put_curves("softness", "FLOAT", float(softness))
    if u_scale is not None:
        put_curves("u_scale", "FLOAT", u_scale)
    if u_translation is not None:
        put_curves("u_translation", "FLOAT", u_translation)
    if params is not None:
        for j in range(params.shape[1]):
            put_curves(PARAM_ATTR.format(j), "FLOAT", params[:, j])
    if order is not None:
        put_curves(ORDER_ATTR, "INT", np.asarray(order, np.int32) + 1)
    if ids is not None and len(ids) and int(np.max(ids)) <= ID_MAX:
        put_curves(ID_ATTR, "INT", np.asarray(ids, np.int64).astype(np.int32))
    drawing.tag_positions_changed()


def new_painting(context: Any, name: str, canvas: Canvas, created: Created, frame: int,
                 location: Sequence[float] | None = None, *, matrix: Any = None, parent: Any = None,
                 parent_inverse: Any = None, collection: Any = None, show_canvas: bool = True) -> Any:
    """A new Grease Pencil object holding only the background canvas. Every run gets
    its own object so nothing the artist already has is ever modified. It stands at
    ``location``, or where ``matrix`` puts it (its world matrix; with ``parent``, its
    matrix relative to the parent, with ``parent_inverse``), in ``collection`` (default:
    the active one). ``show_canvas`` False hides the canvas layer (a transparent
    background: strokes only; the layer stays, to be shown again)."""
    data = gp_datablocks().new(name)
    created.grease_pencils.append(data)
    obj = bpy.data.objects.new(name, data)
    created.objects.append(obj)
    obj[TAG] = json.dumps(canvas.to_meta())
    if parent is not None:
        obj.parent = parent
        if parent_inverse is not None:
            obj.matrix_parent_inverse = parent_inverse
        obj.matrix_basis = matrix
    elif matrix is not None:
        obj.matrix_world = matrix
    elif location is not None:
        obj.location = tuple(location)
    (collection or context.collection).objects.link(obj)
    mat = ensure_material("canvas", created)
    slot = material_slot(data, mat)
    layer = data.layers.new(CANVAS_LAYER)
    layer.use_lights = False  # unlit: strokes show their own colour in any scene
    layer.hide = not show_canvas
    drawing = layer.frames.new(frame).drawing
    w, h = canvas.size_m
    pos = np.array([[[-w / 2, 0, 0], [w / 2, 0, 0]]], np.float32)
    bg = np.ones((1, 2, 4), np.float32)
    bg[..., :3] = srgb_to_linear(np.asarray(canvas.background, np.float32))
    write_strokes(drawing, pos, np.full((1, 2), h / 2, np.float32), bg,
                  np.ones((1, 2), np.float32), slot, flat_caps=True)
    return obj


def own_materials(obj: Any) -> dict[str, Any]:
    """A painting's materials by the shared name each stands for (its own copies, when
    it has them), so a rewrite of its strokes reuses them instead of the shared ones."""
    return {str(m[MATERIAL_TAG]): m for m in obj.data.materials if m is not None and m.get(MATERIAL_TAG)}


def has_own_materials(obj: Any) -> bool:
    return any(m is not None and m.get(OWN_TAG) for m in obj.data.materials)


def painting_canvas(obj: Any) -> Canvas | None:
    """The canvas description stored on a painting, or None for other objects."""
    meta = obj.get(TAG) if obj is not None else None
    if not isinstance(meta, str):
        return None
    try:
        return Canvas.from_meta(json.loads(meta))
    except (ValueError, KeyError, TypeError):
        return None


def add_level(obj: Any, batch: StrokeBatch, canvas: Canvas, created: Created, frame: int,
              texture: Textures | None = None) -> Any:
    """Add one level's strokes on a new layer above the previous ones, so layer order
    followed by stroke order is painting order."""
    data = obj.data
    name = level_layer_name(batch.level)
    layer = next((l for l in data.layers if l.name == name), None)
    if layer is None:
        layer = data.layers.new(name)
        layer.use_lights = False
    fr = layer.get_frame_at(frame)
    drawing = (fr if fr is not None and fr.frame_number == frame else layer.frames.new(frame)).drawing
    _write_batch(drawing, obj, batch, canvas, created, texture)
    return layer


def close_frame(obj: Any, frame: int) -> None:
    """After a shot's frame is written: every level layer that got no strokes in it but
    shows a drawing from an earlier frame gets an empty drawing here, so what a frame
    shows is exactly that frame's strokes (a level can empty out as strokes are dropped)."""
    for layer in obj.data.layers:
        if layer_level(layer.name) is None:
            continue
        fr = layer.get_frame_at(frame)
        if fr is not None and fr.frame_number != frame:
            layer.frames.new(frame)


def mark_shot(obj: Any, start: int, numbers: Sequence[int], rate: float | None = None) -> None:
    """Tag ``obj`` as a painted shot: its first scene frame, the source frames it holds,
    and the playback rate it was painted for when retimed (None: the source's own)."""
    info: dict[str, Any] = {"start": int(start), "frames": [int(n) for n in numbers]}
    if rate is not None:
        info["rate"] = float(rate)
    obj[SHOT_TAG] = json.dumps(info)


def shot_info(obj: Any) -> dict[str, Any] | None:
    """What :func:`mark_shot` stored, or None for a still painting (or anything else)."""
    meta = obj.get(SHOT_TAG) if obj is not None else None
    try:
        return dict(json.loads(meta)) if isinstance(meta, str) else None
    except (ValueError, TypeError):
        return None


def shot_frames(obj: Any) -> dict[int, Any]:
    """Scene frame -> {level: drawing} of a painted shot's level layers."""
    out: dict[int, Any] = {}
    for layer in obj.data.layers:
        level = layer_level(layer.name)
        if level is None:
            continue
        for fr in layer.frames:
            out.setdefault(int(fr.frame_number), {})[level] = fr.drawing
    return dict(sorted(out.items()))


def _batch_arrays(obj: Any, batch: StrokeBatch, canvas: Canvas, created: Created,
                  texture: Textures | None) -> dict[str, Any]:
    """What :func:`write_strokes` needs for a batch (``gp_data.stroke_arrays``) and its
    material slots (one per oil texture level, or the brush's), made here if missing."""
    if batch.brush is not None:
        material: int | np.ndarray = material_slot(
            obj.data, ensure_brush_material(canvas.style, batch.brush, batch.brush_name or "Brush", created))
    elif batch.textured:
        levels = np.zeros(len(batch), np.int64) if batch.levels is None else np.asarray(batch.levels, np.int64)
        slots = {int(k): material_slot(obj.data, ensure_material(canvas.style, created, texture, int(k)))
                 for k in np.unique(levels)}
        material = np.array([slots[int(k)] for k in levels], np.int32)
    else:
        material = material_slot(obj.data, ensure_material(canvas.style, created, texture))
    cols = np.asarray(texture.oil).shape[2] if texture is not None and texture.oil is not None else 130
    return {**stroke_arrays(batch, canvas, cols), "material_index": material}


def _write_batch(drawing: Any, obj: Any, batch: StrokeBatch, canvas: Canvas,
                 created: Created, texture: Textures | None) -> None:
    a = _batch_arrays(obj, batch, canvas, created, texture)
    write_strokes(drawing, a["positions"], a["radius"], a["colors"], a["opacity"], a["material_index"],
                  flat_caps=a["flat_caps"], softness=a["softness"], params=batch.params, order=batch.order,
                  u_scale=a["u_scale"], u_translation=a["u_translation"], ids=batch.ids)


def level_layers(obj: Any) -> list[tuple[int, Any, Any]]:
    """(level, layer, its latest frame) for every level layer with frames, bottom layer
    first: painting order, in which Refine reads strokes back and Restyle rewrites them.
    The latest frame holds the whole level (earlier ones are Keyframes steps)."""
    out = []
    for layer in obj.data.layers:
        level = layer_level(layer.name)
        if level is None or len(layer.frames) == 0:
            continue
        out.append((level, layer, max(layer.frames, key=lambda f: f.frame_number)))
    return out


def stroke_count(obj: Any) -> int:
    """Painted strokes (canvas excluded) in the latest drawing of every level layer."""
    return sum(len(fr.drawing.strokes) for _, _, fr in level_layers(obj))


# --- replay ----------------------------------------------------------------------------

def replay_nodes(created: Created) -> Any:
    """The replay's node group, shared by every painting (made once per file):

        hidden = reveal + Grow * (how far along its stroke a point lies, 0..1) > Step

    ``reveal`` is the stroke's beat (:data:`REVEAL_ATTR`). Deleting points keeps the
    order of the strokes that remain, so whatever order strokes appear in, they cover
    each other as in the finished painting; and nothing is copied."""
    ng: Any = bpy.data.node_groups.get(REPLAY_NODES)
    if ng is not None and ng.get(TAG) and ng.bl_idname == "GeometryNodeTree":
        return ng
    ng = bpy.data.node_groups.new(REPLAY_NODES, "GeometryNodeTree")
    ng[TAG] = 1
    created.node_groups.append(ng)
    face = ng.interface
    face.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    step = face.new_socket("Step", in_out="INPUT", socket_type="NodeSocketFloat")
    step.description = "Beats of the replay shown so far (animated)"
    grow = face.new_socket("Grow", in_out="INPUT", socket_type="NodeSocketFloat")
    grow.description = "Beats a stroke takes to grow along its length (0: it appears whole)"
    face.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nodes: Any = ng.nodes
    links: Any = ng.links
    given, out = nodes.new("NodeGroupInput"), nodes.new("NodeGroupOutput")
    delete = nodes.new("GeometryNodeDeleteGeometry")
    delete.domain = "POINT"
    reveal = nodes.new("GeometryNodeInputNamedAttribute")
    reveal.data_type = "FLOAT"
    reveal.inputs["Name"].default_value = REVEAL_ATTR
    along = nodes.new("GeometryNodeSplineParameter")
    times, plus = nodes.new("ShaderNodeMath"), nodes.new("ShaderNodeMath")
    times.operation, plus.operation = "MULTIPLY", "ADD"
    later = nodes.new("FunctionNodeCompare")
    later.data_type, later.operation = "FLOAT", "GREATER_THAN"
    links.new(along.outputs["Factor"], times.inputs[0])
    links.new(given.outputs["Grow"], times.inputs[1])
    links.new(reveal.outputs["Attribute"], plus.inputs[0])
    links.new(times.outputs[0], plus.inputs[1])
    links.new(plus.outputs[0], later.inputs[0])
    links.new(given.outputs["Step"], later.inputs[1])
    links.new(given.outputs["Geometry"], delete.inputs["Geometry"])
    links.new(later.outputs["Result"], delete.inputs["Selection"])
    links.new(delete.outputs["Geometry"], out.inputs["Geometry"])
    return ng


def _replay_input(ng: Any, name: str) -> str:
    return str(next(i.identifier for i in ng.interface.items_tree if getattr(i, "in_out", "") == "INPUT"
                    and i.name == name))


def replay_strokes(obj: Any, canvas: Canvas) -> dict[str, np.ndarray]:
    """What the replay orders strokes by, in painting order (level layers bottom first,
    their latest drawing): painting order (0: drawn by hand), level, centre in canvas
    fractions (y down) and linear colour (over the white material, as drawn)."""
    order, level, centre, colour = [], [], [], []
    ex, ey = canvas.extent
    for d in read_painting(obj):
        n = len(d["order"])
        if not n:
            continue
        k = d["sizes"][:, None]
        valid = np.arange(d["positions"].shape[1])[None, :] < k
        xy = canvas.from_world(d["positions"])
        mid = (xy * valid[..., None]).sum(1) / np.maximum(k, 1)
        rgb = d["colors"][..., :3] * d["colors"][..., 3:4] + (1.0 - d["colors"][..., 3:4])
        order.append(d["order"])
        level.append(np.full(n, d["level"]))
        centre.append(mid / np.array([ex, ey], np.float32))
        colour.append((rgb * valid[..., None]).sum(1) / np.maximum(k, 1))
    if not order:
        return {"order": np.zeros(0, np.int64), "level": np.zeros(0, np.int64), "centre": np.zeros((0, 2)),
                "colour": np.zeros((0, 3))}
    return {"order": np.concatenate(order).astype(np.int64), "level": np.concatenate(level).astype(np.int64),
            "centre": np.concatenate(centre), "colour": np.concatenate(colour)}


def clear_replay(obj: Any) -> None:
    """Take off every replay the painting has: this add-on's replay modifier and its
    keys, and those of earlier versions (Build modifiers per level; keyframe drawings,
    of which each level layer keeps its latest, the whole level)."""
    for mod in list(obj.modifiers):
        if mod.name == REPLAY_MODIFIER or (mod.type == "GREASE_PENCIL_BUILD" and mod.name.startswith("NP Build ")):
            compat.remove_fcurves(obj, f'modifiers["{mod.name}"]')
            obj.modifiers.remove(mod)
    for _, layer, latest in level_layers(obj):
        keep = int(latest.frame_number)
        for number in [int(f.frame_number) for f in layer.frames if int(f.frame_number) != keep]:
            layer.frames.remove(number)


def apply_replay(obj: Any, canvas: Canvas, replay: Replay, created: Created,
                 mask: np.ndarray | None = None) -> list[tuple[float, float]]:
    """(Re)time a still painting's replay: each stroke gets its beat in ``replay.order``
    (``gp_data.replay_beats``; ``mask`` [H, W] in 0..1 over the canvas for Region
    First), the replay modifier shows beats up to its Step, and Step is keyed from
    ``replay.start`` on (``gp_data.replay_keys``). Works on any still painting, hand
    edits included (a stroke drawn by hand comes last), and replaces whatever replay it
    had. Returns the keys."""
    clear_replay(obj)
    obj[REPLAY_TAG] = json.dumps(replay.to_meta())
    if replay.mode == "NONE":
        return []
    info = replay_strokes(obj, canvas)
    mask_at = None
    if mask is not None and len(info["centre"]):
        rows, cols = mask.shape[:2]
        iy = np.clip((info["centre"][:, 1] * rows).astype(int), 0, rows - 1)
        ix = np.clip((info["centre"][:, 0] * cols).astype(int), 0, cols - 1)
        mask_at = mask[iy, ix]
    beats = replay_beats(replay.order, info["order"], info["level"], info["centre"], info["colour"], replay, mask_at)
    start = 0
    for _, _, fr in level_layers(obj):
        n = len(fr.drawing.strokes)
        if n:
            _attr(fr.drawing, REVEAL_ATTR, "FLOAT", "CURVE").data.foreach_set("value", beats[start:start + n])
        start += n
    for layer in obj.data.layers:
        if layer.name == CANVAS_LAYER:
            for fr in layer.frames:
                if len(fr.drawing.strokes):
                    _attr(fr.drawing, REVEAL_ATTR, "FLOAT", "CURVE").data.foreach_set(
                        "value", np.full(len(fr.drawing.strokes), ALWAYS, np.float32))
    grow = 1.0 if replay.mode == "BUILD" and styles.get_style(canvas.style).is_curve else 0.0
    ng = replay_nodes(created)
    mod = obj.modifiers.new(REPLAY_MODIFIER, "NODES")
    mod.node_group = ng
    step, grow_id = _replay_input(ng, "Step"), _replay_input(ng, "Grow")
    compat.set_modifier_input(mod, grow_id, grow)
    keys = replay_keys(replay, int(beats.max()) if len(beats) else 0, grow)
    path = compat.modifier_input_path(mod, step)
    compat.set_modifier_input(mod, step, keys[0][1])
    obj.keyframe_insert(data_path=path, frame=keys[0][0])
    fc = next(f for f in compat.object_fcurves(obj) if f.data_path == path)
    fc.keyframe_points.add(len(keys) - 1)
    fc.keyframe_points.foreach_set("co", np.asarray(keys, np.float32).ravel())
    for kp in fc.keyframe_points:
        if replay.mode == "KEYFRAMES":
            kp.interpolation = "CONSTANT"
        elif replay.ease == "LINEAR":
            kp.interpolation = "LINEAR"
        else:
            kp.interpolation, kp.easing = "SINE", replay.ease
    fc.update()
    ad = obj.animation_data
    if ad is not None and ad.action is not None and ad.action.users <= 1 and ad.action not in created.actions:
        created.actions.append(ad.action)
    return keys


def replay_of(obj: Any) -> Replay | None:
    """How the painting's replay was last set (None: never by this version)."""
    meta = obj.get(REPLAY_TAG) if obj is not None else None
    try:
        return Replay.from_meta(json.loads(meta)) if isinstance(meta, str) else None
    except (ValueError, KeyError, TypeError):
        return None


def replay_keyframes(obj: Any) -> list[tuple[float, float]]:
    """(frame, Step) keys of the painting's replay, for tests, pictures and the UI."""
    mod = obj.modifiers.get(REPLAY_MODIFIER)
    if mod is None or mod.node_group is None:
        return []
    path = compat.modifier_input_path(mod, _replay_input(mod.node_group, "Step"))
    fc = next((f for f in compat.object_fcurves(obj) if f.data_path == path), None)
    return [(float(kp.co[0]), float(kp.co[1])) for kp in fc.keyframe_points] if fc is not None else []


def shown_strokes(obj: Any, frame: int) -> int:
    """Strokes (whole or growing) the replay shows at ``frame``, canvas excluded: what
    the evaluated painting holds there."""
    scene: Any = bpy.context.scene
    scene.frame_set(frame)
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    total = 0
    for layer in evaluated.data.layers:
        if layer_level(layer.name) is None:
            continue
        fr = layer.current_frame()
        total += len(fr.drawing.strokes) if fr is not None else 0
    return total


def selected_strokes(obj: Any) -> list[int]:
    """Indices (in painting order, as Refine reads them) of the strokes selected in Edit
    Mode: a stroke with any point selected. A drawing without a selection is wholly
    selected, as Blender treats it."""
    out: list[int] = []
    start = 0
    for _, _, fr in level_layers(obj):
        drawing = fr.drawing
        n = len(drawing.strokes)
        a = drawing.attributes.get(".selection")
        if a is None:
            picked = np.ones(n, bool)
        else:
            values = np.zeros(len(a.data), bool)
            a.data.foreach_get("value", values)
            if a.domain == "CURVE":
                picked = values
            else:
                offsets = np.zeros(n + 1, np.int32)
                drawing.curve_offsets.foreach_get("value", offsets)
                picked = np.logical_or.reduceat(values, offsets[:-1]) if n else np.zeros(0, bool)
        out += (start + np.flatnonzero(picked)).tolist()
        start += n
    return out


# --- reading (Refine) ------------------------------------------------------------------

def _get_points(drawing: Any, name: str, key: str, width: int, n_points: int,
                default: float) -> np.ndarray:
    a = drawing.attributes.get(name)
    buf = np.full(n_points * width, default, np.float32)
    if a is not None and a.domain == "POINT":
        a.data.foreach_get(key, buf)
    return buf.reshape(n_points, width) if width > 1 else buf


def _get_curves(drawing: Any, name: str, n_curves: int, default: float, dtype: Any = np.float32) -> np.ndarray:
    a = drawing.attributes.get(name)
    buf = np.full(n_curves, default, dtype)
    if a is not None and a.domain == "CURVE":
        a.data.foreach_get("value", buf)
    return buf


def read_drawing(drawing: Any, canvas: Canvas) -> dict[str, Any]:
    """A drawing's strokes as arrays, padded to the longest stroke (lengths in
    ``sizes``): positions in object space plus what ``core`` needs to rebuild them."""
    n = len(drawing.strokes)
    offsets = np.zeros(n + 1, np.int32)
    if n:
        drawing.curve_offsets.foreach_get("value", offsets)
    n_points = int(offsets[-1])
    sizes = np.diff(offsets)
    k = int(sizes.max()) if n else 0
    pos = _get_points(drawing, "position", "vector", 3, n_points, 0.0)
    rad = _get_points(drawing, "radius", "value", 1, n_points, 0.01)
    opa = _get_points(drawing, "opacity", "value", 1, n_points, 1.0)
    col = _get_points(drawing, "vertex_color", "color", 4, n_points, 0.0)
    # Pad every stroke to k points by repeating its last point (arrays stay rectangular).
    idx = np.minimum(offsets[:-1, None] + np.arange(k)[None, :], (offsets[1:] - 1)[:, None]) if n else np.zeros((0, 0), int)
    mats = _get_curves(drawing, "material_index", n, 0, np.int32)
    d = max((int(a.name[len("np_param_"):]) + 1 for a in drawing.attributes
             if a.name.startswith("np_param_") and a.name[len("np_param_"):].isdigit()), default=0)
    params = np.stack([_get_curves(drawing, PARAM_ATTR.format(j), n, 0.0) for j in range(d)], 1) \
        if d else np.zeros((n, 0), np.float32)
    soft = _get_curves(drawing, "softness", n, 0.0)
    caps = _get_curves(drawing, "start_cap", n, 0, np.int32)
    optional = {name: _get_curves(drawing, name, n, default) if drawing.attributes.get(name) is not None else None
                for name, default in (("u_scale", 1.0), ("u_translation", 0.0))}
    return {
        "positions": pos[idx] if n else np.zeros((0, 0, 3), np.float32),
        "radius": rad[idx] if n else np.zeros((0, 0), np.float32),
        "opacity": opa[idx] if n else np.zeros((0, 0), np.float32),
        "colors": col[idx] if n else np.zeros((0, 0, 4), np.float32),
        "sizes": sizes,
        "params": params,
        "order": _get_curves(drawing, ORDER_ATTR, n, 0, np.int32),
        "ids": _get_curves(drawing, ID_ATTR, n, 0, np.int32) if drawing.attributes.get(ID_ATTR) is not None else None,
        "material_index": mats,
        "flat_caps": bool(caps.any()),
        "softness": float(soft.max()) if n else 0.0,
        "u_scale": optional["u_scale"],
        "u_translation": optional["u_translation"],
        "canvas": canvas,
    }


def read_painting(obj: Any) -> list[dict[str, Any]]:
    """Every level layer's latest drawing, bottom layer first (painting order)."""
    canvas = painting_canvas(obj)
    if canvas is None:
        raise ValueError(f"{obj.name} was not made by Neural Painter")
    out = []
    for level, _, fr in level_layers(obj):
        d = read_drawing(fr.drawing, canvas)
        d["level"] = level
        out.append(d)
    return out


# --- replacing (Restyle) ---------------------------------------------------------------

def level_frames(obj: Any) -> list[tuple[Any, list[int], int]]:
    """(layer, its frame numbers, strokes in its latest drawing) for every level layer with
    frames, bottom first: the order :func:`read_painting` reads strokes in."""
    return [(layer, sorted(int(f.frame_number) for f in layer.frames), len(fr.drawing.strokes))
            for _, layer, fr in level_layers(obj)]


def replace_strokes(obj: Any, canvas: Canvas, batch: StrokeBatch, created: Created,
                    texture: Textures | None = None) -> None:
    """Replace every painted stroke of ``obj`` with ``batch`` (same count, painting order),
    keeping layers, frames and each stroke's painting order number; the canvas layer is
    untouched. Each level drawing is rebuilt fresh, as a paint writes it (no attributes
    left over from hand-drawn strokes); an earlier keyframe drawing (Keyframes animation)
    holds the same leading strokes of its layer as before. Raises ValueError, having
    changed nothing, when the counts differ."""
    layers = level_frames(obj)
    total = sum(n for *_, n in layers)
    if total != len(batch):
        raise ValueError(f"got {len(batch)} strokes for a painting of {total}")
    plan = []
    for layer, numbers, n in layers:
        counts = [len(layer.get_frame_at(f).drawing.strokes) for f in numbers]
        latest = layer.get_frame_at(numbers[-1]).drawing
        plan.append((layer, numbers, counts, n, _get_curves(latest, ORDER_ATTR, n, 0, np.int32)))
    reveal = [_get_curves(layer.get_frame_at(numbers[-1]).drawing, REVEAL_ATTR, n, 0.0)
              if layer.get_frame_at(numbers[-1]).drawing.attributes.get(REVEAL_ATTR) is not None else None
              for layer, numbers, n in layers]
    a = _batch_arrays(obj, batch, canvas, created, texture)  # fails here, before anything changed
    material = np.broadcast_to(np.asarray(a["material_index"], np.int32), (len(batch),))
    start = 0
    for (layer, numbers, counts, n, order), beats in zip(plan, reveal):
        rows = slice(start, start + n)
        start += n
        for f, count in zip(numbers, counts):
            m = n if f == numbers[-1] else min(count, n)
            layer.frames.remove(f)
            drawing = layer.frames.new(f).drawing
            uv = {k: a[k][rows][:m] if a[k] is not None else None for k in ("u_scale", "u_translation")}
            write_strokes(drawing, a["positions"][rows][:m], a["radius"][rows][:m], a["colors"][rows][:m],
                          a["opacity"][rows][:m], material[rows][:m], flat_caps=a["flat_caps"],
                          softness=a["softness"], params=batch.params[rows][:m], order=order[:m] - 1, **uv)
            if beats is not None and m:  # the replay's timing stays with its strokes
                _attr(drawing, REVEAL_ATTR, "FLOAT", "CURVE").data.foreach_set("value", beats[:m])


# --- clean-up --------------------------------------------------------------------------

def remove_created(created: Created) -> None:
    """Undo a failed run: remove the data it made, leaving no orphans behind. Shared
    materials and images made by this run go too, unless something else now uses them."""
    # (what the run made, where it lives, removed only when nothing else uses it now)
    kinds = ((created.objects, bpy.data.objects, False), (created.grease_pencils, gp_datablocks(), False),
             (created.actions, bpy.data.actions, True), (created.materials, bpy.data.materials, True),
             (created.node_groups, bpy.data.node_groups, True), (created.images, bpy.data.images, True))
    for made, blocks, if_unused in kinds:
        for block in made:
            try:
                if not if_unused or block.users == 0:
                    blocks.remove(block)
            except ReferenceError:
                pass
        made.clear()


def datablock_counts() -> dict[str, int]:
    """Counts of the data kinds a run may create, for before/after checks."""
    return {"objects": len(bpy.data.objects), "grease_pencils": len(gp_datablocks()),
            "materials": len(bpy.data.materials), "images": len(bpy.data.images),
            "actions": len(bpy.data.actions), "node_groups": len(bpy.data.node_groups)}
