"""The one-command demo: train, quantize, check, simulate a pool, run the daemon, watch IDs."""
