"""The demo's report: one markdown page with the numbers and the pictures a person wants."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from demo.score import TrackScore

ANNOTATED_FRAMES = 3
GREEN, RED = (80, 200, 80), (40, 40, 230)


def annotate_frames(video: Path, events: list[dict], truth: dict, out: Path) -> Path:
    """Frames across the video: each swimmer's true box, labelled with what the daemon said.

    The daemon publishes boxes only when something changes, so the label on a frame is the
    identity each live track last announced, drawn on the swimmer in that track's lane.
    """
    count = len(truth["frames"])
    picks = np.linspace(0.15 * count, 0.85 * count, ANNOTATED_FRAMES).astype(int)
    lane_width = truth["width"] / truth["lanes"]
    capture = cv2.VideoCapture(str(video))
    tiles = []
    for index in picks:
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = capture.read()
        if not ok:
            continue
        said = _live_tracks(events, int(index))
        for swimmer in truth["frames"][index]["swimmers"]:
            x, y, w, h = swimmer["box"]
            cv2.rectangle(frame, (x, y), (x + w, y + h), GREEN, 2)
            for track, event in said.items():
                ex, _, ew, _ = event["box"]
                if int((ex + ew / 2) // lane_width) == swimmer["lane"]:
                    label = f"#{track}: {event['swimmer_id'] or 'unknown'}"
                    cv2.putText(
                        frame, label, (x, max(y - 8, 14)), cv2.FONT_HERSHEY_SIMPLEX, 0.7, RED, 2
                    )
        cv2.putText(frame, f"frame {index}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1, RED, 2)
        tiles.append(cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
    capture.release()
    path = out / "annotated.png"
    if tiles:
        cv2.imwrite(str(path), np.vstack(tiles))
    return path


def _live_tracks(events: list[dict], index: int) -> dict[int, dict]:
    """Track id -> its last new/update event at or before `index`, for tracks not yet ended."""
    live: dict[int, dict] = {}
    for event in events:
        if event["frame"] > index:
            continue
        if event["type"] == "end":
            live.pop(event["track_id"], None)
        else:
            live[event["track_id"]] = event
    return live


def write_report(out: Path, events: list[dict], score: TrackScore, check: dict) -> Path:
    truth = json.loads((out / "truth.json").read_text())
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    annotated = annotate_frames(out / "pool.avi", events, truth, out)
    check_md = out / "bundle-check.md"
    strangers = ", ".join(sorted(score.strangers)) or "none"
    lines = [
        "# Swimmer re-identification demo",
        "",
        "## Training (time split: later frames tested)",
        "",
        f"- triplet embedder + SVM accuracy on later frames: {metrics['accuracy']:.1%} "
        f"({metrics['n_test']} crops), trained in {metrics['train_seconds']:.0f} s",
        "",
        "![training curves](run/curves.png)",
        "![confusion matrix](run/confusion.png)",
        "![t-SNE of test embeddings](run/tsne.png)",
        "",
        "## Float32 vs int8",
        "",
        check_md.read_text() if check_md.exists() else f"```\n{json.dumps(check, indent=2)}\n```",
        "![float vs int8](bundle-check.png)",
        "",
        "## The daemon on a simulated pool",
        "",
        f"- {len(events)} events, {len(score.announced)} tracks for {len(score.swimmers)} "
        f"swimmers, {score.right} tracks with the right answer ({score.accuracy:.0%}); "
        f"not in the bundle, so rightly answered unknown: {strangers}",
        "- green: where the swimmers really are (simulator truth); red: the track and swimmer ID "
        "the daemon last announced in that lane",
        "",
        f"![annotated frames]({annotated.name})",
        "",
    ]
    report = out / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report
