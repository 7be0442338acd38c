"""Contracts: what crosses a boundary, defined once (floor 1 of the engine).

Stroke styles (``styles``), the painting options with their limits and defaults
(``options``) and the worker protocol (``protocol``). Nothing here imports torch or
bpy: the Blender add-on reads these modules in Blender's own Python to build its
menus, check its settings and speak to the worker process.
"""
