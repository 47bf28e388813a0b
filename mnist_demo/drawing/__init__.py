"""From a person's drawing to a network's input: a canvas export checked before it is decoded
(canvas), any drawing or picture prepared the way MNIST was made (preprocess), and whether a
drawing looks like a digit at all (unlike). Importing the package loads nothing.
"""
