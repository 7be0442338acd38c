"""The painter's Adam is written out (torch.optim.Adam imports torch's compiler, seconds
of every painting); these tests hold it to torch's Adam to the bit and keep the
compiler out of a painting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from core.painters.optimise import ScaledAdam

ROOT = Path(__file__).resolve().parents[2]


def _torch_reference(params: torch.Tensor, column_lr: torch.Tensor, grads: list[torch.Tensor]) -> torch.Tensor:
    """What the painter did before: torch's Adam with lr 1, then each column's share of the step."""
    p = params.clone().requires_grad_(True)
    opt = torch.optim.Adam([p], lr=1.0, betas=(0.9, 0.99), foreach=False)
    for g in grads:
        p.grad = g.clone()
        before = p.detach().clone()
        opt.step()
        with torch.no_grad():
            p.copy_(before + (p - before) * column_lr)
    return p.detach()


def test_same_steps_as_torchs_adam_to_the_bit():
    gen = torch.Generator().manual_seed(3)
    params = torch.rand(40, 12, generator=gen)
    column_lr = torch.rand(12, generator=gen) * 0.1
    grads = [torch.randn(40, 12, generator=gen) * 10 ** (k % 4 - 2) for k in range(25)]
    grads[7][3] = 0.0  # a stroke without gradient for a step
    ours = params.clone().requires_grad_(True)
    opt = ScaledAdam([ours], column_lr)
    for g in grads:
        opt.zero_grad()
        ours.grad = g.clone()
        opt.step()
    assert torch.equal(ours.detach(), _torch_reference(params, column_lr, grads))
    assert not torch.equal(ours.detach(), params)


def test_per_stroke_rates_and_a_frozen_column():
    params = torch.zeros(3, 4, requires_grad=True)
    lr = torch.tensor([[1.0, 0.0, 0.5, 1.0]] * 3)
    lr[2] = 0.0  # a held stroke
    opt = ScaledAdam([params], lr)
    params.grad = torch.ones(3, 4)
    opt.step()
    # Adam's first step is the sign of the gradient, times each rate.
    assert torch.allclose(params.detach()[0], torch.tensor([-1.0, 0.0, -0.5, -1.0]), atol=1e-6)
    assert torch.equal(params.detach()[2], torch.zeros(4))
    opt.zero_grad()
    assert params.grad is None
    opt.step()  # no gradient: nothing moves
    assert torch.allclose(params.detach()[0], torch.tensor([-1.0, 0.0, -0.5, -1.0]), atol=1e-6)


def test_a_painting_does_not_import_torchs_compiler():
    code = ("import sys; from core import PaintOptions, load_image; from core.painters.painter import run; "
            "run(load_image('samples/astronaut.png', max_side=64), PaintOptions(style='tape', strokes=6, size=32)); "
            "print(sorted(m for m in sys.modules if m.startswith(('torch._dynamo', 'sympy'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"
