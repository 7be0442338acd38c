import bpy
settings = bpy.context.scene.neural_painter  # type: ignore[union-attr]

settings.style = 'tape'
settings.strokes = 300
settings.levels_auto = False
settings.levels = 3
settings.size = 512
settings.background = 'white'
settings.background_color = (1.0, 1.0, 1.0)
settings.renderer = 'analytic'
settings.animation = 'KEYFRAMES'
settings.replay_order = 'LEVEL'
settings.anim_duration = 48
settings.replay_ease = 'LINEAR'
settings.replay_hold = 12
settings.keyframe_every = 10
