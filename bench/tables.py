"""The README's results tables, rendered from bench/results/*.json (nothing typed by hand)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


def _load(results: Path, name: str) -> dict | None:
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _measured_on(data: dict) -> str:
    """Where a benchmark ran: its recorded CPU, or what older runs recorded (no model name)."""
    return (
        data.get("cpu")
        or f"{data.get('machine', 'an unrecorded machine')} (CPU model not recorded)"
    )


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _hundredths(value: float) -> str:
    """A percentage near a goal: 98.96 % shown as 99.0 % would read as 99 % met."""
    return f"{100 * value:.2f} %"


def _costliest(stage_ms: dict[str, float]) -> str:
    """The stages that cost anything, costliest first: `embed 12.6, detect 11.7, ...`."""
    costs = sorted(((ms, stage) for stage, ms in stage_ms.items() if ms >= 0.05), reverse=True)
    return ", ".join(f"{stage} {ms:.1f}" for ms, stage in costs)


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def accuracy(data: dict) -> str:
    splits = data["splits"]
    methods = [m for m in splits["time"] if isinstance(splits["time"][m], dict)]
    rows = []
    for method in methods:
        cells = []
        for split in ("random", "time"):
            figures = splits.get(split, {}).get(method)
            cells.append(
                f"{_pct(figures['accuracy_mean'])} (min {_pct(figures['accuracy_min'])})"
                if figures
                else "not measured"
            )
        rows.append([method, *cells, f"{splits['time'][method]['train_seconds_mean']:.0f} s"])
    seeds = {split: len(splits.get(split, {}).get("seeds", [])) for split in ("random", "time")}
    return (
        "### Accuracy: reference protocol vs time split (per crop; mean over "
        f"{seeds['random']} seed(s) on the random split, {seeds['time']} on the time split)\n\n"
        + _table(
            ["method", "random split (reference protocol)", "time split", "training time"], rows
        )
        + f"\n\nDefault recipe: {_recipe(data['recipe'])}."
        + (
            f" triplet_svm classifies the shipped descriptor: the embedding beside the colour "
            f"signature, colour weight {data['colour_weight']}."
            if "colour_weight" in data
            else ""
        )
        + (" Quick run (a third of the epochs)." if data.get("quick") else "")
        + f" Training times measured on {_measured_on(data.get('host', {}))}."
    )


def _recipe(recipe: dict) -> str:
    return (
        f"{recipe['height']}×{recipe['width']} input, {recipe['loss']} triplet loss, "
        f"{recipe['epochs']} epochs of {recipe['batches_per_epoch']} P×K batches "
        f"(P={recipe['p']}, K={recipe['k']}), flips, ±{recipe['rotate_deg']:.0f}° rotation, "
        f"zoom {recipe['zoom']}, shift {recipe['shift']}, brightness/contrast "
        f"{recipe['brightness']}, no hue change"
    )


def quantization(data: dict) -> str:
    check = data["check"]
    acc, lat, size, cos = (check[k] for k in ("accuracy", "latency_ms", "size_bytes", "cosine"))
    naive = data["variants"].get("int8 whole graph with l2_norm, float io (naive)", {})
    rows = [
        ["accuracy (time-split test crops)", _pct(acc["float32"]), _pct(acc["int8"])],
        ["ms per crop, 1 thread (resize + invoke + normalise)", lat["float32"], lat["int8"]],
        ["ms, interpreter only", check["invoke_ms"]["float32"], check["invoke_ms"]["int8"]],
        ["model size", f"{size['float32'] / 1000:.0f} KB", f"{size['int8'] / 1000:.0f} KB"],
    ]
    lines = [
        "### Quantization: float32 vs the shipped int8 model (`reid-check`)\n",
        _table(["", "float32", "int8"], rows),
        "",
        f"- accuracy drop {100 * check['drop']:.2f} pp; embedding cosine int8 vs float32: mean "
        f"{cos['mean']:.4f}, 1st percentile {cos['p1']:.4f}, min {cos['min']:.4f}",
        f"- int8 / float32 latency per crop {check['latency_ratio']:.2f} "
        f"(interpreter only {check['invoke_ratio']:.2f})",
    ]
    if naive:
        lines.append(
            f"- a naive int8 conversion (whole graph with the L2 normalisation): cosine min "
            f"{naive['cosine_to_float32']['min']:.3f}, accuracy {_pct(naive['accuracy'])}"
        )
    lines += [f"- {finding}" for finding in data.get("findings", [])]
    return "\n".join(lines)


OPEN_SET_COLUMNS = {
    "unknown_rate_left_out": "its crops answered unknown (goal ≥ 90 %)",
    "unknown_rate_known": "known swimmers answered unknown (goal ≤ 2 %)",
    "enrolled_accuracy": "after enrollment: its later frames right (goal ≥ 95 %)",
    "others_accuracy": "others right (goal ≥ 97 %)",
}


def open_set(data: dict) -> str:
    rows = [[f["left_out"], *(_pct(f[key]) for key in OPEN_SET_COLUMNS)] for f in data["folds"]]
    rows.append(["**mean**", *(f"**{_pct(data['summary'][key])}**" for key in OPEN_SET_COLUMNS)])
    text = (
        f"### Open set and enrollment (leave one swimmer out of CNN training), "
        f"colour weight {data.get('colour_weight', 0.0)}\n\n"
        + _table(["left out", *OPEN_SET_COLUMNS.values()], rows)
    )
    if "descriptor" not in data:
        text = text.replace(
            "\n\n",
            "\n\n_Measured before the swimmer-only descriptor (whole crops, bundle schema 1) and "
            "not rerun since: the drift table above holds this descriptor's stranger figures._\n\n",
            1,
        )
    if data.get("note"):
        text += f"\n\n{data['note']}"
    sweep = data.get("colour_weight_sweep")
    if sweep:
        rows = [
            [w, *(_pct(figures[key]) for key in OPEN_SET_COLUMNS)] for w, figures in sweep.items()
        ]
        header = ["colour weight (0: CNN alone, 1: colour alone)", *OPEN_SET_COLUMNS.values()]
        text += "\n\nThe same folds at each colour weight (means):\n\n" + _table(header, rows)
    return text


def pipeline(data: dict) -> str:
    stage = data["stage_ms"]
    order = ["decode", "detect", "crop", "embed", "track", "keep", "publish"]  # edge.stats.STAGES
    rows = [[name, f"{stage[name]:.2f}"] for name in order if name in stage]
    return (
        f"### Daemon pipeline ({data['what']})\n\n"
        + _table(["stage", "ms per frame"], rows)
        + f"\n\n{data['fps']:.1f} frames/s over {data['frames']} frames (goal ≥ 25); detection "
        f"{_pct(data['detect_share'])} of frame time (goal ≤ 25 %); largest stage: "
        f"{data['largest_stage']}; load average during the run {data['load_average']:.1f}; "
        f"measured on {_measured_on(data)}." + _budget(data)
    )


BUDGET_COLUMNS = ["in view", "described", "crops/frame", "embedded/frame", "embed ms",
                  "frame ms", "fps"]  # fmt: skip


def _budget(data: dict) -> str:
    """The embedding budget's rows, when the run measured them."""
    if "budget" not in data:
        return ""
    rows = [[r["in_view"], "every crop" if r["embed_interval"] == 1 else
             f"every {r['embed_interval']}th frame once settled", f"{r['crops_per_frame']:.1f}",
             f"{r['embedded_per_frame']:.1f}", f"{r['embed_ms']:.2f}", f"{r['frame_ms']:.2f}",
             f"{r['fps']:.1f}"] for r in data["budget"]]  # fmt: skip
    answers = "; ".join(
        f"{'every crop' if k == '1' else f'interval {k}'}: {v['right']} of {v['tracks']} tracks"
        for k, v in data["identity_by_interval"].items()
    )
    return (
        "\n\nThe embedding budget (`tracker.embed_interval`; synthetic swimmers, three to a lane "
        "for 24 with `detector.swimmer_width = 0.2`):\n\n"
        + _table(BUDGET_COLUMNS, rows)
        + f"\n\nTracks right on the real crops' video: {answers}."
    )


