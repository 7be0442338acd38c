import numpy as np
import pytest
import torch

from core.model.colour import linear_to_srgb, srgb_to_linear


@pytest.mark.parametrize("make", [np.array, np.float32, lambda v: torch.tensor([v])])
def test_half_grey_round_trips_for_arrays_scalars_and_tensors(make):
    lin = srgb_to_linear(make(0.5))
    assert float(np.asarray(lin).reshape(-1)[0]) == pytest.approx(0.21404, abs=1e-4)
    assert float(np.asarray(linear_to_srgb(lin)).reshape(-1)[0]) == pytest.approx(0.5, abs=1e-5)


def test_ends_and_dark_segment_are_exact():
    x = np.array([0.0, 0.02, 1.0])
    np.testing.assert_allclose(srgb_to_linear(x), [0.0, 0.02 / 12.92, 1.0], atol=1e-7)
