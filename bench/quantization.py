"""Quantization on the real crops: the shipped int8 model against float32, and why it is built so.

    python bench/quantization.py [--run RUN] [--data DIR] [--out JSON] [--runs N]

1. `reid-convert`'s own path (convert.build.convert_run) on RUN and DIR: the check's figures
   (accuracy drop on the time-split test crops, embedding cosine, latency, sizes).
2. Graph variants, the decision: int8 of the whole model (with the "l2_norm" layer) against int8
   cut at "embedding" with numpy normalisation; float vs uint8 vs int8 input; dynamic-range;
   the shipped model (first convolution float, the rest int8).
3. Which layer's int8 error matters: each convolution kept float in turn (selective quantization).
4. Where the time goes: the graph cut after each layer, float32 and full int8, timed with and
   without the XNNPACK delegate; each layer's cost is the difference between successive cuts.
All timings: one thread, this process, interleaved, median of N runs (machine load recorded).
Without --run, a RUN is trained first with the default recipe (about a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from machine import cpu_name

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402

from convert.build import convert_run, read_run, representative_images  # noqa: E402
from convert.check import cosine_stats, median_ms, test_crops  # noqa: E402
from convert.quantize import EMBEDDING_LAYER, quiet_convert, to_float32, to_int8  # noqa: E402
from edge.vision.classify import Classifier  # noqa: E402
from edge.vision.colour import describe, flatten_water  # noqa: E402
from edge.vision.preprocess import dequantize, l2_normalize, quantize, resize_crop  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "swimmers"
DEFAULT_OUT = REPO / "bench" / "results" / "quantization.json"
RESOLVERS = {
    "xnnpack": OpResolverType.AUTO,
    "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
}


def tflite(model: tf.keras.Model, calibration: np.ndarray | None, io_types=(None, None)) -> bytes:
    """float32 when `calibration` is None, else full-integer int8 with the given I/O types."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if calibration is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [x[None].astype(np.float32)] for x in calibration
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if io_types[0] is not None:
            converter.inference_input_type, converter.inference_output_type = io_types
    return quiet_convert(converter.convert)


def dynamic_range(model: tf.keras.Model) -> bytes:
    """int8 weights, activations quantized on the fly (no calibration)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return quiet_convert(converter.convert)


def keep_float(model: tf.keras.Model, calibration: np.ndarray, float_model: bytes, conv: int):
    """int8 except the `conv`-th CONV_2D (0-based), via TFLite's selective quantization."""
    it = Interpreter(model_content=float_model)
    names = {t["index"]: t["name"] for t in it.get_tensor_details()}
    convs = [names[o["outputs"][0]] for o in it._get_ops_details() if o["op_name"] == "CONV_2D"]
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    data = lambda: ([x[None].astype(np.float32)] for x in calibration)  # noqa: E731
    converter.representative_dataset = data
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
        tf.lite.OpsSet.TFLITE_BUILTINS,
    ]
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=[convs[conv]])
    return quiet_convert(
        lambda: tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=data, debug_options=options
        ).get_nondebug_quantized_model()
    )


class Runner:
    """One interpreter on batch-1 input, any I/O type, for timing and for embeddings."""

    def __init__(self, content: bytes, resolver=OpResolverType.AUTO) -> None:
        self.it = Interpreter(
            model_content=content, num_threads=1, experimental_op_resolver_type=resolver
        )
        self.it.allocate_tensors()
        self.inp, self.out = self.it.get_input_details()[0], self.it.get_output_details()[0]

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        self.it.set_tensor(
            self.inp["index"], quantize(pixels, *self.inp["quantization"], self.inp["dtype"])
        )
        self.it.invoke()
        return dequantize(self.it.get_tensor(self.out["index"]), *self.out["quantization"])

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        return l2_normalize(np.concatenate([self(p[None]).reshape(1, -1) for p in pixels]))


