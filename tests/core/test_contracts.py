"""The contracts everything else leans on (``core.contracts``): the options record, the
worker protocol and the strokes file, read strictly and surviving any input with a
one-line error; and nothing of torch or bpy imported to read them."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.contracts import protocol as wire
from core.contracts.options import PaintOptions, TemporalOptions, Tuning, add_arguments, from_arguments
from core.contracts.styles import STYLES
from core.errors import PainterError
from core.model.strokes import StrokeSet

ROOT = Path(__file__).resolve().parents[2]


# --- options ---------------------------------------------------------------------------------

def test_an_unknown_or_misspelled_option_is_a_one_line_error_not_a_default():
    with pytest.raises(PainterError, match=r"unknown option 'stroke' \(did you mean 'strokes'\?\)") as err:
        PaintOptions.from_dict({"style": "oil", "stroke": 300})
    assert "\n" not in str(err.value)
    with pytest.raises(PainterError, match="unknown tuning setting 'rounds'"):
        PaintOptions.from_dict({"tuning": {"rounds": 3}})
    with pytest.raises(PainterError, match="unknown shot setting 'keeplook'"):
        TemporalOptions.from_dict({"keeplook": 0.3})


def test_options_round_trip_through_a_dict_and_are_frozen():
    o = PaintOptions(style="tape", strokes=120, levels=3, background=(0.25, 0.5, 0.75), tuning=Tuning(round_size=8))
    back = PaintOptions.from_dict(json.loads(json.dumps(o.to_dict())))
    assert back == o and isinstance(back.tuning, Tuning) and back.background == (0.25, 0.5, 0.75)
    with pytest.raises(AttributeError):
        o.strokes = 5  # type: ignore[misc]
    assert o.replace(strokes=5).strokes == 5 and o.strokes == 120


@pytest.mark.parametrize("changes,message", [
    (dict(strokes=0), "--strokes 0 is out of range: use 1 to 20000"),
    (dict(strokes=True), "--strokes must be a whole number"),
    (dict(strokes=2.5), "--strokes must be a whole number"),
    (dict(seed=-1), "--seed -1 is out of range: use 0 to 2147483647"),
    (dict(levels=13), "--levels 13 is out of range: use 1 to 12"),
    (dict(size=5000), "--size 5000 is out of range: use 16 to 4096"),
    (dict(style_weight=float("nan")), "--style-weight must be a number"),
    (dict(min_alpha=0.01), "--min-alpha 0.01 is out of range: use 0.05 to 1"),
    (dict(device="tpu"), "unknown device 'tpu' (--device): use one of auto, cpu, cuda, mps"),
    (dict(style_mode="wild"), "unknown style mode 'wild' (--style-mode)"),
    (dict(background="#12345"), "--background '#12345' is not a colour"),
    (dict(background=(0.5, 0.5)), "is not a colour"),
    (dict(tuning=Tuning(loss="l3")), "tuning loss 'l3' is unknown"),
])
def test_every_limit_is_checked_in_one_place_with_one_line(changes, message):
    with pytest.raises(PainterError) as err:
        PaintOptions(**changes).validate()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_backgrounds_of_every_spelling_are_read_by_one_parser():
    from core.contracts.options import background_colour, parse_background

    assert parse_background("#336699") == pytest.approx((0.2, 0.4, 0.6))
    assert parse_background(" 0.2, 0.4,0.6 ") == parse_background("#336699") == parse_background([0.2, 0.4, 0.6])
    assert parse_background("Mean") == "mean" and background_colour("black") == (0.0, 0.0, 0.0)
    assert background_colour("mean", lambda: (0.1, 0.2, 0.3)) == (0.1, 0.2, 0.3)


def test_command_line_flags_come_from_the_options_with_their_defaults():
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser, PaintOptions)
    helps = {a.dest: a.help for a in parser._actions}
    assert set(helps) - {"help"} == {n for n, s in PaintOptions.settings().items() if s.cli}
    assert "(default 500)" in helps["strokes"] and "(default from --strokes)" in helps["levels"]
    args = parser.parse_args(["--strokes", "40", "--background", "#ff0000", "--levels", "2"])
    o = from_arguments(PaintOptions, args)
    assert (o.strokes, o.levels, o.background, o.size) == (40, 2, "#ff0000", 512)
    with pytest.raises(SystemExit):
        parser.parse_args(["--strokes", "many"])


def test_style_defaults_live_in_the_spec_and_options_can_override_them():
    o = PaintOptions(style="watercolor")
    assert (o.refine_steps, o.refine_scale, o.candidates, o.opacity_floor) == (35, 0.625, 12, 0.3)
    assert PaintOptions(style="oil").opacity_floor == 1.0 and PaintOptions(style="tape").refine_steps == 60
    o = PaintOptions(style="watercolor", refine=3, min_alpha=0.5, tuning=Tuning(candidates=5, refine_scale=1.0))
    assert (o.refine_steps, o.refine_scale, o.candidates, o.opacity_floor) == (3, 1.0, 5, 0.5)


def test_a_style_spec_names_its_column_groups():
    oil, marker = STYLES["oil"], STYLES["marker"]
    assert oil.params[oil.cols.size] == ("w", "h") and oil.params[oil.cols.angle] == "theta"
    assert oil.params[oil.cols.colour_end] == ("r_2", "g_2", "b_2") and oil.params[oil.cols.alpha] == "a"
    assert marker.params[marker.cols.position] == ("x0", "y0", "x1", "y1", "x2", "y2")
    assert marker.params[marker.cols.point(2)] == ("x2", "y2") and marker.cols.angle is None
    assert marker.cols.colour_start == marker.cols.colour_end and marker.x_columns == [0, 2, 4]
    assert [marker.params[i] for i in marker.shape_columns] == ["x0", "y0", "x1", "y1", "x2", "y2", "r0", "r2"]


def test_contracts_import_neither_torch_nor_bpy():
    """The add-on reads them in Blender's Python, which has no torch."""
    code = ("import sys; import core.contracts.protocol, core.contracts.options, core.contracts.styles, "
            "core.contracts.strokes_format, core.model.strokes; "
            "bad = [m for m in ('torch', 'bpy', 'PIL') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


# --- the protocol ---------------------------------------------------------------------------

def _strokes(n: int = 3) -> wire.Strokes:
    s = StrokeSet("marker", 40, 30, np.random.default_rng(0).random((n, 12), dtype=np.float32), [1] * n)
    g = s.geometry()
    return wire.Strokes(s.to_json_dict(), wire.Geometry(g.points, g.radius, g.rgba, g.cap, g.softness, g.textured,
                                                         np.zeros(n, np.float32)))


EVENTS = [
    wire.Hello(2, "3.11.7", "1.26.4", "2.13.0", "cpu", np.ones((2, 3, 4, 4), np.float32), np.arange(5, dtype=np.float32)),
    wire.Hello(2, "3.11.7", "1.26.4"),
    wire.Init(_strokes()), wire.LevelStarted(1, 3, 40), wire.Progress(0.25, 1, 0.5), wire.Progress(0.5, frame=3),
    wire.Level(2, _strokes(2)), wire.RefineStarted(120, 45), wire.Refined(_strokes()),
    wire.ShotStarted(1, 48, 48, 24.0, "clip.mp4"), wire.FrameStarted(5, 5, 48, "continue"),
    wire.Frame(5, 5, 48, 5, _strokes(1)), wire.Note("moved aside"), wire.Done(12.5, strokes=120),
    wire.Done(3.0, frames=4), wire.Cancelled(), wire.Error("a bad image; use another", "input"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[f"{type(e).__name__}{i}" for i, e in enumerate(EVENTS)])
def test_every_event_round_trips_through_its_json_line(event):
    back = wire.decode_event(event.to_json())
    assert type(back) is type(event)
    for f in fields(event):
        a, b = getattr(event, f.name), getattr(back, f.name)
        if isinstance(a, wire.Strokes):
            assert a.strokes == b.strokes
            for name in ("points", "radius", "rgba", "levels"):
                np.testing.assert_array_equal(getattr(a.geometry, name), getattr(b.geometry, name))
        elif isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b, f.name


def test_a_request_round_trips_and_reads_strictly():
    r = wire.Request(engine="painter", image="/tmp/a.png", options=PaintOptions(style="oil", strokes=30),
                     frames=wire.ShotSpec("clip/", "out/", "1-4", to_fps=12.0, temporal=TemporalOptions(keep_look=0.5)),
                     import_=wire.ImportSpec(((1, "f1.json"), (None, "s.json"))), add_levels=2,
                     region=wire.RegionSpec(mask="mask.npy", selected=(0, 3)))
    back = wire.Request.from_json(r.to_json())
    assert back == r and back.frames is not None and back.frames.temporal.keep_look == 0.5
    data = r.to_dict()
    data["option"] = data.pop("options")
    with pytest.raises(wire.ProtocolError, match=r"unknown field 'option' \(did you mean 'options'\?\)"):
        wire.Request.from_dict(data)
    with pytest.raises(PainterError, match="unknown option 'strokez'"):
        wire.Request.from_dict({"options": {"strokez": 4}})
    with pytest.raises(wire.ProtocolError, match="protocol 1 is not spoken"):
        wire.Request.from_dict({"protocol": 1})
    with pytest.raises(wire.ProtocolError, match="not JSON"):
        wire.Request.from_json("{oops")


def test_an_event_with_a_misspelled_or_missing_field_is_refused():
    good = wire.LevelStarted(1, 2, 3).to_dict()
    with pytest.raises(wire.ProtocolError, match="unknown field 'stroke'"):
        wire.decode_event({**{k: v for k, v in good.items() if k != "strokes"}, "stroke": 3})
    with pytest.raises(wire.ProtocolError, match="has no 'strokes'"):
        wire.decode_event({k: v for k, v in good.items() if k != "strokes"})
    with pytest.raises(wire.ProtocolError, match="unknown event 'levle'"):
        wire.decode_event({**good, "event": "levle"})
    with pytest.raises(wire.ProtocolError, match="must be a whole number"):
        wire.decode_event({**good, "level": 1.5})
    bad = _strokes(2).fields()
    bad["geometry"]["points"]["data"] = bad["geometry"]["points"]["data"][:-8]
    with pytest.raises(wire.ProtocolError, match="bytes, its shape"):
        wire.decode_event({"event": "level", "level": 1, **bad})


# --- fuzzing: any input, only one-line errors --------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
                    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=10), kids, max_size=6),
                    max_leaves=30)


