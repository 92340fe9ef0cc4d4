"""Swimmer ids from descriptors on the device: libsvm's one-vs-one SVM in numpy, plus open set.

A descriptor is the crop's CNN embedding beside its colour signature (edge/vision/colour.py); this
module only sees unit rows and calls them embeddings.

The host fits a scikit-learn `SVC` and exports it as plain arrays (`train/svm.py`); the Pi has
no scikit-learn, so this module redoes libsvm's arithmetic: for every pair of classes (i, j),
i < j, `dec = Σ coef·K(x, sv) + intercept`, a vote for i when dec > 0, otherwise for j, and the
class with most votes wins, ties going to the lowest class index (libsvm's `predict`).
`decision_function` returns what `SVC.decision_function` returns (ovr by default, or ovo).
Tests check both against scikit-learn.

Open set: the SVM always names someone (`candidate`). Its `score` is the cosine similarity
(-1..1, higher = surer) between the crop's descriptor and the candidate's enrolled gallery
rows: the nearest one (`SCORE_NEIGHBOURS`, averaged when > 1); below `unknown_threshold`
the answer is "unknown" (`swimmer_id` None). `train/openset.py` calibrates the threshold on
the same score and explains why this score was chosen. `similarities` gives the same score for
every enrolled swimmer: the daemon names whole tracks with it (edge/tracking/identity.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.errors import BundleError
from edge.types import Prediction
from edge.vision.preprocess import l2_normalize

log = logging.getLogger(__name__)

# The arrays of classifier.npz (train/svm.py writes the same names; a test checks they agree).
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
KERNELS = ("linear", "rbf")
SCORE_NEIGHBOURS = 1  # the same k as train.openset.SCORE_NEIGHBOURS (a test checks it)


def _unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """Unit rows computed in float32, the precision the host fitted on (train.svm)."""
    x = np.asarray(embeddings, dtype=np.float32)
    return l2_normalize(x[None, :] if x.ndim == 1 else x)


@dataclass(frozen=True, eq=False)
class Classifier:
    """An exported SVC and its gallery; see the module docstring for the arithmetic."""

    classes: tuple[str, ...]
    kernel: str
    gamma: float
    support_vectors: np.ndarray = field(repr=False)  # (n_sv, d) float64
    dual_coef: np.ndarray = field(repr=False)  # (n_classes - 1, n_sv), libsvm's signs
    intercept: np.ndarray = field(repr=False)  # (n_pairs,), libsvm's signs (= -rho)
    n_support: np.ndarray = field(repr=False)  # (n_classes,)
    gallery: np.ndarray = field(repr=False)  # (n, d) float32, unit rows
    gallery_labels: np.ndarray = field(repr=False)  # (n,) str
    unknown_threshold: float = 0.0
    # Each class's gallery rows, found once: the daemon scores every live track every frame.
    members: tuple[np.ndarray, ...] = field(init=False, repr=False)
    # The gallery as `similarities` reads it: only the columns some row uses, its rows grouped
    # by class (`members` in turn), transposed. Scoring a mean reads the whole gallery (7200 x
    # 1152 float32, 33 MB, enrolled from the camera on the club session), which on one core
    # costs more than its arithmetic; most of a colour signature's 1024 bins are no enrolled
    # swimmer's colours (there 692 of the 1152 columns are used), and a column of zeros adds
    # nothing to a cosine. There, 5 means on one core: 12.7 -> 4.6 ms (-> 8.7 untransposed).
    scoring: np.ndarray = field(init=False, repr=False)
    scoring_columns: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rows = tuple(np.flatnonzero(self.gallery_labels == c) for c in self.classes)
        object.__setattr__(self, "members", rows)
        columns = np.flatnonzero(np.any(self.gallery != 0, axis=0))
        grouped = self.gallery[np.concatenate([np.zeros(0, int), *rows])]
        object.__setattr__(self, "scoring", np.ascontiguousarray(grouped[:, columns].T))
        object.__setattr__(self, "scoring_columns", columns)

    @classmethod
    def load(cls, npz_path: str | Path, unknown_threshold: float) -> Classifier:
        """Read classifier.npz (no pickles); BundleError names the file and what is wrong."""
        try:
            with np.load(npz_path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError) as error:
            raise BundleError(f"{npz_path}: not a readable classifier ({error})") from error
        missing = [key for key in CLASSIFIER_KEYS if key not in arrays]
        if missing:
            raise BundleError(f"{npz_path}: classifier lacks {', '.join(missing)}")
        return cls.from_arrays(arrays, unknown_threshold, source=str(npz_path))

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], unknown_threshold: float, source: str = "classifier"
    ) -> Classifier:
        """Build from the classifier.npz arrays, checking that their shapes fit together."""
        classes = tuple(str(c) for c in np.asarray(arrays["classes"]).ravel())
        problem = _shape_problem(arrays, len(classes))
        if problem:
            raise BundleError(f"{source}: {problem}")
        return cls(
            classes=classes,
            kernel=str(arrays["kernel"]),
            gamma=float(arrays["gamma"]),
            support_vectors=np.asarray(arrays["support_vectors"], dtype=np.float64),
            dual_coef=np.asarray(arrays["dual_coef"], dtype=np.float64),
            intercept=np.asarray(arrays["intercept"], dtype=np.float64).ravel(),
            n_support=np.asarray(arrays["n_support"], dtype=np.int64).ravel(),
            gallery=_unit_rows(arrays["gallery"]),
            gallery_labels=np.asarray([str(v) for v in np.asarray(arrays["gallery_labels"])]),
            unknown_threshold=float(unknown_threshold),
        )

    def _kernel(self, x: np.ndarray) -> np.ndarray:
        """K(x, sv) in float64, (n, n_sv)."""
        dots = x @ self.support_vectors.T
        if self.kernel == "linear":
            return dots
        sq = (x * x).sum(axis=1)[:, None] + (self.support_vectors**2).sum(axis=1)[None, :]
        return np.exp(-self.gamma * np.maximum(sq - 2.0 * dots, 0.0))

    def ovo_decision(self, embeddings: np.ndarray) -> np.ndarray:
        """libsvm's pairwise decision values (n, n_pairs), pairs (0,1), (0,2), ..., (1,2), ..."""
        x = _unit_rows(embeddings).astype(np.float64)
        if x.shape[1] != self.support_vectors.shape[1]:
            raise BundleError(
                f"embeddings are {x.shape[1]}-d, the classifier was fitted on "
                f"{self.support_vectors.shape[1]}-d ones (model and classifier do not match)"
            )
        k = self._kernel(x)
        starts = np.concatenate([[0], np.cumsum(self.n_support)])
        n = len(self.classes)
        columns = []
        for i in range(n):
            si = slice(starts[i], starts[i + 1])
            for j in range(i + 1, n):
                sj = slice(starts[j], starts[j + 1])
                dec = k[:, si] @ self.dual_coef[j - 1, si] + k[:, sj] @ self.dual_coef[i, sj]
                columns.append(dec)
        return np.stack(columns, axis=1) + self.intercept[None, :]

    def decision_function(self, embeddings: np.ndarray, shape: str = "ovr") -> np.ndarray:
        """`SVC.decision_function`: (n,) for two classes (> 0 favours classes[1]), else ovr
        (n, n_classes) votes plus scaled confidences, or the (n, n_pairs) ovo values."""
        if shape not in ("ovr", "ovo"):
            raise ValueError(f"shape must be 'ovr' or 'ovo', not {shape!r}")
        dec = self.ovo_decision(embeddings)
        if len(self.classes) == 2:
            return -dec[:, 0]
        if shape == "ovo":
            return dec
        return _ovr_from_ovo(dec, len(self.classes))

    def predict_ids(self, embeddings: np.ndarray) -> list[str]:
        """The SVM's answer (closed set), equal to `SVC.predict`: ovo votes, ties to lowest."""
        votes = _votes(self.ovo_decision(embeddings), len(self.classes))
        return [self.classes[i] for i in np.argmax(votes, axis=1)]

    def similarities(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, n_classes), in `classes` order: each row's mean cosine to its `SCORE_NEIGHBOURS`
        nearest gallery rows of each swimmer (-1 for a swimmer with no gallery rows)."""
        all_sims = _unit_rows(embeddings)[:, self.scoring_columns] @ self.scoring
        out = np.full((len(all_sims), len(self.classes)), -1.0, dtype=np.float64)
        if SCORE_NEIGHBOURS == 1 and all_sims.shape[1]:
            # Each swimmer's nearest row, all in one reduction over the grouped columns: a
            # partition per swimmer cost 1 of the 6 ms scoring 5 means against 24 swimmers.
            enrolled = [column for column, rows in enumerate(self.members) if len(rows)]
            starts = np.cumsum([0] + [len(self.members[c]) for c in enrolled[:-1]])
            out[:, enrolled] = np.maximum.reduceat(all_sims, starts, axis=1)
            return out
        start = 0
        for column, rows in enumerate(self.members):
            sims, start = all_sims[:, start : start + len(rows)], start + len(rows)
            if sims.shape[1]:
                k = min(SCORE_NEIGHBOURS, sims.shape[1])
                out[:, column] = (-np.partition(-sims, k - 1, axis=1)[:, :k]).mean(axis=1)
        return out

    def scores(self, embeddings: np.ndarray, candidates: list[str]) -> np.ndarray:
        """Per row: its `similarities` to its candidate."""
        columns = [self.classes.index(c) for c in candidates]
        return self.similarities(embeddings)[np.arange(len(columns)), columns]

    def predict(self, embeddings: np.ndarray) -> list[Prediction]:
        """Open-set answers: the candidate, or None when its score is below the threshold."""
        if len(embeddings) == 0:
            return []
        candidates = self.predict_ids(embeddings)
        scores = self.scores(embeddings, candidates)
        return [
            Prediction(c if s >= self.unknown_threshold else None, c, float(s))
            for c, s in zip(candidates, scores, strict=True)
        ]


def _shape_problem(arrays: dict[str, np.ndarray], n: int) -> str | None:
    """What makes the arrays unusable together, or None; a tampered npz must not crash later."""
    kernel, n_sv = str(arrays["kernel"]), len(arrays["support_vectors"])
    n_support = np.asarray(arrays["n_support"]).ravel()
    if kernel not in KERNELS:
        return f"kernel {kernel!r} is not one of {', '.join(KERNELS)}"
    if n < 2:
        return "fewer than two classes"
    if len(n_support) != n or int(n_support.sum()) != n_sv:
        return "n_support does not match classes and support_vectors"
    if np.shape(arrays["dual_coef"]) != (n - 1, n_sv):
        return "dual_coef has the wrong shape"
    if np.shape(arrays["intercept"]) != (n * (n - 1) // 2,):
        return "intercept has the wrong shape"
    if len(arrays["gallery"]) != len(arrays["gallery_labels"]):
        return "gallery and gallery_labels differ in length"
    return None


def _votes(dec: np.ndarray, n_classes: int) -> np.ndarray:
    """libsvm's vote count per class; `argmax` then breaks ties to the lowest index as it does."""
    votes = np.zeros((len(dec), n_classes), dtype=np.int64)
    k = 0
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            wins_i = dec[:, k] > 0
            votes[:, i] += wins_i
            votes[:, j] += ~wins_i
            k += 1
    return votes


def _ovr_from_ovo(dec: np.ndarray, n_classes: int) -> np.ndarray:
    """scikit-learn's `_ovr_decision_function(dec < 0, -dec, n_classes)`, written out."""
    votes = np.zeros((len(dec), n_classes))
    confidence = np.zeros((len(dec), n_classes))
    k = 0
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            confidence[:, i] += dec[:, k]
            confidence[:, j] -= dec[:, k]
            votes[:, i] += dec[:, k] >= 0
            votes[:, j] += dec[:, k] < 0
            k += 1
    return votes + confidence / (3 * (np.abs(confidence) + 1))
