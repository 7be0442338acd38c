"""Auto detail: where a viewer looks first, found in the picture itself.

Faces, found by the Haar cascades that ship inside OpenCV's own wheel (frontal human
faces, and cat faces: nothing is downloaded), each an ellipse a little larger than the
face's box with a soft edge; plus the picture's edges (where the detail is), fainter.
The result is a detail mask as an artist would paint one: white on what matters.
"""

from __future__ import annotations

import numpy as np

from ..io.video_io import require_cv2

#: Cascades from ``cv2.data.haarcascades`` and how many neighbours each detection needs.
CASCADES = (("haarcascade_frontalface_default.xml", 5), ("haarcascade_frontalcatface_extended.xml", 4))
#: Edges count this much at most (a face counts 1).
EDGE_WEIGHT = 0.5
#: The ellipse around a face, relative to its box: wider to take in hair and chin.
FACE_GROW = (1.3, 1.5)


def find_faces(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) of the faces in ``image`` (H x W x 3 sRGB in 0..1)."""
    cv2 = require_cv2()
    grey = np.ascontiguousarray((np.clip(image, 0, 1) @ np.array([0.299, 0.587, 0.114]) * 255).astype(np.uint8))
    side = min(grey.shape)
    boxes: list[tuple[int, int, int, int]] = []
    for name, neighbours in CASCADES:
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if cascade.empty():
            continue
        found = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=neighbours,
                                         minSize=(max(16, side // 20),) * 2)
        boxes += [tuple(int(v) for v in box) for box in found]
    return boxes


def face_mask(shape: tuple[int, int], boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """[H, W] in 0..1: a soft ellipse around each face."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    mask = np.zeros((h, w), np.float32)
    for x, y, bw, bh in boxes:
        cx, cy = x + bw / 2, y + bh / 2
        rx, ry = bw / 2 * FACE_GROW[0], bh / 2 * FACE_GROW[1]
        r = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
        mask = np.maximum(mask, np.clip((1.2 - r) / 0.4, 0, 1))
    return mask


def edge_mask(image: np.ndarray) -> np.ndarray:
    """[H, W] in 0..1: the picture's edges, blurred into regions and normalised so the
    busiest tenth of the picture reaches 1."""
    cv2 = require_cv2()
    grey = (np.clip(image, 0, 1) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.sqrt(gx * gx + gy * gy)
    sigma = max(1.0, min(grey.shape) / 64)
    magnitude = cv2.GaussianBlur(magnitude, (0, 0), sigma)
    top = float(np.quantile(magnitude, 0.9))
    return np.clip(magnitude / max(top, 1e-6), 0, 1)


def auto_detail(image: np.ndarray) -> np.ndarray:
    """The detail mask of ``image``: its faces, and its edges at ``EDGE_WEIGHT``."""
    faces = face_mask(image.shape[:2], find_faces(image))
    return np.maximum(faces, EDGE_WEIGHT * edge_mask(image))
