"""The contact sheet of a `reid-collect` run: OUT/index.html to name tracks from, OUT/index.json
for scripts.

One row per track: its folder name (what names.toml names), lane, when it was seen and its
crops as thumbnails. The page is plain HTML with relative links, so it opens from the Pi over
the LAN (any static file server) or from a copied folder, with no server of ours. A line at the
top says how many of the crops the browser could show: a folder edited after the run shows
fewer. Below the rows, a names.toml to copy, with every track in it.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from edge.errors import ReidError

THUMB_HEIGHT_PX = 96

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>reid-collect: {count} tracks</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em; }}
table {{ border-collapse: collapse; }}
th {{ text-align: left; vertical-align: top; padding: .4em 1em .4em 0; white-space: nowrap; }}
td {{ padding: .4em 0; border-top: 1px solid #ccc; }}
td img {{ height: {thumb}px; margin: 0 2px 2px 0; }}
pre {{ background: #f4f4f4; padding: .6em; }}
</style></head>
<body data-tracks="{count}" data-crops="{crops}">
<h1>{count} tracks from {source}</h1>
<p id="status">{crops} crops</p>
<p>Name a track by its folder name in names.toml (several tracks may share a name,
<code>"skip"</code> leaves staff and strangers out), then
<code>reid-enroll BUNDLE --data {folder} --names names.toml --out NEW_BUNDLE</code>.</p>
<table>
{rows}
</table>
<h2>names.toml</h2>
<pre>{names}</pre>
<script>
window.addEventListener("load", () => {{
  const shown = [...document.images].filter((i) => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.shown = shown;
  document.getElementById("status").textContent =
    `${{shown}} of ${{document.images.length}} crops shown`;
}});
</script>
</body></html>
"""

ROW = """<tr id="{name}"><th>{name}<br>lane {lane}<br>{when}<br>frames {first}&ndash;{last}<br>
{kept} of {boxes} crops</th><td>{images}</td></tr>"""


@dataclass(frozen=True)
class KeptCrop:
    """A crop written for a track: its file in the track's folder, frame and box in it."""

    file: str
    frame: int
    box: list[int]


@dataclass(frozen=True)
class TrackRecord:
    """One written track: its folder, lane (1-based; 0 = no lanes), when and its crop files."""

    name: str
    key: int
    lane: int
    first_frame: int
    last_frame: int
    first_ts: float
    last_ts: float
    boxes: int
    crops: list[KeptCrop]

    def line(self) -> str:
        return (f"{self.name}\tlane {self.lane}\tframes {self.first_frame}-{self.last_frame}"
                f"\t{len(self.crops)} crops")  # fmt: skip


def write_sheet(out: Path, records: list[TrackRecord], source: str) -> Path:
    """Write OUT/index.html and OUT/index.json; returns the page's path."""
    rows = "\n".join(_row(r) for r in records)
    names = "\n".join(f'{r.name} = ""' for r in records)
    crops = sum(len(r.crops) for r in records)
    page = PAGE.format(count=len(records), crops=crops, source=html.escape(source), rows=rows,
                       names=names, folder=html.escape(str(out)),
                       thumb=THUMB_HEIGHT_PX)  # fmt: skip
    index = {"source": source, "written": time.time(), "tracks": [asdict(r) for r in records]}
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "index.json").write_text(json.dumps(index))
        (out / "index.html").write_text(page, encoding="utf-8")
    except OSError as error:
        raise ReidError(f"cannot write the contact sheet in {out}: {error.strerror}") from None
    return out / "index.html"


def read_records(out: Path) -> list[TrackRecord]:
    """The tracks OUT/index.json lists (none when there is no index yet)."""
    path = out / "index.json"
    if not path.is_file():
        return []
    try:
        tracks = json.loads(path.read_text())["tracks"]
        return [TrackRecord(**{**t, "crops": [KeptCrop(**c) for c in t["crops"]]}) for t in tracks]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ReidError(f"{path}: not a contact sheet index ({error})") from None


def _row(record: TrackRecord) -> str:
    images = "".join(
        f'<img src="{record.name}/{c.file}" alt="{record.name} {c.file}" title="frame {c.frame}">'
        for c in record.crops
    )
    start, end = (time.strftime("%H:%M:%S", time.localtime(t)) for t in (record.first_ts,
                                                                       record.last_ts))  # fmt: skip
    when = f"{start}&ndash;{end} ({record.last_ts - record.first_ts:.0f} s)"
    return ROW.format(name=record.name, lane=record.lane, when=when, first=record.first_frame,
                      last=record.last_frame, kept=len(record.crops), boxes=record.boxes,
                      images=images)  # fmt: skip
