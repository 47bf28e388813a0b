"""Models and digits on disk: atomic temp-file writes (files), a .keras archive checked unopened
(archive), finding, checking and loading models with safe_mode (store), one-rename saves with the
record inside (saving), and a person's taught digits as an .npz (teach). Importing the package
loads nothing; loading a model loads Keras.
"""
