"""``python -m training <command>``: features, train, natural-train, evaluate, yaleb,
calibrate-confidence (see each command's --help)."""

from __future__ import annotations

import sys

from training import calibrate_confidence, evaluate, features, natural_model, train, yaleb

COMMANDS = {
    "features": features.main,
    "train": train.main,
    "natural-train": natural_model.main,
    "evaluate": evaluate.main,
    "yaleb": yaleb.main,
    "calibrate-confidence": calibrate_confidence.main,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m training {{{','.join(COMMANDS)}}} [options]", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