def soak(data: dict) -> str:
    fps, rss = data["fps"], data["rss_mb"]
    return (
        f"### Soak ({data['minutes']:.0f} minutes, {data['what']})\n\n"
        f"Resident memory {rss['after_warmup']:.1f} MB after warm-up, {rss['end']:.1f} MB at the "
        f"end: growth {data['growth_mb']:+.2f} MB (goal ≤ 5 MB). Frame rate {fps['mean']:.1f} "
        f"frames/s on average (min {fps['min']:.1f}, max {fps['max']:.1f}, coefficient of "
        f"variation {fps['cv']:.2f}); exit code after SIGTERM {data['exit_code']}; measured on "
        f"{_measured_on(data)}."
    )


DRIFT_BIN_COLUMNS = {
    "crop_closed_set": "crops, closed set",
    "crop_right": "crops right (unknown = wrong; goal ≥ 97 %)",
    "crop_unknown": "known crops unknown (goal ≤ 2 %)",
    "track_right": "tracks right, alone (goal ≥ 99 %)",
    "track_unknown": "known tracks unknown",
    "session_track_right": "tracks right, all in the water",
}
STRANGER = {
    "crop_unknown": "its crops unknown",
    "track_unknown_alone": "its tracks unknown, alone",
    "track_unknown_beside_half": "…beside half the others",
    "track_unknown_beside_all": "…beside all the others",
    "known_track_right_beside_all": "the others' tracks right",
}


