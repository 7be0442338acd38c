"""Write the preset brushes' pictures: ``python scripts/make_brushes.py [--out brushes]``.

The presets are drawn by ``core.model.brushes`` from their seeds; these PNGs are their
pictures for the Blender panel's thumbnails (and for artists to start their own brush
from): white, the stencil in alpha, rows across the stroke and columns along it, as
``--brush FILE`` reads a picture, so each loads back as the same brush
(tests/core/test_brushes.py checks the committed files against the code).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_presets(out: Path) -> list[Path]:
    import numpy as np
    from PIL import Image

    from core.contracts.brushes import PRESETS
    from core.model.brushes import preset

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PRESETS:
        brush = preset(name)
        alpha = np.frombuffer(brush.stencil, np.uint8).reshape(brush.rows, brush.cols)
        picture = np.dstack([np.full_like(alpha, 255), alpha])
        path = out / f"{name}.png"
        Image.fromarray(picture, "LA").save(path, optimize=True)
        written.append(path)
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "brushes"), help="folder to write NAME.png into (default: brushes/)")
    args = ap.parse_args()
    for path in write_presets(Path(args.out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
