"""Settings shown in the sidebar panel, stored per scene so they travel with the file.

The painting settings the engine also takes (style, strokes, size, seed, ...) get their
limits, defaults and choices from the engine's contracts (``core.contracts``), so the
panel can never offer what the engine refuses; a test ties the two.
"""

from __future__ import annotations

from typing import Any

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, FloatVectorProperty, IntProperty,
                       PointerProperty, StringProperty)

from .contracts import options as opts
from . import gp_data
from .contracts import styles


def _range(record: Any, name: str, **kw: Any) -> dict[str, Any]:
    """A property's default and limits from the engine's setting ``name``."""
    setting = record.settings()[name]
    out: dict[str, Any] = {"default": record.default_of(name)}
    if setting.lo is not None:
        out["min"] = setting.lo
    if setting.hi is not None:
        out["max"] = setting.hi
    if setting.soft_hi is not None:
        out["soft_max"] = setting.soft_hi
    return {**out, **kw}


#: The style menu: every style the engine knows, the default first.
STYLE_ITEMS = sorted(((s.name, s.label, s.description) for s in styles.STYLES.values()),
                     key=lambda item: item[0] != opts.PaintOptions.default_of("style"))


def _replay_orders() -> list[tuple[str, str, str]]:
    return [(key, label, text) for key, (_, label, text) in gp_data.ORDERS.items()]


