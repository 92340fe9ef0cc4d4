"""Fit the SVM on embeddings and export it as plain arrays (classifier.npz), never a pickle.

The device has no scikit-learn, so what travels is exactly what libsvm's one-vs-one decision
needs: support vectors, dual coefficients, intercepts, support counts per class, the kernel and
its gamma. `edge.vision.classify.Classifier` rebuilds the decisions from these arrays and is
tested to agree with `SVC.decision_function` and `SVC.predict`. The L2-normalised training
embeddings (the gallery) travel too: enrollment refits from them and the open-set check measures
distances to them.

Fitting happens on float32 values widened to float64, so the support vectors stored as float32
are the very numbers libsvm saw and the device reproduces the decisions bit for bit (up to the
order of floating-point sums).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from sklearn.svm import SVC

from train.errors import TrainError

log = logging.getLogger(__name__)

KERNELS = ("linear", "rbf")
DEFAULT_KERNEL = "linear"
# Measured (bench/open_set.py, 7 leave-one-out folds, 10- and 25-epoch CNNs): C = 1 under-fits a
# swimmer enrolled without retraining (49-64 % of its later frames right); C = 30 gets 74-81 %
# with the others' accuracy within 0.5 point and the usual time-split accuracy unchanged;
# larger C gains no more.
DEFAULT_C = 30.0
# Every array in classifier.npz (edge/vision/classify.py lists the same names; a test checks it).
CLASSIFIER_KEYS = (
    "classes",
    "kernel",
    "gamma",
    "support_vectors",
    "dual_coef",
    "intercept",
    "n_support",
    "gallery",
    "gallery_labels",
)


def l2_normalize(embeddings: np.ndarray) -> np.ndarray:
    """Unit rows as float32; a zero row stays zero instead of becoming NaN."""
    x = np.asarray(embeddings, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, np.float32(1e-12))


def fit_classifier(
    embeddings: np.ndarray, labels: list[str], kernel: str = DEFAULT_KERNEL, C: float = DEFAULT_C
) -> SVC:
    """An SVC on L2-normalised embeddings; labels are swimmer ids (strings)."""
    if kernel not in KERNELS:
        raise TrainError(f"unknown SVM kernel {kernel!r} (valid: {', '.join(KERNELS)})")
    x = l2_normalize(embeddings).astype(np.float64)
    y = np.asarray([str(label) for label in labels])
    if x.ndim != 2 or len(x) != len(y):
        raise TrainError(f"embeddings {x.shape} and {len(y)} labels do not match")
    if len(np.unique(y)) < 2:
        raise TrainError("an SVM needs at least two identities to tell apart")
    svc = SVC(kernel=kernel, C=C, gamma="scale", decision_function_shape="ovr")
    svc.fit(x, y)
    log.info(
        "fitted %s SVC on %d embeddings, %d identities, %d support vectors",
        kernel,
        len(y),
        len(svc.classes_),
        len(svc.support_),
    )
    return svc


def export_classifier(
    svc: SVC, gallery: np.ndarray, gallery_labels: list[str]
) -> dict[str, np.ndarray]:
    """The fitted SVC and its gallery as plain arrays, in the classifier.npz contract layout.

    `dual_coef` and `intercept` are libsvm's own (before scikit-learn flips their sign for two
    classes), so the device computes one formula whatever the number of classes.
    """
    classes = np.asarray([str(c) for c in svc.classes_])
    gamma = float(svc._gamma) if svc.kernel == "rbf" else 0.0
    return {
        "classes": classes,
        "kernel": np.asarray(str(svc.kernel)),
        "gamma": np.asarray(gamma, dtype=np.float64),
        "support_vectors": np.asarray(svc.support_vectors_, dtype=np.float32),
        "dual_coef": np.asarray(svc._dual_coef_, dtype=np.float64),
        "intercept": np.asarray(svc._intercept_, dtype=np.float64),
        "n_support": np.asarray(svc.n_support_, dtype=np.int64),
        "gallery": l2_normalize(gallery),
        "gallery_labels": np.asarray([str(label) for label in gallery_labels]),
    }


def save_classifier(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Write classifier.npz (plain arrays; strings as fixed-width unicode, no object dtype),
    compressed: colour signatures are mostly empty bins (6.5 MB -> 1.2 MB for the real crops)."""
    missing = [key for key in CLASSIFIER_KEYS if key not in arrays]
    if missing:
        raise TrainError(f"classifier arrays lack {', '.join(missing)}")
    plain = {key: np.asarray(arrays[key]) for key in CLASSIFIER_KEYS}
    if any(a.dtype == object for a in plain.values()):
        raise TrainError("classifier arrays must not hold Python objects")
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **plain)


def load_classifier(path: str | Path) -> dict[str, np.ndarray]:
    """Read classifier.npz back (pickles refused); TrainError names a missing file or key."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as error:
        raise TrainError(f"{path}: not a readable classifier.npz ({error})") from error
    missing = [key for key in CLASSIFIER_KEYS if key not in arrays]
    if missing:
        raise TrainError(f"{path}: classifier.npz lacks {', '.join(missing)}")
    return arrays
