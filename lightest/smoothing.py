"""Temporal filtering of light estimates in a video stream: a One Euro filter, time-based.

The One Euro filter (Casiraghi, Roussel, Vogel, CHI 2012) is a low-pass filter whose cutoff rises with the
signal's speed: a still face's estimate is smoothed hard (no flicker on a lit virtual object), while a
light that really moves is followed with little lag. It works on timestamps, not frame counts, so dropped
or irregular frames are handled. lightest filters the light direction (as a vector, renormalised: a mean on
the sphere), the ambient share and the intensity together; the SH are rebuilt from the filtered values.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from lightest import frames
from lightest.result import LightEstimate
from lightest.sh import sh_from_shares

__all__ = ["LightSmoother", "OneEuroFilter", "SmoothingOptions"]


@dataclass(frozen=True)
class SmoothingOptions:
    """How :meth:`lightest.Estimator.estimate_for_video` (and the live stream's ``estimate_async``) filter their
    answers.

    Attributes:
        enabled: filter at all (False: every frame's own estimate, but still the hold below).
        min_cutoff_hz: cutoff when the light is still; lower is smoother and slower.
        beta: how fast the cutoff rises with the direction's speed (per rad/s); higher follows moves sooner.
        derivative_cutoff_hz: cutoff of the speed estimate itself.
        hold_ms: on frames without a face, keep returning the last estimate for this long, then None.
    """

    enabled: bool = True
    min_cutoff_hz: float = 0.5
    beta: float = 1.5
    derivative_cutoff_hz: float = 1.0
    hold_ms: float = 500.0

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, (bool, np.bool_)):
            raise ValueError(f"enabled must be True or False, got {self.enabled!r}")
        for name in ("min_cutoff_hz", "beta", "derivative_cutoff_hz", "hold_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        for name in ("min_cutoff_hz", "derivative_cutoff_hz"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.beta < 0 or self.hold_ms < 0:
            raise ValueError(f"beta and hold_ms must be >= 0, got {self.beta!r} and {self.hold_ms!r}")


def _alpha(cutoff_hz: float, dt_s: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """One Euro filter of a vector signal; the cutoff follows the speed of ``speed_of(x)`` (all of it by default)."""

    def __init__(self, min_cutoff_hz: float, beta: float, derivative_cutoff_hz: float, speed_dims: int | None = None):
        self.min_cutoff_hz, self.beta, self.derivative_cutoff_hz = min_cutoff_hz, beta, derivative_cutoff_hz
        self.speed_dims = speed_dims
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def reset(self) -> None:
        self._x = self._dx = self._t = None

    def __call__(self, x: np.ndarray, t_s: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or t_s <= self._t:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t_s
            return x.copy()
        dt = t_s - self._t
        a_d = _alpha(self.derivative_cutoff_hz, dt)
        self._dx = self._dx + a_d * ((x - self._x) / dt - self._dx)
        speed = float(np.linalg.norm(self._dx[: self.speed_dims]))
        a = _alpha(self.min_cutoff_hz + self.beta * speed, dt)
        self._x = self._x + a * (x - self._x)
        self._t = t_s
        return self._x.copy()


class LightSmoother:
    """Filter a stream of :class:`LightEstimate` (direction, ambient, intensity) and hold it over short gaps."""

    def __init__(self, options: SmoothingOptions | None = None) -> None:
        self.options = options or SmoothingOptions()
        o = self.options
        self._filter = OneEuroFilter(o.min_cutoff_hz, o.beta, o.derivative_cutoff_hz, speed_dims=3)
        self._last: LightEstimate | None = None
        self._last_ms: float | None = None

    def reset(self) -> None:
        self._filter.reset()
        self._last = self._last_ms = None

    def update(self, estimate: LightEstimate | None, timestamp_ms: float) -> LightEstimate | None:
        """The filtered estimate at ``timestamp_ms`` (the held one, or None, when ``estimate`` is None)."""
        if estimate is None:
            held = self._last is not None and self._last_ms is not None
            if held and timestamp_ms - self._last_ms <= self.options.hold_ms:  # type: ignore[operator]
                return replace(self._last, held=True)  # type: ignore[arg-type]
            self.reset()
            return None
        out = self._smooth(estimate, timestamp_ms / 1000.0) if self.options.enabled else estimate
        self._last, self._last_ms = out, timestamp_ms
        return out

    def _smooth(self, e: LightEstimate, t_s: float) -> LightEstimate:
        ambient = 0.0 if e.ambient is None else e.ambient
        intensity = 1.0 if e.intensity is None else e.intensity
        x = self._filter(np.array([*e.direction, ambient, intensity]), t_s)
        direction = frames.normalize(x[:3])
        ambient_f = None if e.ambient is None else float(np.clip(x[3], 0.0, 1.0))
        intensity_f = None if e.intensity is None else max(0.0, float(x[4]))
        sh = sh_from_shares(direction, intensity_f, ambient_f)
        return replace(e, direction=tuple(direction), ambient=ambient_f, intensity=intensity_f, sh=sh)
