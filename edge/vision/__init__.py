"""From a frame to who is in it: detection, crops, the int8 embedder, colour, classifier."""
