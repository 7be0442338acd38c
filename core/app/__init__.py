"""Entry points (floor 5): ``python -m core`` (``cli``, ``shot_cli``) and the worker
process the Blender add-on talks to (``worker``). Nothing below imports from here."""
