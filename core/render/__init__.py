"""Renderers (floor 3): the differentiable analytic renderer the optimiser draws
through (``raster``), the reference renderer from geometry (``reference``), the neural
renderer of the paper (``neural``) and the SVG / PNG / animation exports (``export``)."""
