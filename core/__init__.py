"""Neural Painter engine: image -> brush strokes (Zou et al., "Stylized Neural Painting").

Pure torch/numpy/pillow; never imports Blender.
"""

from .errors import PainterError
from .strokes import StrokeSet
from .styles import STYLES, Geometry, get_style, to_geometry

__all__ = ["PainterError", "StrokeSet", "STYLES", "Geometry", "get_style", "to_geometry"]
__version__ = "0.1.0"
