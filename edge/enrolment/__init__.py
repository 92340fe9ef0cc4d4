"""Crops kept for enrolment at the pool: reid-collect's folders and contact sheet, and the
daemon's crops of tracks that end unknown."""
