"""Following swimmers from frame to frame and naming each track: one swimmer, one place."""
