"""Crops of the tracks that end unknown, kept on the Pi for the next enrolment round.

A swimmer the bundle does not know yet is answered unknown session after session. With
`[unknown_crops] enabled = true` the daemon keeps each such track's crops, chosen as
reid-collect chooses them (track_crops.py), in STATE_DIR/unknown/track_<n>/ with the same
contact sheet, so `reid-enroll --data STATE_DIR/unknown --names names.toml` can enrol them
without anyone filming again. The state directory is the one place the systemd unit lets the
daemon write. The folder is bounded (`max_tracks`, `max_mb`: the oldest tracks go first), and
a failed write (a full card) is a warning: events matter more than pictures, so the daemon goes
on.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from edge.config import UnknownCropsConfig
from edge.enrolment.contact_sheet import TrackRecord, read_records, write_sheet
from edge.enrolment.track_crops import LiveTracks, TrackCrops, write_track
from edge.errors import ReidError
from edge.geometry import PoolGeometry
from edge.tracking.track import TrackChange
from edge.types import Crop, Frame

log = logging.getLogger(__name__)

FOLDER = "unknown"


class UnknownCrops:
    """Candidate crops of every live track; on a track's `end` as unknown, its chosen crops."""

    def __init__(
        self, cfg: UnknownCropsConfig, state_dir: str | Path, pool: PoolGeometry, patience: int
    ) -> None:
        self.cfg, self.patience = cfg, patience
        self.folder = Path(state_dir) / FOLDER
        self.live = LiveTracks(pool.lane_of, cfg.per_track)

    def see(self, frame: Frame, crops: Sequence[Crop], keys: Sequence[int]) -> None:
        """One frame's crops, with the tracker's key for each."""
        self.live.see(frame, crops, keys)

    def ended(self, changes: Sequence[TrackChange], frame_index: int) -> None:
        """Keep the tracks that ended unknown; forget tracks that ended named, or that the
        tracker dropped before announcing them (the `end` of a track the tracker let go in
        this frame is among `changes`, so it is kept before the sweep)."""
        for change in changes:
            track = self.live.pop(change.key) if change.type == "end" else None
            if track is not None and change.swimmer_id is None:
                self._keep(track)
        self.live.gone(frame_index, self.patience + 1)

    def _keep(self, track: TrackCrops) -> None:
        chosen = track.chosen(self.cfg.per_track)
        if not chosen:
            return
        try:
            records = read_records(self.folder)
            number = max((r.key for r in records), default=0) + 1
            records.append(write_track(self.folder, number, track, chosen))
            records = self._bounded(records)
            write_sheet(self.folder, records, "tracks that ended unknown")
        except ReidError as error:
            log.warning("unknown crops not kept: %s", error)
            return
        log.info("kept %d crops of an unknown track in %s", len(chosen), records[-1].name)

    def _bounded(self, records: list[TrackRecord]) -> list[TrackRecord]:
        """Delete the oldest tracks' folders until both bounds hold (the newest always stays)."""
        sizes = [_size(self.folder / r.name) for r in records]
        limit = self.cfg.max_mb * 1e6
        while len(records) > 1 and (len(records) > self.cfg.max_tracks or sum(sizes) > limit):
            shutil.rmtree(self.folder / records.pop(0).name, ignore_errors=True)
            sizes.pop(0)
        return records


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*") if p.is_file())
