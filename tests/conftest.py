import sys
from pathlib import Path

# Tests import the repository's packages (core, blender_neural_painter) from the checkout,
# and helpers shared by the engine's and the add-on's tests (sixth_style) from here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parent))


import pytest  # noqa: E402


@pytest.fixture
def one_thread():
    """Torch on one thread for the test: many small ops run faster, and results do not
    depend on how many cores the machine has."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
