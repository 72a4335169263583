"""Command line: ``python -m blender_gen {render,example,showcase} ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from blender_gen.paths import DEFAULT_SHARED, SharedAssetsMissingError, resolve_assets


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shared", type=Path, default=None,
                   help=f"the project's shared/ folder with assets/heads (default: {DEFAULT_SHARED})")
    p.add_argument("--device", choices=("CPU", "GPU"), default="CPU",
                   help="Cycles device; GPU uses OptiX or CUDA when present (default: CPU)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m blender_gen",
        description="Render labelled face-lighting data with Blender Cycles (bpy).")
    sub = parser.add_subparsers(dest="command", required=True)

    ex = sub.add_parser("example", help="render examples/lee_perry_smith.png and its .json label")
    ex.add_argument("--out", type=Path, default=Path("examples"), help="output folder (default: examples)")
    ex.add_argument("--samples", type=int, default=64, help="Cycles samples (default: 64, denoised)")
    _common(ex)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        assets = resolve_assets(args.shared)
    except SharedAssetsMissingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.command == "example":
        from blender_gen.example import render_example

        png = render_example(assets, args.out, args.samples, args.device)
        print(f"wrote {png} and {png.with_suffix('.json')}")
    return 0