def drift(data: dict) -> str:
    shipped = data["shipped"]
    bins = data["known"][shipped]["bins"]
    names = ["near", *(["middle"] * (len(bins) - 2)), "**far**"][-len(bins) :]
    rows = [
        [name, n, *(_pct(b[key]) for key in DRIFT_BIN_COLUMNS)]
        for name, n, b in zip(names, data["bin_crops"], bins, strict=True)
    ]
    thresholds = data["known"][shipped]["thresholds"]
    text = (
        f"### Identity over a session (`bench/drift.py`), shipped: colour weight and track "
        f"quantile {shipped}\n\n"
        f"Fitted on {data['protocol']['fit']}; the later frames in bins, nearest first; "
        f"thresholds (crop {thresholds['crop']}, track {thresholds['track']}) calibrated on the "
        "middle bin as reid-train calibrates a bundle's; a track is every run of 15 crops; "
        "the int8 model through the device's code.\n\n"
        + _table(["bin", "crops", *DRIFT_BIN_COLUMNS.values()], rows)
    )
    folds = data.get("folds") or []
    far_all = data["far"]
    if folds:
        rows = [
            [f["left_out"], *(_pct(f["choices"][shipped]["bins"][-1][k]) for k in STRANGER)]
            for f in folds
        ]
        far = far_all[shipped]
        rows.append(["**mean**", *(f"**{_pct(far[f'stranger_{k}'])}**" for k in STRANGER)])
        text += (
            "\n\nA stranger: each swimmer left out of the CNN, the SVM and the gallery in turn; "
            "its farthest bin, in random sessions of one track per swimmer:\n\n"
            + _table(["left out", *STRANGER.values()], rows)
        )
    header = ["colour weight w, track quantile q", "crops right", "known crops unknown"]
    header += ["tracks right, alone", "known tracks unknown"]
    keys = ["crop_right", "crop_unknown", "track_right", "track_unknown"]
    if folds:
        header += ["stranger's tracks unknown, alone", "…beside all the others"]
        keys += ["stranger_track_unknown_alone", "stranger_track_unknown_beside_all"]
    sweep = [[w, *(_pct(far[k]) for k in keys)] for w, far in far_all.items()]
    text += "\n\nThe farthest bin for each choice (where the choice was made):\n\n"
    return text + _table(header, sweep) + "\n\n![drift](bench/results/drift.png)"


