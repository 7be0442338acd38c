"""Stand-ins for what the ``bpy`` module has no real one of (it runs without a window):
events, a window manager that records timers, progress and modal handlers, a status
bar, and a layout that records what a ``draw`` method puts in it.

They are strict where it matters: the recording layout fails on a property, operator,
icon or enum value the running Blender does not have, so drawing every panel in every
state checks those names against each Blender version the tests run on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import bpy


@dataclass
class Event:
    type: str
    value: str = "NOTHING"


TIMER = Event("TIMER")
ESC = Event("ESC", "PRESS")
MOUSEMOVE = Event("MOUSEMOVE")


class WindowManager:
    """Records what a modal run asks of the window manager; the add-on's runtime state
    is the real one (``bpy.context.window_manager.neural_painter_run``)."""

    def __init__(self) -> None:
        self.timers: list[object] = []
        self.removed: list[object] = []
        self.handlers: list[Any] = []
        self.progress: list[tuple[str, float]] = []
        self.asked: list[dict[str, Any]] = []
        self.windows: list[Any] = []
        self.neural_painter_run = bpy.context.window_manager.neural_painter_run

    def event_timer_add(self, interval: float, window: Any = None) -> object:
        timer = SimpleNamespace(interval=interval, window=window)
        self.timers.append(timer)
        return timer

    def event_timer_remove(self, timer: object) -> None:
        self.timers.remove(timer)  # ValueError for a timer it never made, or removed twice
        self.removed.append(timer)

    def modal_handler_add(self, op: Any) -> bool:
        self.handlers.append(op)
        return True

    def progress_begin(self, lo: float, hi: float) -> None:
        self.progress.append(("begin", hi))

    def progress_update(self, value: float) -> None:
        self.progress.append(("update", value))

    def progress_end(self) -> None:
        self.progress.append(("end", 0.0))

    @property
    def progress_open(self) -> bool:
        opened = sum(1 for kind, _ in self.progress if kind == "begin")
        return opened > sum(1 for kind, _ in self.progress if kind == "end")


class Workspace:
    def __init__(self) -> None:
        self.status: list[str | None] = []

    def status_text_set(self, text: str | None) -> None:
        self.status.append(text)


class Area:
    """An editor of the screen; a 3D viewport has a window region and a view
    (``region_3d``) only when a test gives it one, else nothing can be framed in it."""

    def __init__(self, kind: str, region: Any = None, view: Any = None) -> None:
        self.type = kind
        self.redraws = 0
        self.regions = [region] if region is not None else []
        self.spaces = SimpleNamespace(active=SimpleNamespace(region_3d=view))

    def tag_redraw(self) -> None:
        self.redraws += 1


def ui_context(**overrides: Any) -> SimpleNamespace:
    """A context as the panel gives an operator: the real scene and view layer, stand-ins
    for the window, window manager, workspace and screen."""
    ctx = SimpleNamespace(scene=bpy.context.scene, view_layer=bpy.context.view_layer,
                          collection=bpy.context.collection, active_object=bpy.context.active_object,
                          window=SimpleNamespace(), window_manager=WindowManager(), workspace=Workspace(),
                          screen=SimpleNamespace(areas=[Area("VIEW_3D"), Area("PROPERTIES")],
                                                 is_animation_playing=False))
    for k, v in overrides.items():
        setattr(ctx, k, v)
    return ctx


def operator(cls: type, engine: str = "random", test_options: str = "") -> Any:
    """An instance of one of the add-on's job operators that Python can make (Blender's
    own operator instances exist only inside an operator call): the same methods, the
    properties as plain attributes, reports recorded."""
    from blender_neural_painter.driver import JobOperator

    methods = {k: v for k, v in vars(cls).items() if callable(v) and not k.startswith("__")}
    stand_in = type(f"StandIn{cls.__name__}", (JobOperator,), methods)
    op = stand_in()
    op.engine, op.test_options, op.allow_download, op.run_modal = engine, test_options, False, False
    op.reports = []
    op.report = lambda kind, message: op.reports.append((set(kind), message))
    return op


# --- the recording layout ------------------------------------------------------------------

def _enum(function: str, parameter: str) -> set[str]:
    return set(bpy.types.UILayout.bl_rna.functions[function].parameters[parameter].enum_items.keys())


class Layout:
    """Records ``draw`` calls as (call, detail) pairs, checking every name it is given."""

    def __init__(self, root: "Layout | None" = None) -> None:
        self.calls: list[tuple[str, Any]] = [] if root is None else root.calls
        #: (property, the text it is drawn with: None for its own name) of every field.
        self.fields: list[tuple[str, str | None]] = [] if root is None else root.fields
        self._root = root or self
        self.enabled = True
        self.active = True
        self.scale_y = 1.0
        self.alignment = "EXPAND"
        self.use_property_split = False if root is None else root.use_property_split
        self.use_property_decorate = True
        self.emboss = "NORMAL"
        self.operator_context = "INVOKE_DEFAULT"

    def _child(self) -> "Layout":
        child = Layout(self._root)
        child.use_property_split = self.use_property_split
        return child

    # containers
    def row(self, **kw: Any) -> "Layout":
        return self._child()

    def column(self, **kw: Any) -> "Layout":
        return self._child()

    def box(self) -> "Layout":
        return self._child()

    def separator(self, **_: Any) -> None:
        self.calls.append(("separator", None))

    # items
    def prop(self, data: Any, name: str, **kw: Any) -> None:
        props = data.bl_rna.properties
        assert name in props, f"{type(data).__name__} has no property {name!r}"
        self._icon(kw.get("icon"))
        self.calls.append(("prop", name))
        self.fields.append((name, kw.get("text")))
        if self.use_property_split:
            self.calls.append(("split", name))

    def operator(self, idname: str, **kw: Any) -> SimpleNamespace:
        module, name = idname.split(".")
        getattr(getattr(bpy.ops, module), name).get_rna_type()  # KeyError: no such operator
        self._icon(kw.get("icon"))
        self.calls.append(("operator", idname))
        return SimpleNamespace()

    def label(self, text: str = "", icon: str = "NONE", **_: Any) -> None:
        self._icon(icon)
        assert "\n" not in text, text
        self.calls.append(("label", text))

    def popover(self, panel: str, **kw: Any) -> None:
        assert hasattr(bpy.types, panel), f"no panel {panel!r}"
        self._icon(kw.get("icon"))
        self.calls.append(("popover", panel))

    def menu(self, menu: str, **kw: Any) -> None:
        assert hasattr(bpy.types, menu), f"no menu {menu!r}"
        self._icon(kw.get("icon"))
        self.calls.append(("menu", menu))

    def progress(self, factor: float = 0.0, type: str = "BAR", text: str = "") -> None:
        assert 0.0 <= factor <= 1.0 and type in _enum("progress", "type"), (factor, type)
        self.calls.append(("progress", text))

    def template_ID(self, data: Any, name: str, open: str = "", **_: Any) -> None:
        self.prop(data, name)
        if open:
            self.operator(open)

    def _icon(self, icon: str | None) -> None:
        if icon and icon != "NONE":
            assert icon in _enum("label", "icon"), f"no icon {icon!r} in this Blender"

    # reading back
    def texts(self, kind: str) -> list[Any]:
        return [detail for call, detail in self.calls if call == kind]


def draw(cls: type, context: Any, method: str = "draw", **attrs: Any) -> Layout:
    """Run ``cls.draw`` (a Panel, Menu or AddonPreferences; or another of its drawing
    methods, such as ``draw_header_preset``) on a recording layout."""
    layout = Layout()
    constants = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
    owner = SimpleNamespace(layout=layout, bl_rna=cls.bl_rna, **constants, **attrs)
    getattr(cls, method)(owner, context)
    return layout
