import torch

from core.painters.losses import paint_mass, pixel_l1, sinkhorn, sinkhorn_loss


def blob(x: int, size: int = 48) -> torch.Tensor:
    img = torch.ones(size, size, 3)
    img[18:26, x:x + 8] = 0.0
    return img


def test_sinkhorn_grows_with_distance():
    losses = [float(sinkhorn_loss(blob(x), blob(4))) for x in (4, 12, 20, 30)]
    assert losses == sorted(losses)
    assert losses[-1] > 5 * losses[1]


def test_sinkhorn_pulls_a_stroke_towards_its_target_when_l1_cannot():
    """L1 gives no useful direction once shapes don't overlap; OT does."""
    canvas = blob(6).requires_grad_(True)
    sinkhorn_loss(canvas, blob(30)).backward()
    g = canvas.grad.mean(-1)
    # Descent brightens (removes paint at) the blob's trailing edge and darkens (adds
    # paint at) the white just beyond its leading edge: the blob moves towards x=30.
    trailing, ahead = g[18:26, 6:9].sum(), g[18:26, 14:18].sum()
    assert float(trailing) < 0 < float(ahead)


def test_sinkhorn_is_finite_at_tiny_epsilon_and_batched():
    a = paint_mass(torch.rand(3, 32, 32, 3), 16)
    b = paint_mass(torch.rand(3, 32, 32, 3), 16)
    out = sinkhorn(a, b, epsilon=1e-4, iterations=5)
    assert out.shape == (3,)
    assert torch.isfinite(out).all()
    batched = sinkhorn_loss(torch.stack([blob(4), blob(20)]), blob(4))
    assert batched.shape == (2,)
    assert float(batched[0]) < float(batched[1])


def test_paint_mass_sums_to_one():
    m = paint_mass(torch.rand(2, 40, 30, 3), 24)
    assert torch.allclose(m.sum(dim=(1, 2)), torch.ones(2))


def test_pixel_l1():
    assert float(pixel_l1(torch.zeros(4, 4, 3), torch.full((4, 4, 3), 0.25))) == 0.25
