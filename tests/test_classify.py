"""edge.vision.classify reproduces scikit-learn's SVC exactly, and answers "unknown" on weak
evidence."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

import train.openset
import train.svm
from edge.errors import BundleError
from edge.vision.classify import CLASSIFIER_KEYS, SCORE_NEIGHBOURS, Classifier, _votes
from train.svm import export_classifier, fit_classifier, l2_normalize, save_classifier


def _blobs(n_classes: int, seed: int = 0) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Overlapping Gaussian blobs in 16-d: many points sit near the SVM's boundaries."""
    x, y = make_blobs(60 * n_classes, 16, centers=n_classes, cluster_std=4.0, random_state=seed)
    probe, _ = make_blobs(300, 16, centers=n_classes, cluster_std=6.0, random_state=seed + 1)
    return x, [f"s{v}" for v in y], probe


def _embedding_like(n_classes: int, seed: int = 0) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Unit 128-d vectors in tight-ish clusters, like a triplet network's output; probes
    include uniform points on the sphere (unknown swimmers) and points between clusters."""
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.normal(size=(n_classes, 128)))
    y = rng.integers(0, n_classes, size=50 * n_classes)
    x = l2_normalize(centres[y] + 0.08 * rng.normal(size=(len(y), 128)))
    mix = rng.dirichlet(np.ones(n_classes), size=150) @ centres
    probe = np.concatenate([mix, rng.normal(size=(150, 128)), x[:20]])
    return x, [str(v + 1) for v in y], probe


def _fit(make, n_classes, kernel):
    x, y, probe = make(n_classes)
    svc = fit_classifier(x, y, kernel=kernel)
    clf = Classifier.from_arrays(export_classifier(svc, x, y), unknown_threshold=0.5)
    return svc, clf, probe


CASES = [
    (make, n, kernel)
    for make in (_blobs, _embedding_like)
    for n in (2, 7)
    for kernel in ("linear", "rbf")
]


@pytest.mark.parametrize(("make", "n_classes", "kernel"), CASES)
def test_predict_and_decisions_equal_sklearn(make, n_classes, kernel):
    svc, clf, probe = _fit(make, n_classes, kernel)
    # What sklearn sees: the float32 unit rows the device computes (normalising is not exactly
    # idempotent in float32, so both must start from the same raw probes).
    x64 = l2_normalize(probe).astype(np.float64)
    assert clf.predict_ids(probe) == list(svc.predict(x64))
    assert [p.candidate for p in clf.predict(probe)] == list(svc.predict(x64))
    np.testing.assert_allclose(clf.decision_function(probe), svc.decision_function(x64), atol=1e-9)
    svc.decision_function_shape = "ovo"
    ovo = clf.decision_function(probe, shape="ovo")
    np.testing.assert_allclose(ovo, svc.decision_function(x64), atol=1e-9)
    expected_shape = (len(probe),) if n_classes == 2 else (len(probe), 21)
    assert ovo.shape == expected_shape


def test_vote_ties_go_to_the_lowest_class_index_as_in_libsvm():
    # A 3-cycle: 0 beats 1, 1 beats 2, 2 beats 0 -> one vote each, class 0 wins.
    dec = np.array([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]])
    votes = _votes(dec, 3)
    np.testing.assert_array_equal(votes, [[1, 1, 1], [1, 1, 1]])
    assert list(np.argmax(votes, axis=1)) == [0, 0]
    # dec == 0 is a vote for j, as libsvm's `dec_values[p] > 0` test gives.
    np.testing.assert_array_equal(_votes(np.array([[0.0]]), 2), [[0, 1]])


def test_ties_on_real_sklearn_output_are_broken_the_same_way():
    svc, clf, probe = _fit(_embedding_like, 7, "linear")
    votes = _votes(clf.ovo_decision(probe), 7)
    tied = (votes == votes.max(axis=1, keepdims=True)).sum(axis=1) > 1
    assert tied.any(), "the probes should include vote ties"
    assert clf.predict_ids(probe[tied]) == list(
        svc.predict(l2_normalize(probe[tied]).astype(np.float64))
    )


def test_open_set_answers_unknown_for_a_stranger():
    x, y, _ = _embedding_like(5)
    svc = fit_classifier(x, y)
    threshold = train.openset.calibrate(x, y).crop
    clf = Classifier.from_arrays(export_classifier(svc, x, y), unknown_threshold=threshold)
    rng = np.random.default_rng(7)
    strangers = clf.predict(rng.normal(size=(50, 128)))
    assert all(p.swimmer_id is None and p.candidate in clf.classes for p in strangers)
    assert all(-1.0 <= p.score < threshold for p in strangers)
    known = clf.predict(x[:50])
    assert [p.swimmer_id for p in known] == y[:50]
    assert all(threshold <= p.score <= 1.0 + 1e-6 for p in known)


def test_score_is_the_calibrated_score():
    x, y, probe = _embedding_like(4)
    clf = Classifier.from_arrays(export_classifier(fit_classifier(x, y), x, y), 0.0)
    labels = np.asarray(y)
    candidates = clf.predict_ids(probe)
    host = [
        train.openset.identity_similarity(p[None, :], x[labels == c])[0]
        for p, c in zip(probe, candidates, strict=True)
    ]
    np.testing.assert_allclose(clf.scores(probe, candidates), host, atol=1e-5)
    every = clf.similarities(probe)
    for column, identity in enumerate(clf.classes):
        expected = train.openset.identity_similarity(probe, x[labels == identity])
        np.testing.assert_allclose(every[:, column], expected, atol=1e-5)
    assert SCORE_NEIGHBOURS == train.openset.SCORE_NEIGHBOURS
    assert CLASSIFIER_KEYS == train.svm.CLASSIFIER_KEYS


def test_similarities_are_each_swimmers_nearest_gallery_row_with_unused_columns_left_out():
    """The gallery is scored without the columns no row uses (colour bins no swimmer has),
    its rows regrouped by swimmer: the same cosines as the whole gallery, whatever its order."""
    x, y, probe = _embedding_like(4)
    x[:, 5:20] = 0.0  # bins no enrolled swimmer has; the probes have them
    order = np.random.default_rng(3).permutation(len(y))  # swimmers' rows interleaved
    x, labels = l2_normalize(x[order]), np.asarray(y)[order]
    clf = Classifier.from_arrays(export_classifier(fit_classifier(x, list(labels)), x, labels), 0)
    assert clf.scoring.shape == (x.shape[1] - 15, len(x))
    cosines = l2_normalize(probe) @ x.T
    expected = np.stack([cosines[:, labels == c].max(axis=1) for c in clf.classes], axis=1)
    np.testing.assert_allclose(clf.similarities(probe), expected, atol=1e-6)


def test_a_swimmer_without_gallery_rows_scores_minus_one_and_the_others_stay_theirs():
    """A class of the SVM with no gallery rows (none enrolled from the camera) is no one's
    nearest: -1, while the swimmers around it in the grouped gallery keep their own rows."""
    x, y, probe = _embedding_like(4)
    arrays = export_classifier(fit_classifier(x, y), x, y)
    kept = np.asarray(y) != "2"
    arrays = {**arrays, "gallery": x[kept], "gallery_labels": np.asarray(y)[kept]}
    clf = Classifier.from_arrays(arrays, 0.0)
    cosines, labels = l2_normalize(probe) @ x.T, np.asarray(y)
    every = clf.similarities(probe)
    for column, identity in enumerate(clf.classes):
        expected = -1.0 if identity == "2" else cosines[:, labels == identity].max(axis=1)
        np.testing.assert_allclose(every[:, column], expected, atol=1e-6)


def test_load_from_npz_and_refuse_broken_files(tmp_path):
    x, y, _ = _blobs(3)
    arrays = export_classifier(fit_classifier(x, y, kernel="rbf"), x, y)
    path = tmp_path / "classifier.npz"
    save_classifier(path, arrays)
    clf = Classifier.load(path, unknown_threshold=0.3)
    assert clf.classes == ("s0", "s1", "s2") and clf.unknown_threshold == 0.3
    assert clf.predict(np.zeros((0, 16))) == []
    with pytest.raises(BundleError, match="embeddings are 8-d, the classifier was fitted on 16-d"):
        clf.predict(np.ones((2, 8)))
    bad = dict(arrays, intercept=arrays["intercept"][:2])
    np.savez(tmp_path / "bad.npz", **bad)
    with pytest.raises(BundleError, match=r"bad\.npz: intercept has the wrong shape"):
        Classifier.load(tmp_path / "bad.npz", 0.3)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(BundleError, match=r"junk\.npz: not a readable classifier"):
        Classifier.load(tmp_path / "junk.npz", 0.3)
