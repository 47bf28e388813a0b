"""`python -m mnist_demo`: train, evaluate and predict (main), report and calibrate-unlike
(inside), finetune and calibrate (teach), and the progress bar and prediction lines they print
(console). Importing the package loads nothing; the commands load TensorFlow when they run.
"""
