"""The demo's report: one markdown page with the numbers and the pictures a person wants."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from demo.score import TrackScore

ANNOTATED_FRAMES = 3
EVENT_WINDOW = 25  # an event's box is drawn on frames up to this many frames after it
GREEN, RED = (80, 200, 80), (40, 40, 230)


def annotate_frames(video: Path, events: list[dict], truth: dict, out: Path) -> Path:
    """A strip of frames: truth boxes in green, the daemon's tracks and swimmer IDs in red."""
    shown = sorted({e["frame"] for e in events if e["type"] != "end"})
    picks = [shown[i] for i in np.linspace(0, len(shown) - 1, ANNOTATED_FRAMES).astype(int)]
    capture = cv2.VideoCapture(str(video))
    tiles = []
    for index in picks:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        if not ok:
            continue
        for swimmer in truth["frames"][index]["swimmers"]:
            x, y, w, h = swimmer["box"]
            cv2.rectangle(frame, (x, y), (x + w, y + h), GREEN, 2)
        latest = {
            e["track_id"]: e
            for e in events
            if e["type"] != "end" and index - EVENT_WINDOW <= e["frame"] <= index
        }
        for event in latest.values():
            x, y, w, h = event["box"]
            label = f"#{event['track_id']}: {event['swimmer_id'] or 'unknown'}"
            cv2.rectangle(frame, (x, y), (x + w, y + h), RED, 2)
            cv2.putText(frame, label, (x, max(y - 6, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, RED, 2)
        cv2.putText(frame, f"frame {index}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1, RED, 2)
        tiles.append(cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
    capture.release()
    path = out / "annotated.png"
    if tiles:
        cv2.imwrite(str(path), np.vstack(tiles))
    return path


def write_report(out: Path, events: list[dict], score: TrackScore, check: dict) -> Path:
    truth = json.loads((out / "truth.json").read_text())
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    annotated = annotate_frames(out / "pool.avi", events, truth, out)
    check_md = out / "bundle-check.md"
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
        f"swimmers, {score.right} tracks with the right swimmer ({score.accuracy:.0%})",
        "- green: where the swimmers really are; red: the daemon's tracks and swimmer IDs",
        "",
        f"![annotated frames]({annotated.name})",
        "",
    ]
    report = out / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report