def drift_whole_crops(data: dict) -> str:
    """One paragraph: the same protocol for the design before (whole crops)."""
    far, cnn = data["far"][data["shipped"]], data["far"]["w 0.0 q 0.0"]
    return (
        "### The design before, on the same protocol (`bench/drift.py --whole-crops`)\n\n"
        "The CNN and the colour histogram seeing whole crops (water, ropes and all), farthest "
        f"bin: the CNN alone named {_pct(cnn['crop_closed_set'])} of crops and "
        f"{_pct(cnn['track_closed_set'])} of tracks right (closed set); with the whole-crop "
        f"histogram at the shipped weight {_pct(far['crop_closed_set'])} and "
        f"{_pct(far['track_closed_set'])}, and {_pct(far['session_track_right'])} of tracks "
        "with every swimmer in the water."
    )


def pi_check(data: dict) -> str:
    """What `make pi-check` verified on arm64 under emulation (times are not a Pi's)."""
    probes, identify, fallback = data["probes"], data["identify"], data["tflite_runtime"]
    daemon = data["daemon"]
    rows = [
        ["bundle probes, int8 cosine to x86-64 (min / mean)",
         f"{probes['cosine_min']:.4f} / {probes['cosine_mean']:.4f} ({probes['probes']} probes)"],
        ["bundle probes, score difference (max)", f"{probes['score_diff_max']:.4f}"],
        ["reid-identify, same swimmer as x86-64",
         f"{_pct(identify['agreement'])} of {identify['crops']} crops"],
        ["reid-identify, score difference (max)", f"{identify['max_score_diff']:.4f}"],
        [f"{fallback['runtime']} against LiteRT, same swimmer",
         f"{_pct(fallback['agreement'])} (max score difference {fallback['max_score_diff']:.4f})"],
        [f"bundle probes through {fallback['runtime']}: cosine (min), score difference (max)",
         f"{fallback['probes']['cosine_min']:.4f}, {fallback['probes']['score_diff_max']:.4f}"],
        ["reid-edge to the host's Mosquitto: events, named tracks",
         f"{daemon['arm64']['events']} events, {daemon['arm64']['named_tracks']} tracks "
         f"({'the same names' if daemon['same_names'] else 'NOT the same names'} as x86-64)"],
    ]  # fmt: skip
    minutes = sum(data["steps_s"].values()) / 60
    return (
        "### arm64 under emulation (`make pi-check`)\n\n"
        f"{' '.join(data['arm64'])} (Debian Bookworm, qemu-user-static on {data['cpu']}); "
        f"install.sh ran as on a Pi, apt and pip for real; {len(data['failures'])} check(s) "
        f"failed; the whole check took {minutes:.0f} min here, emulated, which says nothing "
        "of a Pi's speed.\n\n" + _table(["check", "result"], rows)
    )


def collect(data: dict) -> str:
    """bench/collect.py: reid-collect's folders against the truth, then the daemon's tracks."""
    got = data["collect"]
    before, after = data["daemon_before_enrolling"], data["daemon_after_enrolling"]
    new, flags = ", ".join(data["new_swimmers"]), " ".join(data["new_swimmers"])
    rows = [
        ["folders per swimmer visit", f"{got['tracks_per_visit']:.2f} ({got['tracks']} folders, "
         f"{got['visits']} visits in {got['frames']} frames)"],
        ["crops showing their folder's swimmer", f"{_pct(got['crops_of_their_swimmer'])} of "
         f"{got['crops']} (worst folder {_pct(got['purity_min'])})"],
        [f"daemon, later video, trained bundle (right: the known named, {new} unknown)",
         f"{before['right']} of {before['tracks']} tracks right ({_pct(before['accuracy'])})"],
        ["daemon, later video, after `reid-enroll --names`",
         f"{after['right']} of {after['tracks']} tracks right ({_pct(after['accuracy'])})"],
    ]  # fmt: skip
    return (
        f"### Enrolling a squad from the camera (`bench/collect.py --new {flags}`)\n\n"
        f"A bundle trained without swimmers {new}; `reid-collect` on a simulated session's start "
        "(every swimmer's earlier real crops, coming and going), the folders named from the "
        "simulator's truth as a person would from the contact sheet, enrolled, then the daemon "
        f"on the session's later crops. On {_measured_on(data)}.\n\n"
        + _table(["step", "result"], rows)
    )


