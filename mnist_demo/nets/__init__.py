"""The two networks and what is read from them: the seed's CNN and MLP (models), the CNN's conv2
while it trains (conv), prediction and evaluation (inference), every layer's output and why a
digit (inside), temperature scaling (calibrate) and a test report (report). Importing the package
loads nothing; its modules load TensorFlow.
"""
