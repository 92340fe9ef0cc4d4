"""train.svm: fitting on unit embeddings and the plain-array classifier.npz round trip."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from train.errors import TrainError
from train.svm import (
    CLASSIFIER_KEYS,
    export_classifier,
    fit_classifier,
    l2_normalize,
    load_classifier,
    save_classifier,
)


def _blobs(n_classes: int = 3, n: int = 120, d: int = 16) -> tuple[np.ndarray, list[str]]:
    x, y = make_blobs(n, d, centers=n_classes, random_state=1)
    return x.astype(np.float32), [f"id{v}" for v in y]


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_round_trip_keeps_every_array(tmp_path, kernel):
    x, y = _blobs()
    svc = fit_classifier(x, y, kernel=kernel)
    arrays = export_classifier(svc, x, y)
    path = tmp_path / "classifier.npz"
    save_classifier(path, arrays)
    loaded = load_classifier(path)
    assert set(loaded) == set(CLASSIFIER_KEYS)
    for key in CLASSIFIER_KEYS:
        np.testing.assert_array_equal(loaded[key], arrays[key])
    assert str(loaded["kernel"]) == kernel
    assert list(loaded["classes"]) == ["id0", "id1", "id2"]
    assert loaded["support_vectors"].dtype == np.float32
    assert loaded["dual_coef"].shape == (2, len(svc.support_))
    assert loaded["intercept"].shape == (3,)
    np.testing.assert_allclose(np.linalg.norm(loaded["gallery"], axis=1), 1.0, rtol=1e-5)


def test_npz_holds_no_pickled_objects(tmp_path):
    x, y = _blobs()
    path = tmp_path / "classifier.npz"
    save_classifier(path, export_classifier(fit_classifier(x, y), x, y))
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            header = archive.read(name)[:200]
            assert b"'O'" not in header and b"|O" not in header, name


def test_support_vectors_are_the_float32_values_fitted():
    x, y = _blobs()
    svc = fit_classifier(x, y)
    arrays = export_classifier(svc, x, y)
    np.testing.assert_array_equal(
        arrays["support_vectors"].astype(np.float64), svc.support_vectors_
    )
    assert np.isin(arrays["support_vectors"], l2_normalize(x)).all()


def test_bad_kernel_and_single_identity_are_refused():
    x, y = _blobs()
    with pytest.raises(TrainError, match="valid: linear, rbf"):
        fit_classifier(x, y, kernel="poly")
    with pytest.raises(TrainError, match="two identities"):
        fit_classifier(x, ["a"] * len(x))


def test_load_refuses_missing_keys_and_garbage(tmp_path):
    partial = tmp_path / "partial.npz"
    np.savez(partial, classes=np.array(["a", "b"]))
    with pytest.raises(TrainError, match="lacks"):
        load_classifier(partial)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(TrainError, match="not a readable"):
        load_classifier(garbage)
