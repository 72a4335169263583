"""``LightEstimate``: what lightest says about the light in one image."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from lightest import frames

__all__ = ["LightEstimate"]


def _frozen_array(a: np.ndarray | None) -> np.ndarray | None:
    """A read-only float64 array: ``a`` itself when it already is one (frozen landmarks), else a copy."""
    if a is None:
        return None
    if isinstance(a, np.ndarray) and a.dtype == np.float64 and not a.flags.writeable:
        return a
    out = np.array(a, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class LightEstimate:
    """The estimated main light of a face photo.

    Attributes:
        direction: unit vector from the face toward the light, camera frame (+x image right, +y image
            up, +z toward the camera; :mod:`lightest.frames`).
        position: light position in metres in the camera frame, or None when the method cannot tell.
        intensity: directional light strength as seen on the skin: the brightness (0-1 pixel scale) it
            adds to a surface facing it, skin albedo included; None when unknown.
        ambient: ambient share of the light, ``ambient / (ambient + directional)`` in [0, 1]; or None.
        color: RGB colour of the light, largest channel = 1; None when the method cannot tell it apart
            from skin colour.
        sh: ``(9, 3)`` second-order spherical harmonics of the estimated lighting (:mod:`lightest.sh`).
        confidence: in [0, 1]; how well the face's shading supports the estimate.
        face_box: ``(x, y, width, height)`` of the face in pixels.
        landmarks: ``(N, 3)`` landmark pixels ``(u, v, depth toward camera)``; depth is 0 for 2D backends.
        light_points: ``(K, 2)`` pixel positions of the sampled light-points.
        method: what produced it, ``"physics"`` or ``"model"``.
        held: video and live stream: this frame showed no face, and the filter repeats the last frame's estimate
            (for up to :attr:`lightest.SmoothingOptions.hold_ms`); False for an estimate of the frame itself.
    """

    direction: tuple[float, float, float]
    confidence: float
    face_box: tuple[int, int, int, int]
    landmarks: np.ndarray = field(repr=False)
    light_points: np.ndarray = field(repr=False)
    sh: np.ndarray = field(repr=False)
    method: str
    position: tuple[float, float, float] | None = None
    intensity: float | None = None
    ambient: float | None = None
    color: tuple[float, float, float] | None = None
    held: bool = False

    def __post_init__(self) -> None:
        d = frames.normalize(np.asarray(self.direction, dtype=np.float64))
        object.__setattr__(self, "direction", tuple(float(v) for v in d))
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        sh = np.asarray(self.sh)
        if sh.shape != (9, 3):
            raise ValueError(f"sh must have shape (9, 3), got {sh.shape}")
        for name in ("landmarks", "light_points", "sh"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name)))

    @property
    def azimuth_deg(self) -> float:
        """``degrees(atan2(x, z))``: 0 = light at the camera, +90 = image right, -90 = image left."""
        return frames.angles_from_direction(np.asarray(self.direction))[0]

    @property
    def elevation_deg(self) -> float:
        """``degrees(asin(y))``: +90 = light straight above the face, -90 = below."""
        return frames.angles_from_direction(np.asarray(self.direction))[1]

    def __eq__(self, other: object) -> bool:
        """Field by field, arrays by value (the dataclass default compared arrays with ``==`` and raised)."""
        if not isinstance(other, LightEstimate):
            return NotImplemented
        return all(
            np.array_equal(a, b) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else a == b
            for a, b in ((getattr(self, f.name), getattr(other, f.name)) for f in fields(self))
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays: not hashable, like numpy arrays themselves

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        """JSON-ready dict (plain floats, ints and lists) with the derived angles included: about 0.5 KB.

        ``full=True`` adds the ``landmarks`` and ``light_points`` arrays (about 25 KB more).
        """

        def plain(v: Any) -> Any:
            if isinstance(v, np.ndarray):
                return np.round(v, 6).tolist()
            if isinstance(v, tuple):
                return [plain(x) for x in v]
            if isinstance(v, float):
                return round(v, 6)
            return v

        return {
            "direction": plain(self.direction),
            "azimuth_deg": round(self.azimuth_deg, 3),
            "elevation_deg": round(self.elevation_deg, 3),
            "position": plain(self.position),
            "intensity": plain(self.intensity),
            "ambient": plain(self.ambient),
            "color": plain(self.color),
            "sh": plain(self.sh),
            "confidence": round(float(self.confidence), 6),
            "face_box": [int(v) for v in self.face_box],
            "method": self.method,
            "held": self.held,
            **({"landmarks": plain(self.landmarks), "light_points": plain(self.light_points)} if full else {}),
        }
