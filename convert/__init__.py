"""Host side: int8 quantization, the quantization check, bundle writing and enrollment.

May import train (to read data) and edge (the bundle format and the very inference code the
Pi runs, so every accuracy figure measures what the device does).
"""
