"""Calibrated confidence of the light-head model: the probability that the direction is within 15 deg.

``confidence`` of a :class:`~lightest.result.LightEstimate` from the default light-head model is
``P(angular error of direction < threshold_deg)`` (15 deg in the shipped file): among many estimates reported
with confidence 0.8, about 80 % should be within 15 deg of the truth. It is predicted from signals of the
estimate itself (:func:`signals`; the shipped file uses the first three):

* ``contrast``: the light-head graph's ``contrast`` output, the spread (standard deviation) of log linear gray
  over the light-points inside the frame: a flat, frontal or mostly ambient light leaves little shading to read
  the direction from;
* ``ambient``: the graph's ambient share;
* ``norm_gap``: ``|1 - direction_norm|``: the raw regressor output leaves unit length off its training data;
* ``outside`` (``1 - valid_fraction``) and ``light_x2``, ``light_y``, ``light_z`` (where the estimate
  points): computed too, measured, and left out of the shipped fit (they added nothing on Yale B beyond the
  first three; so did the disagreement of the face's and its mirror image's own directions, which the graph
  no longer outputs).

Two steps, with parameters in ``lightest/models/confidence.json`` (written by
``python -m training calibrate-confidence``, which records the data, command, date and measured scores): a
ridge regression predicts ``log(1 + error_deg)`` from the standardised signals, clipped to the calibration
range widened by half its width (:meth:`ConfidenceModel.expected_error_deg`), and a logistic map turns that into
``confidence = 1 / (1 + exp(-(a + b * predicted_log_error)))`` with ``b < 0``: confidence falls as predicted
error rises. Calibrated on renders only (natural-light renders, whole and with part of the face cut off);
real faces are held out (see the README's confidence section for how it scores on Yale B). The file names the
light-head graph (sha256) it was fitted for; :func:`load_for_model` returns None for any other graph, and the
estimator then falls back to the uncalibrated heuristic (valid fraction times closeness of ``direction_norm``
to 1). numpy only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CONFIDENCE_KIND",
    "SIGNALS",
    "ConfidenceModel",
    "default_confidence_path",
    "load_for_model",
    "signals",
]

CONFIDENCE_KIND = "light_confidence"
SCHEMA_VERSION = 1
#: Every signal :func:`signals` computes, in order (a model file uses a subset, by name).
SIGNALS = ("contrast", "ambient", "norm_gap", "outside", "light_x2", "light_y", "light_z")
def signals(
    contrast: float,
    direction: np.ndarray,
    direction_norm: float,
    valid_fraction: float,
    ambient: float | None,
) -> dict[str, float]:
    """The signals confidence is predicted from (:data:`SIGNALS`), for one light-head answer.

    All are the light-head graph's outputs (:class:`lightest.lighthead.LightHeadOutput`), so a phone computes
    them as Python does. A missing ``ambient`` reads as NaN (a model that uses it then refuses).
    """
    d = np.asarray(direction, dtype=np.float64)
    return {
        "contrast": float(contrast),
        "ambient": float("nan") if ambient is None else float(ambient),
        "norm_gap": abs(1.0 - float(direction_norm)),
        "outside": 1.0 - float(valid_fraction),
        "light_x2": float(d[0] ** 2),
        "light_y": float(d[1]),
        "light_z": float(d[2]),
    }


def _floats(data: dict[str, Any], key: str, n: int, source: str) -> np.ndarray:
    try:
        value = np.asarray(data[key], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        value = None
    if value is None or value.shape != (n,) or not np.isfinite(value).all():
        raise ValueError(f"{source}: {key!r} must be {n} finite numbers")
    return value


@dataclass(frozen=True)
class ConfidenceModel:
    """Signals -> predicted log error -> probability that the direction error is below ``threshold_deg``.

    Attributes:
        signals: names of the signals used (a subset of :data:`SIGNALS`), in weight order.
        mean, scale: standardisation of each signal; ``low``/``high``: the range seen in calibration, to which
            signals are clipped (no extrapolation).
        weights, bias: ridge regression of ``log(1 + error_deg)`` on the standardised signals.
        logistic: ``(a, b)`` with ``b < 0``: ``confidence = sigmoid(a + b * predicted_log_error)``.
        threshold_deg: the error the probability is about.
        model_sha256: the light-head graph this was fitted for.
        provenance: data, command, date and measured scores (kept verbatim).
    """

    signals: tuple[str, ...]
    mean: np.ndarray = field(repr=False)
    scale: np.ndarray = field(repr=False)
    low: np.ndarray = field(repr=False)
    high: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    bias: float
    logistic: tuple[float, float]
    threshold_deg: float
    model_sha256: str
    provenance: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def predicted_log_error(self, values: dict[str, float] | np.ndarray) -> np.ndarray:
        """``log(1 + error_deg)`` predicted for one signal dict or an ``(N, len(signals))`` array."""
        x = self._matrix(values)
        z = (np.clip(x, self.low, self.high) - self.mean) / self.scale
        return z @ self.weights + self.bias

    def expected_error_deg(self, values: dict[str, float] | np.ndarray) -> np.ndarray:
        """The regression's typical (geometric-mean-like) direction error in degrees."""
        return np.expm1(self.predicted_log_error(values))

    def probability(self, values: dict[str, float] | np.ndarray) -> np.ndarray:
        """Confidence in [0, 1]: the probability that the direction error is below ``threshold_deg``."""
        a, b = self.logistic
        return 1.0 / (1.0 + np.exp(-(a + b * self.predicted_log_error(values))))

    def __call__(self, values: dict[str, float]) -> float:
        """Confidence of one estimate from its :func:`signals`."""
        return float(self.probability(values).reshape(-1)[0])

    def _matrix(self, values: dict[str, float] | np.ndarray) -> np.ndarray:
        if isinstance(values, dict):
            missing = [s for s in self.signals if s not in values]
            if missing:
                raise ValueError(f"confidence needs signals {missing}")
            x = np.array([[values[s] for s in self.signals]], dtype=np.float64)
        else:
            x = np.atleast_2d(np.asarray(values, dtype=np.float64))
            if x.shape[1] != len(self.signals):
                raise ValueError(f"confidence takes {len(self.signals)} signals per row, got {x.shape[1]}")
        if not np.isfinite(x).all():
            bad = sorted({self.signals[j] for j in np.nonzero(~np.isfinite(x))[1]})
            raise ValueError(f"confidence signals {bad} are not finite")
        return x

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": CONFIDENCE_KIND,
            "meaning": f"probability that the light direction's angular error is below {self.threshold_deg:g} deg",
            "threshold_deg": self.threshold_deg,
            "model_sha256": self.model_sha256,
            "signals": list(self.signals),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "low": self.low.tolist(),
            "high": self.high.tolist(),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "logistic": list(self.logistic),
            "provenance": self.provenance,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: Any, source: str = "confidence file") -> ConfidenceModel:
        """Parse and check a confidence file's JSON; ``ValueError`` names what is wrong."""
        if not isinstance(data, dict) or data.get("kind") != CONFIDENCE_KIND:
            raise ValueError(f"{source} is not a confidence file (kind {CONFIDENCE_KIND!r})")
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"{source}: schema_version {data.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        names = data.get("signals")
        if not isinstance(names, list) or not names or any(s not in SIGNALS for s in names):
            raise ValueError(f"{source}: 'signals' must be a non-empty list drawn from {SIGNALS}")
        n = len(names)
        arrays = {k: _floats(data, k, n, source) for k in ("mean", "scale", "low", "high", "weights")}
        if (arrays["scale"] <= 0).any() or (arrays["low"] > arrays["high"]).any():
            raise ValueError(f"{source}: 'scale' must be positive and 'low' <= 'high'")
        try:
            bias = float(data["bias"])
            a, b = (float(v) for v in data["logistic"])
            threshold = float(data["threshold_deg"])
            sha = str(data["model_sha256"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: needs numbers 'bias', 'logistic' [a, b], 'threshold_deg' and "
                             f"'model_sha256' ({exc})") from None
        if not (np.isfinite([bias, a, b, threshold]).all() and b < 0 and 0 < threshold < 180):
            raise ValueError(f"{source}: 'logistic' slope must be negative and finite, 'threshold_deg' in (0, 180)")
        return cls(tuple(names), bias=bias, logistic=(a, b), threshold_deg=threshold, model_sha256=sha,
                   provenance=dict(data.get("provenance") or {}), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ConfidenceModel:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"confidence file not found: {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"confidence file {path} is not valid JSON: {exc}") from None
        return cls.from_json(data, str(path))


def default_confidence_path() -> Path:
    """The shipped calibration, ``lightest/models/confidence.json``."""
    return Path(str(resources.files("lightest.models").joinpath("confidence.json")))


def load_for_model(model_sha256: str, path: str | os.PathLike[str] | None = None) -> ConfidenceModel | None:
    """The calibration at ``path`` (default: the shipped one) if it was fitted for the graph with this sha256,
    else None (no file, or fitted for another graph: confidence then falls back to the heuristic)."""
    path = default_confidence_path() if path is None else Path(path)
    if not path.is_file():
        return None
    model = ConfidenceModel.load(path)
    return model if model.model_sha256 == model_sha256 else None