def geometry(data: dict) -> str:
    """bench/geometry.py: a pole camera's view with and without the lane geometry."""
    rows = []
    for key, label in (("with_pool_geometry", "`[pool]` lane lines and water"),
                       ("equal_columns", "`detector.lanes` equal columns")):  # fmt: skip
        got = data[key]
        rows.append([label, _pct(got["recall"]), _pct(got["precision"]), _pct(got["lane_right"]),
                     f"{got['tracks_per_swimmer']:.2f}"])  # fmt: skip
    return (
        "### Lanes in perspective (`bench/geometry.py`)\n\n"
        f"{data['frames']} frames of the real crops' later frames, 8 lanes, filmed from a pole "
        f"(the far end {1 - data['perspective']:.0%} as wide as the near end); detection and "
        f"tracking only, on {_measured_on(data)}.\n\n"
        + _table(["lanes from", "recall", "precision", "in its lane", "tracks per swimmer"], rows)
    )


def _past_start_up(frames: int) -> str:
    """bench/session.py's named right, less each visit's first frames: no track is announced
    before its `settle_crops`-th crop."""
    return f"swimmer-seconds named right, past each visit's first {frames} frames (never named)"


def _by_seed(runs: list[dict]) -> list[list[str]]:
    """The identity goals' rows over bundles trained with other seeds (`--seeds`), each seed's
    figure and the worst: one training's luck is not a figure to judge a goal by."""
    seeds = ", ".join(str(run["seed"]) for run in runs)
    figures = [  # key, name, goal, the worse of two, shown as
        ("tracks_per_visit", "tracks per swimmer-visit", "<= 1.2", max, lambda v: f"{v:.2f}"),
        ("swimmer_seconds_right", "swimmer-seconds named right", ">= 99 %", min, _hundredths),
    ]
    if runs and all("right_past_start_up" in run for run in runs):
        figures.append(("right_past_start_up", _past_start_up(runs[0]["start_up_frames"]), "",
                        min, _hundredths))  # fmt: skip
    return [
        [f"{name}, a bundle per training seed ({seeds})",
         ", ".join(shown(run[key]) for run in runs)
         + f" (worst {shown(worse(run[key] for run in runs))})", goal]
        for key, name, goal, worse, shown in figures
    ] if runs else []  # fmt: skip