def variants_study(model, calibration, pixels, labels, classify, runs) -> dict:
    """Accuracy, cosine to float32 and latency of each graph/I-O choice."""
    cut = tf.keras.Model(model.inputs, model.get_layer(EMBEDDING_LAYER).output)
    float32 = to_float32(cut)
    builds = {
        "float32": float32,
        "int8 whole graph with l2_norm, float io (naive)": tflite(model, calibration),
        "int8 cut at embedding, float io": tflite(cut, calibration),
        "int8 cut at embedding, uint8 in / int8 out": tflite(cut, calibration, (tf.uint8, tf.int8)),
        "int8 cut at embedding, int8 in / int8 out": tflite(cut, calibration, (tf.int8, tf.int8)),
        "dynamic range (int8 weights, float io)": dynamic_range(cut),
        "int8 cut at embedding, first conv float (shipped)": to_int8(cut, calibration, float32),
    }
    runners = {name: Runner(content) for name, content in builds.items()}
    reference = runners["float32"].embed(pixels)
    timed = {f"{n}|{r}": Runner(c, res) for n, c in builds.items() for r, res in RESOLVERS.items()}
    n = len(pixels)
    ms = median_ms({k: (lambda i, r=r: r(pixels[i % n][None])) for k, r in timed.items()}, runs)
    study = {}
    for name, runner in runners.items():
        emb = runner.embed(pixels)
        predictions = classify(emb)
        study[name] = {
            "size_bytes": len(builds[name]),
            "accuracy": round(
                float(
                    np.mean([p.candidate == y for p, y in zip(predictions, labels, strict=True)])
                ),
                6,
            ),
            "cosine_to_float32": cosine_stats(reference, emb),
            "invoke_ms": {r: ms[f"{name}|{r}"] for r in RESOLVERS},
            "ops": sorted({op["op_name"] for op in runner.it._get_ops_details()}),
        }
    return study


def selective_study(model, calibration, pixels, labels, classify) -> dict:
    """Which layer's int8 error matters: keep one convolution float at a time."""
    cut = tf.keras.Model(model.inputs, model.get_layer(EMBEDDING_LAYER).output)
    float32 = to_float32(cut)
    reference = Runner(float32).embed(pixels)
    n_convs = sum(1 for layer in model.layers if layer.name.startswith("conv"))
    study = {}
    for conv in range(n_convs):
        runner = Runner(keep_float(cut, calibration, float32, conv))
        emb = runner.embed(pixels)
        predictions = classify(emb)
        hits = [p.candidate == y for p, y in zip(predictions, labels, strict=True)]
        study[f"conv{conv + 1} float, rest int8"] = {
            "accuracy": round(float(np.mean(hits)), 6),
            "cosine_to_float32": cosine_stats(reference, emb),
        }
    return study


def layer_costs(model, calibration, pixels, runs) -> list[dict]:
    """Cumulative and per-layer invoke time of the graph cut after each layer."""
    # Cut after each fused conv block (conv+bn+relu), each pool, the pooling and the embedding.
    names = [
        layer.name
        for layer in model.layers
        if layer.name.startswith(("relu", "pool", "gap", EMBEDDING_LAYER))
    ]
    calls, order = {}, []
    for name in names:
        sub = tf.keras.Model(model.inputs, model.get_layer(name).output)
        for kind, content in (
            ("float32", tflite(sub, None)),
            ("int8", tflite(sub, calibration, (tf.uint8, tf.int8))),
        ):
            for r, res in RESOLVERS.items():
                runner = Runner(content, res)
                calls[f"{name}|{kind}|{r}"] = lambda i, runner=runner: runner(
                    pixels[i % len(pixels)][None]
                )
        order.append(name)
    ms = median_ms(calls, runs)
    rows, previous = [], {}
    for name in order:
        row = {"layer_up_to": name}
        for kind in ("float32", "int8"):
            for r in RESOLVERS:
                key = f"{kind}_{r}"
                total = ms[f"{name}|{kind}|{r}"]
                row[f"{key}_cumulative_ms"] = total
                row[f"{key}_layer_ms"] = round(total - previous.get(key, 0.0), 4)
                previous[key] = total
        rows.append(row)
    return rows


