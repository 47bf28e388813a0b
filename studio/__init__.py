"""The MNIST Studio page, one module per panel; nothing imports it but app.py.

state: every session-state key and the resources all sessions share; streamlit_internals: the two
hooks into Streamlit's internals; draw: the canvas and the predictions; choose: which model answers;
cards: a prediction's details as plain HTML; train: the training panel; watch: the running
training's two fragments; charts: its live loss and accuracy; save: saving a model trained in this
session.
"""
