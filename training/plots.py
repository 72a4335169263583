"""Training plots: loss curves and angle error by light azimuth / elevation."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from lightest import frames


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss(history: dict[str, list[float]], path: Path, title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ("loss", "val_loss"):
        if key in history:
            ax.plot(history[key], label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_error_by_angle(directions: np.ndarray, errors: np.ndarray, path: Path, title: str) -> None:
    """Median angle error per 15-degree bin of the true light azimuth and elevation."""
    plt = _pyplot()
    az, el = frames.angles_from_direction(directions)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, values, name in ((axes[0], az, "azimuth"), (axes[1], el, "elevation")):
        edges = np.arange(-180, 181, 15) if name == "azimuth" else np.arange(-90, 91, 15)
        centres, medians, counts = [], [], []
        for lo, hi in itertools.pairwise(edges):
            sel = (values >= lo) & (values < hi)
            if sel.any():
                centres.append((lo + hi) / 2)
                medians.append(np.median(errors[sel]))
                counts.append(int(sel.sum()))
        ax.bar(centres, medians, width=12)
        for c, m, n in zip(centres, medians, counts, strict=True):
            ax.text(c, m, str(n), ha="center", va="bottom", fontsize=7)
        ax.set_xlabel(f"true light {name} (deg)")
        ax.set_ylabel("median angle error (deg)")
    fig.suptitle(f"{title}: error by light angle (bar labels: images)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
