"""reid-check's short human-readable report: a markdown table (and a latency/cosine figure)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def markdown(metrics: dict[str, Any]) -> str:
    """The figures a reviewer wants at a glance, float32 next to int8."""
    acc, ident = metrics["accuracy"], metrics["identified"]
    lat, inv, size = metrics["latency_ms"], metrics["invoke_ms"], metrics["size_bytes"]
    cos = metrics["cosine"]
    verdict = "PASS" if metrics.get("passed", True) else "FAIL"
    lines = [
        f"# Quantization check: {verdict}",
        "",
        f"Bundle `{metrics['bundle']}`, {metrics['n_crops']} time-split test crops from "
        f"`{metrics['data']}`, runtime `{metrics['runtime']}`, one thread.",
        "",
        "| | float32 | int8 |",
        "| --- | ---: | ---: |",
        f"| accuracy (closed set) | {acc['float32']:.4f} | {acc['int8']:.4f} |",
        f"| identified (open set) | {ident['float32']:.4f} | {ident['int8']:.4f} |",
        f"| latency per crop, ms (median) | {lat['float32']:.3f} | {lat['int8']:.3f} |",
        f"| interpreter only, ms (median) | {inv['float32']:.3f} | {inv['int8']:.3f} |",
        f"| model size, bytes | {size['float32']} | {size['int8']} |",
        "",
        f"- accuracy drop: {metrics['drop']:+.4f} (allowed {metrics.get('max_drop', '-')})",
        f"- embedding cosine float32 vs int8: mean {cos['mean']:.4f}, min {cos['min']:.4f}, "
        f"1st percentile {cos['p1']:.4f}",
        f"- int8/float32 latency: {metrics['latency_ratio']:.2f} per crop, "
        f"{metrics['invoke_ratio']:.2f} interpreter only",
        "",
    ]
    return "\n".join(lines)


def write_report(metrics: dict[str, Any], path: str | Path) -> Path:
    """Write the markdown report (and a PNG beside it when matplotlib is there); returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(metrics), encoding="utf-8")
    try:
        _plot(metrics, path.with_suffix(".png"))
    except ImportError:
        log.info("matplotlib not installed; no figure next to %s", path)
    return path


def _plot(metrics: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
    names = ["float32", "int8"]
    left.bar(names, [metrics["accuracy"][n] for n in names], color=["#4c72b0", "#dd8452"])
    left.set_ylim(0, 1)
    left.set_title("accuracy (time-split test)")
    right.bar(names, [metrics["latency_ms"][n] for n in names], color=["#4c72b0", "#dd8452"])
    right.set_title("ms per crop (1 thread)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