class NeuralPainterSettings(bpy.types.PropertyGroup):
    # --- the reference ---------------------------------------------------------------
    source: EnumProperty(  # type: ignore[valid-type]
        name="Source",
        description="Where the reference image comes from",
        items=[("FILE", "Image File", "An image file on disk"),
               ("IMAGE", "Blend Image", "An image already loaded in this blend file"),
               ("CAMERA", "Camera Render", "Render the scene from the active camera and paint that"),
               ("MOVIE", "Movie / Sequence", "Paint every frame of a video, an image sequence or a movie clip "
                                             "as one Grease Pencil object with a drawing per frame"),
               ("CAMERA_RANGE", "Camera Animation", "Render the active camera over the scene's frame range and "
                                                    "paint every frame (a drawing per frame)")],
        default="FILE")
    shot_source: EnumProperty(  # type: ignore[valid-type]
        name="Frames From", description="Where the frames of a Movie / Sequence source come from",
        items=[("FILE", "File or Folder", "A video file, a folder of images, or a pattern like frames/%04d.png"),
               ("CLIP", "Movie Clip", "A movie clip in this blend file (a movie or an image sequence)"),
               ("IMAGE", "Image Sequence", "An image of this blend file whose source is a sequence or a movie")],
        default="FILE")
    movie_path: StringProperty(  # type: ignore[valid-type]
        name="Video or Folder", description="A video file (MP4, MOV, ...), a folder of images (natural order) "
                                            "or a pattern like //frames/%04d.png", subtype="FILE_PATH", default="")
    movie_clip: PointerProperty(  # type: ignore[valid-type]
        name="Movie Clip", description="Movie clip to paint, frame by frame", type=bpy.types.MovieClip)
    shot_frames: StringProperty(  # type: ignore[valid-type]
        name="Frames", description="Which frames of the source to paint: A-B (1-based), A- or A; empty for all",
        default="")
    shot_start: IntProperty(  # type: ignore[valid-type]
        name="Start Frame", description="Scene frame on which the source's frame 1 lands (each later "
                                        "frame on the next scene frame, or retimed: see Match Scene Frame Rate)",
        default=1)
    shot_match_rate: BoolProperty(  # type: ignore[valid-type]
        name="Match Scene Frame Rate",
        description="Play a video at its own speed in this scene: a video faster than the scene's frame rate "
                    "skips the frames the scene would not show (and is not painted for them), a slower one holds "
                    "drawings. Off: one drawing per video frame. Image sequences always give one per frame",
        default=True)
    shot_keep_look: FloatProperty(  # type: ignore[valid-type]
        name="Keep Look",
        description="How far each frame's new strokes keep the look of the previous painting carried along the "
                    "motion rather than follow the frame: higher flickers less on moving things and follows "
                    "the footage less closely; 0 follows the frame alone",
        subtype="FACTOR", **_range(opts.TemporalOptions, "keep_look"))
    shot_keep_look_moving: FloatProperty(  # type: ignore[valid-type]
        name="Keep Look on Moving Parts",
        description="Keep Look on what moves on its own in the picture (not with the camera), where the fine "
                    "strokes are re-fitted every frame: higher boils less there and follows the footage less "
                    "closely",
        subtype="FACTOR", **_range(opts.TemporalOptions, "keep_look_moving"))
    image_path: StringProperty(  # type: ignore[valid-type]
        name="Image File", description="Reference image to paint (PNG, JPEG, TIFF, WebP, BMP...)",
        subtype="FILE_PATH", default="")
    image: PointerProperty(  # type: ignore[valid-type]
        name="Image", description="Reference image from this blend file", type=bpy.types.Image)
    camera_engine: EnumProperty(  # type: ignore[valid-type]
        name="Render With", description="How a camera source is rendered into the reference",
        items=[("SCENE", "Scene Engine", "The scene's render engine and settings, as a final render"),
               ("WORKBENCH", "Workbench", "Blender's viewport engine: seconds per frame where Cycles takes "
                                          "minutes, with the scene's viewport shading")],
        default="SCENE")
    camera_percent: IntProperty(  # type: ignore[valid-type]
        name="Resolution", description="Percentage of the render resolution the camera source is rendered at",
        default=100, min=1, max=100, subtype="PERCENTAGE")

    # --- the painting ----------------------------------------------------------------
    style: EnumProperty(  # type: ignore[valid-type]
        name="Style", description="Kind of brush stroke the painting is made of",
        items=STYLE_ITEMS, default=opts.PaintOptions.default_of("style"))
    strokes: IntProperty(  # type: ignore[valid-type]
        name="Strokes", description="Total number of strokes; more strokes give more detail and take longer",
        **_range(opts.PaintOptions, "strokes"))
    levels_auto: BoolProperty(  # type: ignore[valid-type]
        name="Auto Levels", description="Choose the number of coarse-to-fine levels from the stroke count",
        default=True)
    levels: IntProperty(  # type: ignore[valid-type]
        name="Levels", description="Coarse-to-fine passes, each on a finer grid",
        **_range(opts.PaintOptions, "levels", default=4))
    size: IntProperty(  # type: ignore[valid-type]
        name="Working Size", description="Long side in pixels at which strokes are optimized; "
                                         "larger is slower but finer",
        subtype="PIXEL", **_range(opts.PaintOptions, "size"))
    background: EnumProperty(  # type: ignore[valid-type]
        name="Background", description="What lies behind the strokes",
        items=[("white", "White", "A white canvas"), ("black", "Black", "A black canvas"),
               ("mean", "Image Mean", "The reference image's average color"),
               ("CUSTOM", "Custom", "A color of your choice"),
               ("TRANSPARENT", "Transparent", "No visible canvas: strokes only, painted over the image's average "
                                              "color (the Canvas layer is kept, hidden)")],
        default=opts.PaintOptions.default_of("background"))
    background_color: FloatVectorProperty(  # type: ignore[valid-type]
        name="Canvas Color", description="Color of a Custom canvas", subtype="COLOR_GAMMA",
        size=3, min=0.0, max=1.0, default=(1.0, 1.0, 1.0))

    # --- placement -------------------------------------------------------------------
    placement: EnumProperty(  # type: ignore[valid-type]
        name="Placement", description="Where the new painting stands",
        items=[("AUTO", "Auto", "In front of the active camera for a camera source, else at the 3D cursor"),
               ("CURSOR", "3D Cursor", "At the 3D cursor, facing the front view"),
               ("CAMERA", "Fit to Camera", "In front of the active camera, filling its frame exactly")],
        default="AUTO")
    camera_distance: FloatProperty(  # type: ignore[valid-type]
        name="Distance", description="How far in front of the camera the painting stands",
        default=1.0, min=0.001, soft_max=100.0, subtype="DISTANCE", unit="LENGTH")
    camera_parent: BoolProperty(  # type: ignore[valid-type]
        name="Parent to Camera", description="Make the painting a child of the camera, so it stays in its frame "
                                             "as the camera moves", default=True)
    width_m: FloatProperty(  # type: ignore[valid-type]
        name="Width", description="Width of the painting in the scene (the height follows the image)",
        default=2.0, min=0.001, soft_max=100.0, subtype="DISTANCE", unit="LENGTH")
    collection: PointerProperty(  # type: ignore[valid-type]
        name="Collection", description="Collection the new painting goes into (empty: the active collection)",
        type=bpy.types.Collection)
    object_name: StringProperty(  # type: ignore[valid-type]
        name="Name", description="Name of the new painting (empty: named after its source)", default="")
    own_materials: BoolProperty(  # type: ignore[valid-type]
        name="Own Materials", description="Give the painting its own copies of the materials, so editing them "
                                          "changes no other painting (off: paintings of a style share them)",
        default=False)

    # --- the engine ------------------------------------------------------------------
    renderer: EnumProperty(  # type: ignore[valid-type]
        name="Renderer", description="Stroke renderer used by the optimizer",
        items=[("analytic", "Analytic", "Exact differentiable renderer, fast on a CPU"),
               ("neural", "Neural", "Neural renderer as in the paper (needs trained weights)")],
        default=opts.PaintOptions.default_of("renderer"))
    device: EnumProperty(  # type: ignore[valid-type]
        name="Device", description="Where the optimizer runs (the Engine panel says what the installed torch can use)",
        items=[("auto", "Auto", "The fastest the installed torch can use: CUDA, then Apple MPS, then the CPU"),
               ("cpu", "CPU", "Processor only"), ("cuda", "CUDA", "NVIDIA GPU (needs a CUDA build of torch)"),
               ("mps", "MPS", "Apple GPU (torch on an Apple silicon Mac)")],
        default=opts.PaintOptions.default_of("device"))
    seed: IntProperty(  # type: ignore[valid-type]
        name="Seed", description="Random seed; the same seed and settings give the same painting",
        **_range(opts.PaintOptions, "seed"))

    # --- replay ----------------------------------------------------------------------
    animation: EnumProperty(  # type: ignore[valid-type]
        name="Replay", description="How the painting appears on the timeline",
        items=[("BUILD", "Build", "Strokes appear one after another at an even pace, curves growing along "
                                  "their length"),
               ("KEYFRAMES", "Keyframes", "Strokes appear a few at a time, on keyframes you can move in the "
                                          "Dope Sheet"),
               ("NONE", "None", "A still painting")],
        default="BUILD")
    replay_order: EnumProperty(  # type: ignore[valid-type]
        name="Order", description="In which order the strokes appear (they always cover each other as in the "
                                  "finished painting)", items=_replay_orders(), default="PAINTED")
    replay_mask: PointerProperty(  # type: ignore[valid-type]
        name="Replay Mask", description="For Region First: where this image is bright, strokes appear first",
        type=bpy.types.Image)
    replay_origin: FloatVectorProperty(  # type: ignore[valid-type]
        name="Origin", description="For Outward: the point strokes spread from, as fractions of the painting's "
                                   "width and height from its top left", size=2, min=0.0, max=1.0,
        default=(0.5, 0.5), subtype="XYZ")
    replay_angle: FloatProperty(  # type: ignore[valid-type]
        name="Direction", description="For Along a Direction: 0° sweeps left to right, 90° top to bottom",
        default=0.0, subtype="ANGLE")
    anim_start: IntProperty(  # type: ignore[valid-type]
        name="Start Frame", description="Frame at which the replay starts", default=1)
    anim_duration: IntProperty(  # type: ignore[valid-type]
        name="Duration", description="Length of the replay in frames, the hold included", default=250, min=1)
    replay_ease: EnumProperty(  # type: ignore[valid-type]
        name="Ease", description="The pace of the replay over its duration",
        items=[(key, label, text) for key, (label, text) in gp_data.EASES.items()], default="LINEAR")
    replay_hold: IntProperty(  # type: ignore[valid-type]
        name="Hold", description="Frames at the end of the duration on which the finished painting holds",
        default=0, min=0)
    keyframe_every: IntProperty(  # type: ignore[valid-type]
        name="Strokes per Step", description="In Keyframes mode, strokes that appear on each keyframe",
        default=10, min=1)

    # --- refine ----------------------------------------------------------------------
    refine_strokes: IntProperty(  # type: ignore[valid-type]
        name="Refine Strokes", description="Strokes to add when refining a painting",
        **_range(opts.PaintOptions, "strokes", default=200))
    refine_levels: IntProperty(  # type: ignore[valid-type]
        name="Finer Levels", description="Finer levels to add when refining", default=1, min=1, max=6)
    refine_region: EnumProperty(  # type: ignore[valid-type]
        name="Region", description="Which part of the painting Refine repaints",
        items=[("ALL", "Whole Painting", "New strokes wherever the painting is most wrong"),
               ("MASK", "Mask", "New strokes only where the mask image is bright; every other stroke stays"),
               ("SELECTED", "Selected Strokes", "The strokes selected in Edit Mode are painted again, with new "
                                                "strokes around them; every other stroke stays")],
        default="ALL")
    refine_mask: PointerProperty(  # type: ignore[valid-type]
        name="Mask", description="Refine only where this image is bright (it covers the painting edge to edge)",
        type=bpy.types.Image)

    brush: StringProperty(  # type: ignore[valid-type]
        name="Brush", description="Paint with this brush: one that ships (flat, filbert, fan, dry, round) or a "
                                  "picture of its mark (its alpha, or its darkness, is where it leaves paint); "
                                  "empty for the style's own look",
        default="")

    # --- style -----------------------------------------------------------------------
    style_source: EnumProperty(  # type: ignore[valid-type]
        name="Style Source", description="Where the style image comes from",
        items=[("FILE", "Image File", "An image file on disk"),
               ("IMAGE", "Blend Image", "An image already loaded in this blend file")],
        default="FILE")
    style_image_path: StringProperty(  # type: ignore[valid-type]
        name="Style Image", description="Paint in the style of this image (its colors and brush "
                                        "texture); leave empty for no style",
        subtype="FILE_PATH", default="")
    style_image: PointerProperty(  # type: ignore[valid-type]
        name="Style Image", description="Style image from this blend file; none for no style",
        type=bpy.types.Image)
    style_mode: EnumProperty(  # type: ignore[valid-type]
        name="Style Mode", description="What the style may change",
        items=[("color", "Color", "The style changes only colors: stroke shapes follow the reference alone"),
               ("full", "Full", "The style changes colors and stroke shapes")],
        default=opts.PaintOptions.default_of("style_mode"))
    style_weight: FloatProperty(  # type: ignore[valid-type]
        name="Style Weight", description="How strongly the style pulls against the reference image",
        **_range(opts.PaintOptions, "style_weight"))
    style_features: EnumProperty(  # type: ignore[valid-type]
        name="Style Features", description="How the style is measured",
        items=[("offline", "Offline", "A fixed random filter bank: no download, works anywhere"),
               ("vgg16", "VGG-16", "The VGG-16 network as in the paper: a one-time download of "
                                   "about 528 MB into the torch cache")],
        default=opts.PaintOptions.default_of("style_features"))


class NeuralPainterRuntime(bpy.types.PropertyGroup):
    """Progress of the running job, for the panel (not saved meaningfully)."""

    running: BoolProperty(default=False)  # type: ignore[valid-type]
    progress: FloatProperty(name="Progress", default=0.0, min=0.0, max=1.0,  # type: ignore[valid-type]
                            subtype="FACTOR", description="How far the painting run is")
    status: StringProperty(default="")  # type: ignore[valid-type]


CLASSES = (NeuralPainterSettings, NeuralPainterRuntime)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.neural_painter = PointerProperty(type=NeuralPainterSettings)  # type: ignore[attr-defined]
    bpy.types.WindowManager.neural_painter_run = PointerProperty(type=NeuralPainterRuntime)  # type: ignore[attr-defined]


def unregister() -> None:
    del bpy.types.WindowManager.neural_painter_run  # type: ignore[attr-defined]
    del bpy.types.Scene.neural_painter  # type: ignore[attr-defined]
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
