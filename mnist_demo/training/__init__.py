"""The training engine and what it is made of: recipes and their schedules (recipes, schedule,
budget), the fused Adam (optimizer), drawing-like augmentation and handwriting styles (augment,
styles, warp), the engine itself (engine) with its reporter and controls (reporter, control), what
a training gives (result), fine-tuning on a person's digits (finetune) and how long a run will
take (estimate). Importing the package loads nothing; the engine loads TensorFlow.
"""
