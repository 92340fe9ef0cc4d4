"""names.toml: which swimmer each collected track folder is, for `reid-enroll --names`.

Crops collected from the pool camera come as one folder per track, DIR/track_<n>/. A person
names them here rather than renaming folders: `track_0007 = "anna"`, several tracks to one
swimmer, `"skip"` for staff and strangers. A track folder named nowhere is left out (and said
so), never enrolled under its folder name.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from edge.errors import ReidError

SKIP = "skip"
TRACK_FOLDER = re.compile(r"track_\d+")


def read_names(path: Path, data: Path) -> dict[str, str | None]:
    """Folder name -> swimmer id (None: skip); each mistake is a one-line `ReidError`."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ReidError(f"{path}: cannot read ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        twice = " (a track named twice?)" if "overwrite" in str(error) else ""
        raise ReidError(f"{path}: not valid TOML{twice}: {error}") from None
    folders = {p.name for p in data.iterdir() if p.is_dir()} if data.is_dir() else set()
    names: dict[str, str | None] = {}
    for track, name in raw.items():
        if not isinstance(name, str) or not name.strip():
            raise ReidError(f'{path}: {track} = {name!r}: give a swimmer\'s name or "{SKIP}"')
        if track not in folders:
            raise ReidError(f"{path}: {track} names no folder in {data}")
        names[track] = None if name.strip() == SKIP else name.strip()
    return names


def identity_of(folder: str, names: dict[str, str | None] | None) -> str | None:
    """Whose crops a folder holds: its names.toml entry, else its own name, except that an
    unnamed `track_<n>` folder is nobody yet (None)."""
    if names is not None and folder in names:
        return names[folder]
    return None if TRACK_FOLDER.fullmatch(folder) else folder
