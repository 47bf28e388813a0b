"""Trainings for a server full of visitors: where a training runs (a child process or a thread:
worker; a Ray actor: cluster), the process kept warm for the next Train (warm), the server's
training slots (slots) and the page's background jobs with their fair line (jobs), all behind one
runner protocol (runner). Importing the package loads nothing; TensorFlow loads in the trainings.
"""
