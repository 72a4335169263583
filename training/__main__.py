"""``python -m training <command>``: features, train, natural-train, evaluate, yaleb,
calibrate-confidence (see each command's --help)."""

from __future__ import annotations

import sys

from lightest.commands import dispatch
from training import calibrate_confidence, evaluate, features, natural_model, train, yaleb

COMMANDS = {
    "features": (features.main, "light-point features of a rendered dataset (through the runtime's observer)"),
    "train": (train.main, "train a regressor from a TOML config (runs/NAME)"),
    "natural-train": (natural_model.main, "train a natural-light model from a JSON config"),
    "evaluate": (evaluate.main, "a run on its held-out renders and Yale B; or --natural: the natural-light table"),
    "yaleb": (yaleb.main, "the runtime on Yale B real faces (research use: test and model choice only)"),
    "calibrate-confidence": (calibrate_confidence.main, "fit and measure the light head's confidence"),
}


def main(argv: list[str] | None = None) -> int:
    return dispatch("python -m training", COMMANDS, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