def findings(check, study, selective, layers, resize_ms) -> list[str]:
    """The measurements above in sentences (computed, so they cannot go stale)."""
    first = layers[0]
    int8_total = sum(row["int8_xnnpack_layer_ms"] for row in layers)
    rest_f = sum(row["float32_xnnpack_layer_ms"] for row in layers[1:])
    rest_q = sum(row["int8_xnnpack_layer_ms"] for row in layers[1:])
    best = max(selective, key=lambda k: selective[k]["cosine_to_float32"]["p1"])
    naive = study["int8 whole graph with l2_norm, float io (naive)"]
    full = study["int8 cut at embedding, uint8 in / int8 out"]
    return [
        f"first conv block (3 input channels): int8 {first['int8_xnnpack_layer_ms']:.3f} ms vs "
        f"float32 {first['float32_xnnpack_layer_ms']:.3f} ms, "
        f"{first['int8_xnnpack_layer_ms'] / max(int8_total, 1e-9):.0%} of the int8 invoke; "
        f"the other layers together: int8 {rest_q:.3f} ms vs float32 {rest_f:.3f} ms",
        f"keeping one convolution float, {best} gives the best cosine 1st percentile "
        f"({selective[best]['cosine_to_float32']['p1']:.4f}; fully int8: "
        f"{full['cosine_to_float32']['p1']:.4f})",
        f"the whole graph with l2_norm adds ops {sorted(set(naive['ops']) - set(full['ops']))} "
        f"outside the int8 graph; its min cosine {naive['cosine_to_float32']['min']:.4f}",
        f"per-crop latency includes the INTER_AREA resize ({resize_ms:.3f} ms), the same for both "
        f"models: per crop int8/float32 = {check['latency_ratio']:.2f}, interpreter only "
        f"{check['invoke_ratio']:.2f}",
    ]


def ensure_run(run: Path | None, data: Path, workdir: Path) -> Path:
    if run is not None:
        return run
    from train.fit import Recipe
    from train.run import train_run

    train_run(data, workdir / "run", Recipe(), progress=False)
    return workdir / "run"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        run = ensure_run(args.run, args.data, Path(tmp))
        check = convert_run(run, args.data, Path(tmp) / "bundle")
        info = read_run(run)
        model = tf.keras.models.load_model(run / "embedder.keras", compile=False)
        calibration = representative_images(args.data, info.height, info.width)
        crops, labels = test_crops(args.data)
        pixels = flatten_water(np.stack([resize_crop(c, info.height, info.width) for c in crops]))
        classifier = Classifier.load(run / "classifier.npz", info.unknown_threshold)

        def classify(embeddings: np.ndarray) -> list:
            return classifier.predict(describe(embeddings, pixels, info.colour_weight))

        study = variants_study(model, calibration, pixels, labels, classify, args.runs)
        selective = selective_study(model, calibration, pixels, labels, classify)
        layers = layer_costs(model, calibration, pixels, args.runs)
        n = len(crops)
        resize = lambda i: resize_crop(crops[i % n], info.height, info.width)  # noqa: E731
        resize_ms = median_ms({"resize": resize}, args.runs)["resize"]
    result = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {
            "machine": platform.machine(),
            "cpu": cpu_name(),
            "cpus": os.cpu_count(),
            "load_avg": os.getloadavg(),
        },
        "run": str(run),
        "data": str(args.data),
        "input": [info.height, info.width],
        "tensorflow": tf.__version__,
        "timing": f"1 thread, interleaved, median of {args.runs}",
        "check": check,
        "targets": {
            "drop_le_0.005": check["drop"] <= 0.005,
            "cosine_mean_ge_0.99": check["cosine"]["mean"] >= 0.99,
            "cosine_p1_ge_0.95": check["cosine"]["p1"] >= 0.95,
            "int8_latency_le_0.8x_float32": check["latency_ratio"] <= 0.8,
            "int8_le_250KB": check["size_bytes"]["int8"] <= 250 * 1024,
        },
        "variants": study,
        "one_layer_float": selective,
        "layers": layers,
        "resize_ms": resize_ms,
        "findings": findings(check, study, selective, layers, resize_ms),
        "seconds": round(time.time() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("targets", "seconds")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
