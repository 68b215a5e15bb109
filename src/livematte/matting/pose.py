"""Full-body person mattes from MediaPipe's pose models (BlazePose GHUM).

Both models come from MediaPipe (``mediapipe==0.10.21``'s wheel) as ONNX files inside the
package (see ``livematte/models/MODELS.md``), run by onnxruntime on the run's device:

- ``pose_detection.onnx``: the person detector, input
  224x224 RGB in [-1, 1] (the frame letterboxed), output 2254 SSD boxes with 4 keypoints
  each (hip centre, a point on the circle around the whole body, the same pair for the
  upper body) and their scores;
- ``pose_landmark_full.onnx``: the landmark model, input a
  256x256 RGB crop in [0, 1] of a rotated square around the body, output 39 landmarks
  (x, y, z, visibility, presence; 33 body points then the hip centre and body-circle point
  the next frame's crop is made from), the pose presence score, and a 256x256 person
  segmentation (logits) aligned to the crop.

The steps follow MediaPipe's own pose graph (``pose_landmark_cpu.pbtxt`` and the graphs it
uses): the detector runs only when no person is tracked; its best box (weighted
non-maximum suppression) gives the region of interest as a square centred on the hip
centre, twice the hip-to-body-circle distance wide, scaled by 1.25 and rotated so that the
body stands upright in the crop. On the next frames the region comes from the previous
frame's two alignment landmarks by the same rule, and the detector runs again when the
presence score falls under 0.5. The segmentation (its logits sharpened, see SHARPNESS) is
warped back into the coordinates of the frame the caller passed (the pipeline's work copy,
at most WORK_LONG_SIDE long), where the refiner takes over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..boxes import shrink_factor, tiles
from .builtin import BuiltinNet

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
# SSD anchor layout of the detector (pose_detection_cpu.pbtxt): one feature map per stride,
# maps of equal stride merged; two anchors per cell per layer (aspect 1 and the
# interpolated scale, both of unit size since fixed_anchor_size is set).
_STRIDES = (8, 16, 32, 32, 32)
_MIN_SCORE = 0.5  # detection score (after the sigmoid)
_NMS_IOU = 0.3
_PRESENCE = 0.5  # pose presence under this: the person is lost, detect again
_ROI_SCALE = 1.25
# People followed at once (each costs one landmark-model run per frame), and how often the
# detector looks for people not yet followed while someone is.
MAX_PEOPLE = 6
# A further person is followed only at this share of the largest one's body size or more:
# the people of a group stand at about one distance, an audience behind the subject is
# smaller (DAVIS dance-twirl: 0.58 of the dancer's size; the group set's people 0.7 or more
# of the largest's in all but three of 54). The same share makes a shot a group (probe).
MIN_RELATIVE_SIZE = 0.65
REDETECT_EVERY = 30
DETECTOR_FILE = "pose_detection.onnx"
LANDMARK_FILE = "pose_landmark_full.onnx"
# The segmentation's logits are scaled by this before the sigmoid: the model's own edge
# ramps over several of its 256 pixels, which over a whole body is 10-20 frame pixels of
# half-transparent old background; doubled, the ramp halves about the same 0.5 level
# (DAVIS MAD 8.0 -> 7.7, dtSSD 7.50 -> 7.58).
SHARPNESS = 2.0
# Longest side of the frame the pose alpha is made at (the caller's work copy, see
# work_size). The crop the landmark model sees is taken from it, so it must not be much
# smaller than the frame: at 512 a small person's crop was an enlarged copy, and the DAVIS
# clips' MAD was 10-15% higher than on the whole 854x480 frame.
WORK_LONG_SIDE = 960


def ssd_anchors(size: int = DETECTOR_SIZE, strides: tuple[int, ...] = _STRIDES) -> np.ndarray:
    """Anchor centres (n, 2) in [0, 1], in the order the detector's outputs come."""
    centres = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        per_cell = 0
        while layer < len(strides) and strides[layer] == stride:
            per_cell += 2
            layer += 1
        cells = math.ceil(size / stride)
        ys, xs = np.mgrid[0:cells, 0:cells]
        grid = np.stack([(xs.ravel() + 0.5) / cells, (ys.ravel() + 0.5) / cells], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


@dataclass
class Roi:
    """A rotated square in frame pixels: centre, side and rotation (radians, clockwise)."""

    cx: float
    cy: float
    side: float
    rotation: float

    @classmethod
    def from_points(cls, centre: np.ndarray, scale_point: np.ndarray) -> Roi:
        """MediaPipe's alignment rule: centred on ``centre``, twice the distance to
        ``scale_point`` wide, times 1.25, turned so the centre-to-scale-point vector points
        up in the crop."""
        dx, dy = float(scale_point[0] - centre[0]), float(scale_point[1] - centre[1])
        rotation = math.pi / 2 - math.atan2(-dy, dx)
        rotation = (rotation + math.pi) % (2 * math.pi) - math.pi
        side = 2.0 * math.hypot(dx, dy) * _ROI_SCALE
        return cls(float(centre[0]), float(centre[1]), side, rotation)

    @property
    def body_size(self) -> float:
        """Diameter of the circle around the whole body, in pixels (the side before 1.25)."""
        return self.side / _ROI_SCALE

    def crop_to_frame(self, crop: int) -> np.ndarray:
        """2x3 affine matrix from a ``crop`` x ``crop`` image's pixels to the frame's
        (OpenCV's convention: pixel centres at whole coordinates)."""
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        unit = self.side / crop
        ax, ay = unit * cos, unit * sin  # the crop's x axis in the frame
        bx, by = -unit * sin, unit * cos  # its y axis
        # Crop pixel u sits at (u + 0.5) / crop - 0.5 of the side from the centre.
        half = 0.5 - crop / 2.0
        tx = self.cx - 0.5 + half * (ax + bx)
        ty = self.cy - 0.5 + half * (ay + by)
        return np.array([[ax, bx, tx], [ay, by, ty]], np.float32)


@dataclass
class PoseResult:
    """One frame's pose: the person's alpha at the frame's size, where the crop lies
    (``coverage``: 1 inside the region the model looked at, 0 outside), the presence score
    and the body size relative to the frame's height (the subject's scale)."""

    alpha: np.ndarray
    coverage: np.ndarray
    presence: float
    roi: Roi
    landmarks: np.ndarray  # (39, 2) in frame pixels
    scale: float


def model_files() -> list[str]:
    """The detector's and the landmark model's files under livematte/models."""
    return [DETECTOR_FILE, LANDMARK_FILE]


# Where each session runs: (device, threads, precision), as the run chose them.
NetOptions = tuple[str, "int | None", str]
CPU_ONE_THREAD: NetOptions = ("auto", 1, "auto")


class PoseDetector:
    """The person detector: frame in, each person's box keypoints (4, 2) in frame pixels and
    score, best first (at most MAX_PEOPLE)."""

    def __init__(self, options: NetOptions = CPU_ONE_THREAD) -> None:
        self._net = BuiltinNet(DETECTOR_FILE, *options)
        self._boxes = self._net.output_index((1, 2254, 12))
        self._scores = self._net.output_index((1, 2254, 1))
        self._anchors = ssd_anchors()
        self._canvas = np.zeros((DETECTOR_SIZE, DETECTOR_SIZE, 3), np.uint8)

    def detect(self, rgb: np.ndarray) -> list[tuple[np.ndarray, float]]:
        height, width = rgb.shape[:2]
        # Letterbox: the whole frame, aspect kept, centred, zero borders.
        scale = DETECTOR_SIZE / max(width, height)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        x0, y0 = (DETECTOR_SIZE - w) // 2, (DETECTOR_SIZE - h) // 2
        self._canvas[:] = 0
        cv2.resize(
            rgb, (w, h), dst=self._canvas[y0 : y0 + h, x0 : x0 + w], interpolation=cv2.INTER_AREA
        )
        tensor = self._net.input
        np.multiply(self._canvas, np.float32(2.0 / 255.0), out=tensor[0], casting="unsafe")
        np.subtract(tensor, np.float32(1.0), out=tensor)
        outputs = self._net.run()
        raw = outputs[self._boxes][0]
        # The graph clips at 100; past 80 the sigmoid is 0 or 1 in float32 anyway.
        logits = np.clip(outputs[self._scores][0, :, 0], -80.0, 80.0)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = np.flatnonzero(scores >= _MIN_SCORE)
        if keep.size == 0:
            return []
        raw, scores, anchors = raw[keep] / DETECTOR_SIZE, scores[keep], self._anchors[keep]
        centres = raw[:, 0:2] + anchors
        sizes = raw[:, 2:4]
        points = raw[:, 4:12].reshape(-1, 4, 2) + anchors[:, None, :]
        # Weighted non-maximum suppression: each cluster of boxes overlapping its best one
        # by IoU > 0.3 becomes one person, keypoints averaged by score.
        lo, hi = centres - sizes / 2, centres + sizes / 2
        areas = np.prod(sizes, axis=1)
        left = np.ones(scores.size, bool)
        found: list[tuple[np.ndarray, float]] = []
        while left.any() and len(found) < MAX_PEOPLE:
            best = int(np.argmax(np.where(left, scores, -1.0)))
            inter = np.prod(
                np.clip(np.minimum(hi, hi[best]) - np.maximum(lo, lo[best]), 0, None), axis=1
            )
            cluster = left & (inter / np.maximum(areas + areas[best] - inter, 1e-9) > _NMS_IOU)
            cluster[best] = True
            weights = scores[cluster] / scores[cluster].sum()
            keypoints = (points[cluster] * weights[:, None, None]).sum(axis=0)
            # Undo the letterbox, to frame pixels.
            keypoints = (keypoints * DETECTOR_SIZE - (x0, y0)) / scale
            found.append((keypoints.astype(np.float32), float(scores[best])))
            left &= ~cluster
        return found


class PoseTracker:
    """Detector when nobody is tracked, then the landmark model on a region that follows the
    person from frame to frame (MediaPipe's pose graph, see the module docstring)."""

    def __init__(self, options: NetOptions = CPU_ONE_THREAD) -> None:
        self.detector = PoseDetector(options)
        self._net = BuiltinNet(LANDMARK_FILE, *options)
        self._landmarks = self._net.output_index((1, 195))
        self._presence = self._net.output_index((1, 1))
        self._segmentation = self._net.output_index((1, LANDMARK_SIZE, LANDMARK_SIZE, 1))
        self._crop = np.empty((LANDMARK_SIZE, LANDMARK_SIZE, 3), np.uint8)
        self._seg = np.empty((LANDMARK_SIZE, LANDMARK_SIZE, 2), np.float32)
        self._seg[:, :, 1] = 1.0  # second channel: where the crop lies, once warped
        self._warped: list[np.ndarray] = []  # one (h, w, 2) buffer per person followed
        self.rois: list[Roi] = []  # the regions to use on the next frame (none: detect)
        self.detections = 0
        self.seen = 0  # people of one size the last probe found
        self.people: list[Roi] = []  # everyone the last probe found
        self._since_detect = 0
        self._size = (0, 0)  # (width, height) of the frame the regions are in
        self._empty_frames = 0  # frames in a row with nobody followed
        self._next_slot = 0  # first warp buffer this frame's results do not hold

    def reset(self) -> None:
        self.rois = []
        self._since_detect = 0

    def probe(self, rgb: np.ndarray, count: bool = False) -> float | None:
        """The subject's scale (body size / frame height) from the detector alone, or None
        when nobody is found: cheap, and it leaves the tracked regions as they are.
        ``count``: also look on the squares across a wide frame and set :attr:`seen` to
        the people found on them all (a shot's first frame: is it a group?)."""
        found = self.detector.detect(rgb)
        people: list[Roi] = []
        for left, top, crop in self._views(rgb, count):
            for keypoints, _ in found if crop is rgb else self.detector.detect(crop):
                roi = Roi.from_points(keypoints[0] + (left, top), keypoints[1] + (left, top))
                if not self._holds(roi, people):
                    people.append(roi)
        self.people = people
        if not people:
            self.seen = 0
            return None
        largest = max(r.body_size for r in people)
        self.seen = sum(r.body_size >= MIN_RELATIVE_SIZE * largest for r in people)
        if not count:  # the detector's best person, as it always was
            return people[0].body_size / rgb.shape[0]
        return largest / rgb.shape[0]  # the largest person found anywhere

    def track(self, rgb: np.ndarray) -> PoseResult | None:
        """The people's poses and alpha on this frame, or None when nobody is found. The
        result's region, landmarks and scale are the largest person's; alpha and coverage
        hold everyone followed."""
        rois = self._rescaled(rgb.shape[1], rgb.shape[0])
        self._since_detect += 1
        if not rois or (len(rois) < MAX_PEOPLE and self._since_detect >= REDETECT_EVERY):
            rois = rois + self._newcomers(rgb, rois)
        results: list[PoseResult] = []
        self.rois = []
        self._next_slot = len(rois)  # buffers from here on are free for look_in
        for slot, roi in enumerate(rois):
            found = self._landmark(rgb, roi, slot)
            if found is None:
                continue
            follow = Roi.from_points(found.landmarks[33], found.landmarks[34])
            if not self._holds(follow, self.rois):  # two regions that met on one person
                results.append(found)
                self.rois.append(follow)
        if not results:
            return None
        self._empty_frames = 0
        largest = max(r.side for r in self.rois)
        kept = [i for i, r in enumerate(self.rois) if r.side >= MIN_RELATIVE_SIZE * largest]
        results, self.rois = [results[i] for i in kept], [self.rois[i] for i in kept]
        main = max(results, key=lambda r: r.roi.side)
        for other in results:
            if other is not main:
                np.maximum(main.alpha, other.alpha, out=main.alpha)
                np.maximum(main.coverage, other.coverage, out=main.coverage)
        return main

    def look_in(
        self, rgb: np.ndarray, result: PoseResult, boxes: Sequence[tuple[int, ...]]
    ) -> list[int]:
        """Run the detector on each box (x0, y0, x1, y1: where another model sees a person
        the tracked ones do not explain) and follow whom it finds there from this frame on
        (up to MAX_PEOPLE), their alpha and coverage added to ``result``. A person too
        small for the detector on the whole frame is found on a crop around them. Returns
        the indices of the boxes where the detector found someone not followed before."""
        height, width = rgb.shape[:2]
        confirmed = []
        for index, (x0, y0, x1, y1) in enumerate(boxes):
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            half = 0.75 * max(x1 - x0, y1 - y0)
            left, top = max(0, int(cx - half)), max(0, int(cy - half))
            right, bottom = min(width, int(cx + half) + 1), min(height, int(cy + half) + 1)
            self.detections += 1
            for keypoints, _ in self.detector.detect(rgb[top:bottom, left:right]):
                keypoints = keypoints + (left, top)
                roi = Roi.from_points(keypoints[0], keypoints[1])
                largest = max((r.side for r in self.rois), default=0.0)
                if self._holds(roi, self.rois) or roi.side < MIN_RELATIVE_SIZE * largest:
                    continue
                confirmed.append(index)
                if len(self.rois) >= MAX_PEOPLE:
                    break
                found = self._landmark(rgb, roi, self._next_slot)
                self._next_slot += 1
                if found is not None:
                    self.rois.append(Roi.from_points(found.landmarks[33], found.landmarks[34]))
                    np.maximum(result.alpha, found.alpha, out=result.alpha)
                    np.maximum(result.coverage, found.coverage, out=result.coverage)
                break
        return confirmed

    def holds(self, roi: Roi, width: int) -> bool:
        """Whether a followed region holds the person ``roi`` was made for (``roi`` in the
        pixels of a frame ``width`` wide, the regions in those of the frame last tracked)."""
        scale = self._size[0] / width if self._size[0] else 1.0
        moved = Roi((roi.cx + 0.5) * scale - 0.5, (roi.cy + 0.5) * scale - 0.5, roi.side * scale, 0)
        return self._holds(moved, self.rois)

    @staticmethod
    def _holds(roi: Roi, rois: list[Roi]) -> bool:
        """Whether one of ``rois`` already follows the person ``roi`` was made for."""
        # The same person found twice has hip centres a few percent of the body apart.
        return any(math.hypot(roi.cx - r.cx, roi.cy - r.cy) < r.side / 5 for r in rois)

    def _rescaled(self, width: int, height: int) -> list[Roi]:
        """The tracked regions in the pixels of a frame of this size (the caller may hand
        over a copy of another size than last time, e.g. on the first frame of a shot)."""
        old_width, old_height = self._size
        self._size = (width, height)
        if not old_width or (old_width, old_height) == (width, height):
            return self.rois
        sx, sy = width / old_width, height / old_height
        return [
            Roi((r.cx + 0.5) * sx - 0.5, (r.cy + 0.5) * sy - 0.5, r.side * sx, r.rotation)
            for r in self.rois
        ]

    def _newcomers(self, rgb: np.ndarray, rois: list[Roi]) -> list[Roi]:
        """Regions for the people the detector finds that no tracked region holds: on the
        whole frame, and (while someone is followed, or every REDETECT_EVERY frames) on the
        two end squares of a wide or tall frame, where the square detector input sees a
        small second person larger than on the letterboxed whole."""
        self._since_detect = 0
        new: list[Roi] = []
        for left, top, crop in self._views(rgb, bool(rois) or self._tile_turn()):
            self.detections += 1
            for keypoints, _ in self.detector.detect(crop):
                keypoints = keypoints + (left, top)
                roi = Roi.from_points(keypoints[0], keypoints[1])
                if not self._holds(roi, rois + new) and len(rois) + len(new) < MAX_PEOPLE:
                    new.append(roi)
        # Someone much smaller than the largest person is in the background (an audience,
        # passers-by), not a subject of the shot.
        largest = max((r.side for r in rois + new), default=0.0)
        return [r for r in new if r.side >= MIN_RELATIVE_SIZE * largest]

    def _tile_turn(self) -> bool:
        self._empty_frames += 1
        return self._empty_frames % REDETECT_EVERY == 1

    @staticmethod
    def _views(rgb: np.ndarray, tiles_too: bool) -> list[tuple[int, int, np.ndarray]]:
        """(left, top, image): the whole frame, then, where it is not square, the squares
        across it (boxes.tiles: the two ends and one between on 16:9), where the square
        detector input sees each of a row of people larger than on the letterboxed whole."""
        height, width = rgb.shape[:2]
        views = [(0, 0, rgb)]
        if tiles_too and max(width, height) >= 1.3 * min(width, height):
            views += [(x, y, rgb[y : y + s, x : x + s]) for x, y, s in tiles(width, height)]
        return views

    def _landmark(self, rgb: np.ndarray, roi: Roi, slot: int) -> PoseResult | None:
        height, width = rgb.shape[:2]
        matrix = roi.crop_to_frame(LANDMARK_SIZE)
        cv2.warpAffine(
            rgb,
            matrix,
            (LANDMARK_SIZE, LANDMARK_SIZE),
            dst=self._crop,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        np.multiply(self._crop, np.float32(1.0 / 255.0), out=self._net.input[0], casting="unsafe")
        outputs = self._net.run()
        presence = float(outputs[self._presence][0, 0])
        if presence < _PRESENCE:
            return None
        raw = outputs[self._landmarks][0].reshape(39, 5)
        # Crop pixels (continuous, 0..256) to frame pixels through the same matrix.
        crop_xy = raw[:, :2] - 0.5
        landmarks = crop_xy @ matrix[:, :2].T + matrix[:, 2] + 0.5
        logits = outputs[self._segmentation][0, :, :, 0]
        seg = self._seg[:, :, 0]
        np.multiply(logits, np.float32(-SHARPNESS), out=seg)
        np.clip(seg, -80.0, 80.0, out=seg)  # sigmoid, without float32 overflow
        np.exp(seg, out=seg)
        np.add(seg, 1.0, out=seg)
        np.reciprocal(seg, out=seg)
        while len(self._warped) <= slot:
            self._warped.append(np.empty(0, np.float32))
        if self._warped[slot].shape[:2] != (height, width):
            self._warped[slot] = np.empty((height, width, 2), np.float32)
        warped = self._warped[slot]
        cv2.warpAffine(
            self._seg,
            matrix,
            (width, height),
            dst=warped,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0, 0),
        )
        return PoseResult(
            alpha=warped[:, :, 0],
            coverage=warped[:, :, 1],
            presence=presence,
            roi=roi,
            landmarks=landmarks.astype(np.float32),
            scale=Roi.from_points(landmarks[33], landmarks[34]).body_size / height,
        )


def work_size(width: int, height: int, long_side: int = WORK_LONG_SIDE) -> tuple[int, int]:
    """(width, height) of the frame copy the pose alpha is made at: the frame shrunk by the
    whole factor that brings its long side to at most ``long_side`` (854x480 stays whole,
    720p halves to 640x360, 1080p to 960x540). A whole factor is an exact, cheap halving of
    the frame (and of a 4:2:0 picture's planes); 720p at 960 wide cost 6 ms more a frame."""
    factor = shrink_factor(width, height, long_side)
    return max(1, width // factor), max(1, height // factor)
