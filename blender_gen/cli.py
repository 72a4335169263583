"""Command line: ``python -m blender_gen {render,example,showcase} ...``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from blender_gen.paths import DEFAULT_SHARED, SharedAssetsMissingError, resolve_assets
from blender_gen.presets import PRESETS
from lightest.commands import one_line_errors


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shared", type=Path, default=None,
                   help=f"the project's shared/ folder with assets/heads (default: {DEFAULT_SHARED})")
    p.add_argument("--device", choices=("CPU", "GPU"), default="CPU",
                   help="Cycles device; GPU uses OptiX or CUDA when present (default: CPU)")


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/n such as 0/4, got {text!r}") from None
    if not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"need 0 <= i < n, got {text!r}")
    return i, n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m blender_gen",
        description="Render labelled face-lighting data with Blender Cycles (bpy).")
    sub = parser.add_subparsers(dest="command", required=True)

    r = sub.add_parser(
        "render", help="render a labelled dataset (resumable, shardable, deterministic)",
        description="Render images + manifest.jsonl + dataset.json into --out. Rerunning skips finished "
                    "images; --shard i/n renders only indices with index % n == i (run n processes).")
    r.add_argument("--preset", required=True, choices=sorted(PRESETS),
                   help="seed-uniform: the seed's 3024-position grid; seed-random: 400 random positions in "
                        "the seed's box; diverse: random heads, skin, pose, light, camera and noise; natural: "
                        "featured ICT faces (brows, lips, stubble, hair, glasses) under rotated, tinted HDRIs plus "
                        "0-3 window/lamp/phone lights, with SH / dominant direction / colour labels; natural-lab: the "
                        "same faces, each under one Yale B-like point light")
    r.add_argument("--out", type=Path, required=True, help="dataset folder, e.g. data/diverse")
    r.add_argument("--count", type=int, default=None, help="number of images (default: preset's)")
    r.add_argument("--resolution", type=int, default=None,
                   help="square image size in pixels (default: 320 for seed-*, 256 for the others)")
    r.add_argument("--samples", type=int, default=16, help="Cycles samples per pixel (default: 16)")
    r.add_argument("--denoise", action=argparse.BooleanOptionalAction, default=None,
                   help="run OpenImageDenoise on every image (default: on for natural and natural-lab, off for the "
                        "others)")
    r.add_argument("--seed", type=int, default=0, help="dataset seed (default: 0)")
    r.add_argument("--shard", type=_shard, default=None, metavar="i/n",
                   help="render only indices with index %% n == i (default: 0/1)")
    r.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="render every shard as a Ray task (pip install 'lightest[cluster]'): a cluster address, "
                        "or none to start or join a local Ray")
    r.add_argument("--shards", type=int, default=None,
                   help="with --ray: number of shards (default: the cluster's CPUs / --threads)")
    r.add_argument("--threads", type=int, default=0,
                   help="Cycles CPU threads (default: 0 = all cores; the images do not depend on it)")
    _common(r)

    sc = sub.add_parser("showcase", help="virtual hat lit by lightest's estimate vs the true light")
    sc.add_argument("--n", type=int, default=3, help="number of examples (default: 3)")
    sc.add_argument("--out", type=Path, default=Path("data/showcase"), help="output folder (default: data/showcase)")
    sc.add_argument("--seed", type=int, default=0, help="scene seed (default: 0)")
    sc.add_argument("--resolution", type=int, default=320, help="panel size in pixels (default: 320)")
    sc.add_argument("--samples", type=int, default=32, help="Cycles samples, denoised (default: 32)")
    _common(sc)

    cs = sub.add_parser("sheet", help="contact sheet (JPEG) of evenly spaced images of a dataset")
    cs.add_argument("data", type=Path, help="dataset folder with manifest.jsonl")
    cs.add_argument("--out", type=Path, required=True, help="output JPEG, e.g. docs/seed_uniform_sheet.jpg")
    cs.add_argument("--n", type=int, default=12, help="number of images (default: 12)")

    fc = sub.add_parser("facecheck", help="MediaPipe face detection rate of a rendered dataset, by light angle")
    fc.add_argument("data", type=Path, help="dataset folder with manifest.jsonl")

    ex = sub.add_parser("example", help="render examples/lee_perry_smith.png and its .json label")
    ex.add_argument("--out", type=Path, default=Path("examples"), help="output folder (default: examples)")
    ex.add_argument("--samples", type=int, default=64, help="Cycles samples (default: 64, denoised)")
    _common(ex)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return one_line_errors("python -m blender_gen", lambda: _dispatch(args))
    except (SharedAssetsMissingError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "sheet":
        from blender_gen.sheet import contact_sheet

        print(contact_sheet(args.data, args.out, args.n))
        return 0
    if args.command == "facecheck":
        from blender_gen.facecheck import detection_report

        print(json.dumps(detection_report(args.data), indent=2))
        return 0
    assets = resolve_assets(args.shared)
    if args.command == "example":
        from blender_gen.example import render_example

        png = render_example(assets, args.out, args.samples, args.device)
        print(f"wrote {png} and {png.with_suffix('.json')}")
    elif args.command == "showcase":
        from blender_gen.showcase import run_showcase

        for row in run_showcase(assets, args.out, args.n, args.seed, args.resolution, args.samples, args.device):
            print(json.dumps(row))
    elif args.command == "render":
        from blender_gen.dataset import RenderJob, run

        preset = PRESETS[args.preset]
        count = preset.default_count if args.count is None else args.count
        for name, value in (("--count", count), ("--resolution", args.resolution), ("--samples", args.samples)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if preset.max_count is not None and count > preset.max_count:
            print(f"error: {args.preset} has {preset.max_count} images", file=sys.stderr)
            return 2
        job = RenderJob(args.preset, args.out, count, args.resolution or preset.default_resolution,
                        args.samples, args.seed, args.shard or (0, 1), args.device,
                        preset.default_denoise if args.denoise is None else args.denoise, args.threads)
        if args.ray is not None:
            if args.shard is not None:
                print("error: --ray runs every shard itself; give --shards N instead of --shard", file=sys.stderr)
                return 2
            if args.shards is not None and args.shards < 1:
                print(f"error: --shards must be at least 1, got {args.shards}", file=sys.stderr)
                return 2
            from blender_gen.cluster import render_on_ray

            stats = render_on_ray(job, assets, args.shards, args.ray or None)
        elif args.shards is not None:
            print("error: --shards goes with --ray (locally, run one process per --shard i/n)", file=sys.stderr)
            return 2
        else:
            try:
                stats = run(job, assets)
            except KeyboardInterrupt:
                print(f"interrupted: the finished images in {args.out} are kept; rerun the same command to go on",
                      file=sys.stderr)  # fmt: skip
                return 130
        print(json.dumps(stats))
    return 0
