"""Painters (floor 4): the coarse-to-fine still painter and its optimiser, the style
loss, and the temporal painter that carries strokes from frame to frame of a shot."""
