"""The strokes JSON file format's name and version (``core.model.strokes`` reads and
writes it; docs/ENGINE.md documents it). Here, torch-free, because the add-on writes the
canvas of a painting it hands back to the engine (Refine, Restyle) in this format too."""

SCHEMA = "neural-painter/strokes"
SCHEMA_VERSION = 1


def empty_painting(style: str, width: int, height: int, background: tuple[float, float, float] | list[float]) -> dict:
    """A painting with a canvas and no strokes yet, as a strokes JSON object."""
    return {"schema": SCHEMA, "version": SCHEMA_VERSION, "style": style,
            "canvas": {"width": int(width), "height": int(height), "background": [float(c) for c in background]},
            "meta": {}, "strokes": []}
