import bpy
settings = bpy.context.scene.neural_painter  # type: ignore[union-attr]

settings.style = 'marker'
settings.strokes = 150
settings.levels_auto = True
settings.levels = 4
settings.size = 256
settings.background = 'white'
settings.background_color = (1.0, 1.0, 1.0)
settings.renderer = 'analytic'
settings.animation = 'BUILD'
settings.replay_order = 'PAINTED'
settings.anim_duration = 96
settings.replay_ease = 'EASE_OUT'
settings.replay_hold = 12
settings.keyframe_every = 10