def session(data: dict) -> str:
    """bench/session.py: a club session, three to a lane, against the issue's goals."""
    scene, found = data["scene"], data["detection"]
    rows = [
        ["detection recall, IoU >= 0.5", f"{_pct(found['recall'])} (real swimmers "
         f"{_pct(found['recall_real'])}, synthetic {_pct(found['recall_synthetic'])})", ">= 98 %"],
        ["detection precision, IoU >= 0.5", _pct(found["precision"]), ">= 98 %"],
        *([["the boxes the daemon crops (blobs of two cut where its tracks are): recall, "
            "precision, IoU >= 0.5", f"{_pct(cut['recall'])}, {_pct(cut['precision'])}", ""]]
          if (cut := data.get("detection_cropped")) else []),
        ["detection recall and precision, centre on the swimmer's crop",
         f"{_pct(found['recall_on_crop'])}, {_pct(found['precision_on_crop'])}", ""],
        ["tracks per swimmer-visit", f"{data['tracks_per_visit']:.2f} "
         f"({data['tracks_on_swimmers']} tracks on {data['visits']} visits)", "<= 1.2"],
        ["tracks per swimmer-visit, on the swimmer for 1 s or more",
         f"{data['tracks_per_visit_1s']:.2f} ({data['tracks_on_swimmers_1s']} tracks)", ""],
        ["swimmer-seconds with a track on the swimmer", _pct(data["swimmer_seconds_tracked"]),
         ""],
        ["swimmer-seconds named right", f"{_pct(data['swimmer_seconds_right'])} "
         f"({_pct(data['right_while_tracked'])} of those tracked)", ">= 99 %"],
        *([[_past_start_up(data["start_up_frames"]), _hundredths(past), ""]]
          if (past := data.get("right_past_start_up")) else []),
        ["frames per second, one thread", f"{data['fps']:.1f} (ms a frame: "
         f"{_costliest(data['stage_ms'])})", ">= 25"],
        ["reid-collect on the start: folders, crops of their folder's swimmer",
         f"{data['enrolled_from_camera']['folders']}, "
         f"{_pct(data['enrolled_from_camera']['crops_of_their_swimmer'])}", ""],
        *_by_seed(data.get("by_seed", [])),
    ]  # fmt: skip
    trained = data["base_bundle"].startswith("trained")
    base = (f"a bundle trained on the session start's crops of all {scene['swimmers']} "
            "(`--train`)" if trained
            else "the benchmark's bundle of the 7 real swimmers")  # fmt: skip
    glare = ", sun glare drifting over the water" if scene["glare"] else ""
    glare += ("; every crop pasted as it is, its own water, lane rope and floor line a "
              "hard-edged rectangle in the pool (not blended in)"
              if scene.get("hard_edges") else "")  # fmt: skip
    drawn = (f"; another draw of this scene (layout {scene['layout']}: who swims in which lane, "
             "their pace and turns)" if scene["layout"] else "")  # fmt: skip
    synthetic = scene["swimmers"] - scene["real_swimmers"]
    every = data["every_crop_described"]
    flags = f" {data['flags']}" if data["flags"] else ""
    detector, tracker = data["daemon_config"]["detector"], data["daemon_config"]["tracker"]
    settings = ", ".join(f"`detector.{k}` {v:g}" for k, v in detector.items())
    settings += f" and `tracker.rejoin_frames` {tracker['rejoin_frames']}"
    schedule = ("; every crop of every frame described (`tracker.embed_interval` 1), not the "
                "daemon's schedule" if every else "")  # fmt: skip
    return (
        f"### A club session (`bench/session.py{flags}`)\n\n"
        f"{scene['lanes']} lanes, {scene['per_lane']} to a lane circle swimming and passing, "
        f"{scene['glide_s']:g} s unseen after every turn, a pole camera (the far end "
        f"{1 - scene['perspective']:.0%} as wide){glare}{drawn}; {scene['seconds']} s at 1280x720. "
        f"{scene['swimmers']} swimmers, the real crops' {scene['real_swimmers']} and "
        f"{synthetic} synthetic {'one' if synthetic == 1 else 'ones'}, enrolled from a "
        f"{data['enrolled_from_camera']['seconds']} s start of the session "
        f"with `reid-collect` and `reid-enroll --names` into {base}. The daemon with `[pool]` "
        f"geometry, {settings}{schedule}; identity is judged frame by frame. A truth box "
        "is the body the synthetic generator drew, or for a real crop the pixels that stand out "
        f"from its own water (rougher). On {_measured_on(data)}.\n\n"
        + _table(["figure", "measured", "goal (issue 13)"], rows)
    )


RENDERERS: dict[str, Callable[[dict], str]] = {
    "drift": drift,
    "drift_whole_crops": drift_whole_crops,
    "accuracy": accuracy,
    "quantization": quantization,
    "open_set": open_set,
    "pipeline": pipeline,
    "soak": soak,
    "pi_check": pi_check,
    "geometry": geometry,
    "session": session,
    "session_trained": session,
    "session_every_crop": session,
    "session_layout1": session,
    "session_4x2": session,
    "session_hard": session,
    "collect": collect,
    "collect_7_8": collect,
}


def render(results: Path, machine: str) -> str:
    parts = [f"_Machine: {machine}; generated by `bench/run_all.py` from `bench/results/`._"]
    for name, renderer in RENDERERS.items():
        data = _load(results, name)
        parts.append(renderer(data) if data else f"### {name}\n\n(not measured yet)")
    return "\n\n".join(parts)
