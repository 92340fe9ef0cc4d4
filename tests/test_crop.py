"""Crops: the model's portrait aspect, a margin, kept inside the frame, RGB, empty boxes skipped."""

from __future__ import annotations

import numpy as np
import pytest

from edge.types import Box, Detection, Frame
from edge.vision.crop import MARGIN, crop_window, cut_crops

ASPECT = 180 / 280
W, H = 1280, 720


def frame(index: int = 7) -> Frame:
    image = np.zeros((H, W, 3), np.uint8)
    image[..., 0] = 255  # pure blue in BGR
    return Frame(index=index, ts=0.0, image=image)


def contains(outer: Box, inner: Box) -> bool:
    return (
        outer.x <= inner.x
        and outer.y <= inner.y
        and inner.x + inner.w <= outer.x + outer.w
        and inner.y + inner.h <= outer.y + outer.h
    )


@pytest.mark.parametrize("box", [Box(600, 300, 40, 100), Box(600, 300, 100, 40)])
def test_window_has_the_model_aspect_a_margin_and_the_swimmer_centred(box: Box) -> None:
    window = crop_window(box, ASPECT, W, H)
    assert window.w / window.h == pytest.approx(ASPECT, abs=0.01)
    assert window.w >= box.w * (1 + 2 * MARGIN) - 1 and window.h >= box.h * (1 + 2 * MARGIN) - 1
    assert window.center == pytest.approx(box.center, abs=1.0)


def test_window_slides_inside_at_the_frame_edge() -> None:
    box = Box(0, 690, 40, 30)
    window = crop_window(box, ASPECT, W, H)
    assert window.x == 0 and window.y + window.h == H
    assert window.w / window.h == pytest.approx(ASPECT, abs=0.01)
    assert contains(window, box)


def test_window_larger_than_the_frame_is_clipped() -> None:
    box = Box(500, 0, 300, 720)
    window = crop_window(box, ASPECT, W, H)
    assert window.y == 0 and window.h == H
    assert contains(window, box)


def test_cut_crops_are_rgb_and_keep_the_detection_box() -> None:
    detections = [Detection(Box(600, 300, 40, 100)), Detection(Box(10, 10, 30, 60), 0.5)]
    crops = cut_crops(frame(), detections, ASPECT)
    assert [c.box for c in crops] == [d.box for d in detections]
    assert all(c.frame_index == 7 for c in crops)
    for crop in crops:
        height, width, channels = crop.image.shape
        assert channels == 3 and crop.image.dtype == np.uint8
        assert width / height == pytest.approx(ASPECT, abs=0.02)
        assert (crop.image[..., 2] == 255).all() and (crop.image[..., 0] == 0).all()
        assert crop.image.flags["C_CONTIGUOUS"]


def test_empty_and_outside_boxes_give_no_crop() -> None:
    detections = [
        Detection(Box(100, 100, 0, 50)),
        Detection(Box(100, 100, 50, 0)),
        Detection(Box(2000, 100, 40, 100)),
        Detection(Box(-100, -200, 40, 100)),
        Detection(Box(1270, 700, 40, 100)),  # mostly outside: still a crop
    ]
    crops = cut_crops(frame(), detections, ASPECT)
    assert [c.box for c in crops] == [Box(1270, 700, 40, 100)]
    assert crops[0].image.size > 0


def test_aspect_must_be_positive() -> None:
    with pytest.raises(ValueError, match="aspect"):
        cut_crops(frame(), [], 0.0)


def test_with_a_lane_map_a_crop_keeps_only_its_own_lane() -> None:
    """A swimmer's window reaches over the rope into the next lane: the red floats there (and
    the neighbour) become its own lane's water colour; a box on no lane is cut as it is."""
    image = frame().image
    image[:, 640:660] = (0, 0, 255)  # a red rope float line, BGR, in lane 2 and on the boundary
    image[300:400, 590:610] = (0, 255, 255)  # the swimmer's yellow suit, lane 1
    lanes = np.zeros((H, W), np.uint8)
    lanes[:, :640], lanes[:, 650:] = 1, 2
    swimmer, on_rope = Detection(Box(580, 300, 40, 100)), Detection(Box(640, 300, 20, 100))
    plain, kept = cut_crops(Frame(0, 0.0, image), [swimmer, on_rope], ASPECT, lanes)
    red = (255, 0, 0)  # RGB
    assert not (plain.image == red).all(axis=-1).any()
    assert (plain.image == (255, 255, 0)).all(axis=-1).any()  # the suit stays
    assert (plain.image == (0, 0, 255)).all(axis=-1).mean() > 0.5  # the lane's water colour
    assert (kept.image == red).all(axis=-1).any()
    without = cut_crops(Frame(0, 0.0, image), [swimmer], ASPECT)[0]
    assert (without.image == red).all(axis=-1).any()
