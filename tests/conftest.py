import sys
from pathlib import Path

# Tests import the repository's packages (core, blender_neural_painter) from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
