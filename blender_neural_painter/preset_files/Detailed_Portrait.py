import bpy
settings = bpy.context.scene.neural_painter  # type: ignore[union-attr]

settings.style = 'oil'
settings.strokes = 2000
settings.levels_auto = True
settings.levels = 8
settings.size = 768
settings.background = 'mean'
settings.background_color = (1.0, 1.0, 1.0)
settings.renderer = 'analytic'
settings.animation = 'BUILD'
settings.replay_order = 'PAINTED'
settings.anim_duration = 250
settings.replay_ease = 'EASE_IN_OUT'
settings.replay_hold = 24
settings.keyframe_every = 10