def _mutations(base: dict) -> st.SearchStrategy:
    """A valid message with one field dropped, replaced by any JSON value, or added."""
    keys = sorted(base)
    drop = st.sampled_from(keys).map(lambda k: {x: v for x, v in base.items() if x != k})
    swap = st.tuples(st.sampled_from(keys), JSON).map(lambda kv: {**base, kv[0]: kv[1]})
    add = st.tuples(st.text(max_size=8), JSON).map(lambda kv: {**base, kv[0]: kv[1]})
    return drop | swap | add


def _one_line_or_ok(read, value) -> None:
    try:
        read(value)
    except PainterError as exc:
        assert "\n" not in str(exc) and str(exc)


FUZZ = settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
EVENT_DICTS = [json.loads(e.to_json()) for e in EVENTS]


@FUZZ
@given(st.one_of(JSON, *[_mutations(d) for d in EVENT_DICTS]))
def test_the_event_decoder_survives_any_input(data):
    _one_line_or_ok(wire.decode_event, data)


@FUZZ
@given(st.one_of(JSON, _mutations(wire.Request(image="a.png", frames=wire.ShotSpec("i", "o"),
                                                         region=wire.RegionSpec("m.png", (1,))).to_dict()),
                 st.text(max_size=40)))
def test_the_request_reader_survives_any_input(data):
    _one_line_or_ok(wire.Request.from_json if isinstance(data, str) else wire.Request.from_dict, data)


STROKES_FILE = json.loads(json.dumps(StrokeSet("oil", 40, 30, np.full((2, 12), 0.5, np.float32), [1, 2],
                                               ids=np.array([3, 4])).to_json_dict()))


@FUZZ
@given(st.one_of(JSON, _mutations(STROKES_FILE),
                 st.tuples(st.integers(0, 1), st.sampled_from(["params", "level", "id", "order"]), JSON).map(
                     lambda t: {**STROKES_FILE, "strokes": [dict(s, **({t[1]: t[2]} if i == t[0] else {}))
                                                            for i, s in enumerate(STROKES_FILE["strokes"])]})))
def test_the_strokes_file_reader_survives_any_input(data):
    _one_line_or_ok(StrokeSet.from_json_dict, data)
