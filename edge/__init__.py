"""Device side: everything a poolside Pi runs. Imports no TensorFlow, Keras or scikit-learn."""
