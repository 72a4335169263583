"""``lightest`` command line: estimate the light in face photos (and in the frames of a video file).

Exit status: 0 every image had a face and was estimated; 1 at least one image had no face or could not
be read (each says so on its own line); 2 a usage error (bad option, unusable ``--overlay`` path, no
images found, a model that cannot be loaded). ``lightest video``: 0 some frame had a face, 1 none did, 2 a
usage error (such as a file that is not a video); 141 the reader of stdout went away (``lightest ... | head``:
the command stops quietly, as a process killed by SIGPIPE would). Errors are one line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import glob
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import cv2

from lightest import __version__
from lightest.batch import add_batch_parser, batch_command
from lightest.estimator import METHODS, Estimator, EstimatorOptions
from lightest.image_io import load_image
from lightest.landmarks import BACKENDS
from lightest.overlay import OverlayOptions, draw_overlay
from lightest.result import LightEstimate
from lightest.serve.server import add_serve_parser, serve_command
from lightest.smoothing import SmoothingOptions
from lightest.video_file import estimate_video, frame_count

__all__ = ["EXIT_BROKEN_PIPE", "EXIT_FAILED_IMAGES", "EXIT_OK", "EXIT_USAGE", "IMAGE_SUFFIXES", "main"]

EXIT_OK, EXIT_FAILED_IMAGES, EXIT_USAGE, EXIT_BROKEN_PIPE = 0, 1, 2, 141
#: File endings read from directories (and written by ``--overlay``), lower case.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".pbm", ".tif", ".tiff", ".webp")
#: Columns of ``--csv`` (``error``: why an image could not be read; empty otherwise).
CSV_COLUMNS = ("image", "face", "azimuth_deg", "elevation_deg", "dir_x", "dir_y", "dir_z", "ambient",
               "intensity", "confidence", "box_x", "box_y", "box_w", "box_h", "method", "error")  # fmt: skip


#: errno values of a write that failed for lack of room or a device error (stdout on a full disk, /dev/full).
_WRITE_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG}


class UsageError(ValueError):
    """A problem with the command line itself (exit status 2)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lightest",
        description="Where does the light on a face come from?",
        epilog="exit status: 2 a usage error, 141 stdout's reader went away; 0 and 1 per command (its --help)",
    )
    parser.add_argument("--version", action="version", version=f"lightest {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    est = sub.add_parser(
        "estimate",
        help="estimate the light direction in face images",
        description="Prints one line per image: azimuth and elevation in degrees (camera frame: +azimuth = "
        "light toward image right, +elevation = up) and confidence; or JSON Lines with --json, CSV with --csv.",
        epilog="exit status: 0 all images estimated, 1 some image had no face or could not be read, 2 usage error",
    )
    est.add_argument("images", nargs="+", metavar="IMAGE", help="image files, directories or quoted glob patterns")
    est.add_argument("-r", "--recursive", action="store_true", help="also read images in subdirectories")
    out = est.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one compact JSON object per image (JSON Lines)")
    out.add_argument("--csv", action="store_true", help="CSV with a header row")
    est.add_argument("--full", action="store_true", help="with --json: add all landmarks and light-points")
    est.add_argument(
        "--overlay",
        metavar="OUT",
        help="write an annotated image: a file (.png, .jpg, ...) for one input, a directory for several",
    )
    est.add_argument("--points", action="store_true", help="with --overlay: also draw the sampled light-points")
    est.add_argument(
        "--max-faces",
        type=int,
        default=1,
        metavar="N",
        help="up to N faces per image, largest first, each on its own line (with --json and --csv they carry a "
        "face_index, 0 = largest); default 1: the one face of a portrait",
    )
    est.add_argument("--method", choices=METHODS, default="auto", help="default: bundled model, else physics")
    est.add_argument("--landmarks", choices=BACKENDS, default="mediapipe", help="landmark backend")
    est.add_argument("--model", type=Path, help="a .tflite model (with its .card.json) to use")
    add_batch_parser(sub, METHODS, BACKENDS)
    vid = sub.add_parser(
        "video",
        help="estimate the light in every frame of a video file (tracked and filtered)",
        description="Prints one line per frame: index, timestamp and the filtered light (video mode: the face "
        "is tracked, the answers pass a One Euro filter on the file's own timestamps); or JSON Lines with --json, "
        "CSV with --csv.",
        epilog="exit status: 0 some frame had a face, 1 no frame had one, 2 usage error",
    )
    vid.add_argument("video", metavar="VIDEO", help="a video file OpenCV can read (.mp4, .avi, .mov, ...)")
    vid_out = vid.add_mutually_exclusive_group()
    vid_out.add_argument("--json", action="store_true", help="one compact JSON object per frame (JSON Lines)")
    vid_out.add_argument("--csv", action="store_true", help="CSV with a header row")
    vid.add_argument("--full", action="store_true", help="with --json: add all landmarks and light-points")
    vid.add_argument("--every", type=int, default=1, metavar="N", help="estimate every N-th frame (default 1)")
    vid.add_argument("--no-smoothing", action="store_true",
                     help="each frame's own estimate: no filter, and no hold of the last one over frames without "
                     "a face (by default held for 0.5 s)")  # fmt: skip
    vid.add_argument("--method", choices=METHODS, default="auto", help="default: bundled model, else physics")
    vid.add_argument("--model", type=Path, help="a .tflite model (with its .card.json) to use")
    add_serve_parser(sub)
    return parser


def _expand(names: Sequence[str], recursive: bool) -> list[Path]:
    """Files named, images inside directories (sorted), and matches of glob patterns, in the given order."""
    out: list[Path] = []
    for name in names:
        if not name:  # Path("") is the current directory: an unset "$PHOTO" would estimate all of it
            raise UsageError("an empty name was given as an image (an unset shell variable?)")
        path = Path(name)
        if path.is_dir():
            walk = path.rglob("*") if recursive else path.iterdir()
            out += sorted(p for p in walk if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif not path.exists() and any(c in name for c in "*?["):
            matches = sorted(Path(p) for p in glob.glob(name, recursive=recursive) if Path(p).is_file())
            if not matches:
                raise UsageError(f"no files match {name!r}")
            out += matches
        else:
            out.append(path)  # a missing file is reported on its own line, like an unreadable one
    if not out:
        raise UsageError(f"no images found in {', '.join(names)} (directories are read for {' '.join(IMAGE_SUFFIXES)})")
    return out


def _overlay_targets(out: str | None, paths: list[Path]) -> dict[Path, Path]:
    """Where each input's overlay goes, checked before any work: a writable image file for one input (unless
    ``out`` is a directory or ends in a slash), else ``<stem>_overlay.png`` files in the directory ``out`` (two
    inputs with one stem get ``_2``, ``_3``, ... in input order). No overlay may replace an input image."""
    if out is None:
        return {}
    target = Path(out)
    as_file = len(paths) == 1 and not target.is_dir() and not out.endswith(("/", os.sep))
    if as_file and target.suffix.lower() not in IMAGE_SUFFIXES:
        raise UsageError(f"--overlay {out}: unknown image type {target.suffix or '(none)'}; use one of "
                         f"{IMAGE_SUFFIXES} (or end it with / for a directory)")  # fmt: skip
    if not as_file and target.suffix.lower() in IMAGE_SUFFIXES and not target.is_dir():
        raise UsageError(f"--overlay {out} is one file, but there are {len(paths)} images: give a directory")
    directory = target.parent if as_file else target
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--overlay {out}: cannot create {directory}: {exc.strerror or exc}") from exc
    try:
        with tempfile.TemporaryFile(dir=directory):  # what os.access says is not always what a write does
            pass
    except OSError as exc:
        raise UsageError(f"--overlay {out}: cannot write into {directory}: {exc.strerror or exc}") from exc
    targets: dict[Path, Path] = {}
    taken: set[Path] = set()
    for path in paths:
        name = target if as_file else directory / f"{path.stem}_overlay.png"
        n = 1
        while name in taken:
            n += 1
            name = directory / f"{path.stem}_{n}_overlay.png"
        taken.add(name)
        targets[path] = name
    inputs = {_same_file_key(p) for p in paths}
    for name in taken:
        if _same_file_key(name) in inputs:
            raise UsageError(f"--overlay would write {name}, which is one of the input images")
    return targets


def _same_file_key(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _record(
    where: dict[str, Any], result: LightEstimate | None, full: bool, face_index: int | None = None
) -> dict[str, Any]:
    """A JSON row: ``where`` (the image, or the frame and its timestamp), then ``face`` (and ``face_index``
    when several faces are asked for) and the estimate."""
    if result is None:
        return {**where, "face": False}
    index = {} if face_index is None else {"face_index": face_index}
    return {**where, "face": True, **index, **result.to_dict(full=full)}


def _csv_columns(multi_face: bool) -> tuple[str, ...]:
    """:data:`CSV_COLUMNS`, with ``face_index`` after ``face`` when several faces are asked for."""
    return (*CSV_COLUMNS[:2], "face_index", *CSV_COLUMNS[2:]) if multi_face else CSV_COLUMNS


def _csv_row(where: list[Any], result: LightEstimate | None, error: str = "", index: tuple[Any, ...] = ()) -> list[Any]:
    """A CSV row: the ``where`` columns, then :data:`CSV_COLUMNS` after ``image``, with the ``index`` cells
    (``face_index``, or empty for an image without a face) after ``face`` when several faces are asked for."""
    if result is None:
        return [*where, False, *index] + [""] * (len(CSV_COLUMNS) - 3) + [error]
    d = result.to_dict()
    return [*where, True, *index, d["azimuth_deg"], d["elevation_deg"], *d["direction"], d["ambient"],
            d["intensity"], d["confidence"], *d["face_box"], d["method"], ""]  # fmt: skip


class _Progress:
    """``[i/n] name`` on stderr, rewritten in place, only when several items go to a terminal (``total``
    None: unknown, shown as ``[i]``)."""

    def __init__(self, total: int | None, stream: TextIO) -> None:
        self.total, self.stream = total, stream
        self.enabled = (total is None or total > 1) and stream.isatty()

    def __call__(self, done: int, name: str) -> None:
        if self.enabled:
            count = f"{done}" if self.total is None else f"{done}/{self.total}"
            self.stream.write(f"\r[{count}] {name[:60]:<60}")
            self.stream.flush()

    def close(self) -> None:
        """Clear the line (before anything else is written to the same terminal, and at the end)."""
        if self.enabled:
            self.stream.write("\r" + " " * 72 + "\r")
            self.stream.flush()


def _results(
    est: Estimator, paths: list[Path], images: bool
) -> Iterator[tuple[Path, Any, list[LightEstimate], str | None]]:
    """(path, image, estimates, error) per input, in order: no estimate means no face; a file that cannot be
    read gives its error.

    With one face asked for, ``estimate_path`` decodes big JPEGs reduced and the full image is read only when
    ``images`` (an overlay) asks; with several, the image is decoded whole for ``estimate_all``."""
    several = est.options.max_faces > 1
    for path in paths:
        try:
            if several:
                results = est.estimate_all(load_image(path))
            else:
                found = est.estimate_path(path)
                results = [] if found is None else [found]
            image = load_image(path) if images and results else None
        except (OSError, ValueError) as exc:
            yield path, None, [], str(exc)
            continue
        yield path, image, results, None


def _estimate(args: argparse.Namespace) -> int:
    if args.full and not args.json:
        raise UsageError("--full goes with --json")
    if args.points and args.overlay is None:
        raise UsageError("--points goes with --overlay")
    if args.max_faces < 1:
        raise UsageError(f"--max-faces must be at least 1, got {args.max_faces}")
    if args.max_faces > 1 and args.overlay is not None:
        raise UsageError("--overlay draws one face's light: use it without --max-faces")
    several = args.max_faces > 1
    paths = _expand(args.images, args.recursive)
    overlays = _overlay_targets(args.overlay, paths)
    failures = 0
    writer = csv.writer(sys.stdout, lineterminator="\n") if args.csv else None
    if writer is not None:
        writer.writerow(_csv_columns(several))
    progress = _Progress(len(paths), sys.stderr)
    shared_terminal = sys.stdout.isatty()  # the progress line must be cleared before each result line
    est_options = EstimatorOptions(args.method, args.landmarks, args.model, max_faces=args.max_faces)
    with Estimator(est_options) as est:
        for done, (path, image, results, error) in enumerate(_results(est, paths, bool(overlays)), start=1):
            if shared_terminal or error is not None:
                progress.close()
            failures += error is not None or not results
            if error is not None:
                print(f"{path}: error: {error}", file=sys.stderr)
            _print_rows(args, writer, path, results, error, several)
            if overlays and results:
                out = overlays[path]
                if not cv2.imwrite(str(out), draw_overlay(image, results[0], OverlayOptions(points=args.points))):
                    raise OSError(f"could not write overlay {out}")
            progress(done, path.name)
    progress.close()
    return EXIT_FAILED_IMAGES if failures else EXIT_OK


def _print_rows(
    args: argparse.Namespace, writer: Any, path: Path, results: list[LightEstimate], error: str | None, several: bool
) -> None:
    """One image's rows on stdout: one per face (``face_index`` numbers them when ``several``), or one saying
    there is no face (or, for --json and --csv, why the file could not be read)."""
    faces: list[tuple[int | None, LightEstimate | None]] = [
        (i if several else None, r) for i, r in enumerate(results)
    ] or [(None, None)]
    for index, result in faces:
        if args.json:
            row = _record({"image": str(path)}, result, args.full, index)
            print(json.dumps(row if error is None else {**row, "error": error}))
        elif writer is not None:
            cells = () if not several else ("",) if index is None else (index,)
            writer.writerow(_csv_row([str(path)], result, error or "", cells))
        elif error is not None:
            pass
        elif result is None:
            print(f"{path}: no face")
        else:
            face = "" if index is None else f" face {index}"
            print(
                f"{path}{face}: azimuth {result.azimuth_deg:+7.2f} deg  elevation {result.elevation_deg:+7.2f} deg  "
                f"confidence {result.confidence:.2f}  ({result.method})"
            )


def _video(args: argparse.Namespace) -> int:
    if args.full and not args.json:
        raise UsageError("--full goes with --json")
    if args.every < 1:
        raise UsageError(f"--every must be at least 1, got {args.every}")
    if not args.video:
        raise UsageError("an empty name was given as the video (an unset shell variable?)")
    total = frame_count(args.video)
    smoothing = SmoothingOptions(enabled=False, hold_ms=0.0) if args.no_smoothing else SmoothingOptions()
    writer = csv.writer(sys.stdout, lineterminator="\n") if args.csv else None
    progress = _Progress(None if total is None else -(-total // args.every), sys.stderr)
    found, last_index = 0, -1
    with Estimator(method=args.method, model_path=args.model, running_mode="video", smoothing=smoothing) as est:
        if writer is not None:
            writer.writerow(["frame", "timestamp_ms", *CSV_COLUMNS[1:], "held"])
        shared_terminal = sys.stdout.isatty()  # the progress line must be cleared before each result line
        for done, (frame, result) in enumerate(estimate_video(est, args.video, args.every), start=1):
            last_index = frame.index
            if shared_terminal:
                progress.close()
            found += result is not None
            stamp = round(frame.timestamp_ms, 3)
            if args.json:
                print(json.dumps(_record({"frame": frame.index, "timestamp_ms": stamp}, result, args.full)))
            elif writer is not None:
                writer.writerow([*_csv_row([frame.index, stamp], result), result is not None and result.held])
            elif result is None:
                print(f"frame {frame.index:>6}  {stamp / 1000:9.3f} s: no face")
            else:
                print(
                    f"frame {frame.index:>6}  {stamp / 1000:9.3f} s: azimuth {result.azimuth_deg:+7.2f} deg  "
                    f"elevation {result.elevation_deg:+7.2f} deg  confidence {result.confidence:.2f}"
                    + ("  (held: no face in this frame)" if result.held else "")
                )
            progress(done, f"frame {frame.index}")
    progress.close()
    end = last_index + args.every  # the frames after the last one estimated were decoded, or the file ended
    if total is not None and end < total - max(2, total // 100):  # headers may round by a frame or two
        print(f"lightest: warning: {args.video} ended before frame {end}; its header declares {total} frames "
              "(cut short?)", file=sys.stderr)  # fmt: skip
    return EXIT_OK if found else EXIT_FAILED_IMAGES


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lightest`` command; returns the exit status (module docstring)."""
    if sys.stderr is None:  # started with 2>&- : messages go nowhere, as the user asked
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    args = _parser().parse_args(argv)
    if sys.stdout is None:  # started with >&- : nowhere to write the results
        print("lightest: error: stdout is closed; redirect it to a file or a pipe", file=sys.stderr)
        return EXIT_USAGE
    # FFmpeg's own log lines (a cut-off video's "overread") would land between ours; OpenCV reads this when its
    # FFmpeg backend starts, which is after this point in this process (lightest.video_file's docstring)
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    try:
        if args.command == "batch":
            return batch_command(args, _expand(args.images, args.recursive))
        if args.command == "serve":
            return serve_command(args)
        if args.command == "video":
            return _video(args)
        return _estimate(args)
    except BrokenPipeError:
        # stdout's reader closed it: no message, and nothing more for Python to flush into the pipe at exit
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (FileNotFoundError, ValueError, ImportError, OSError, RuntimeError) as exc:
        if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS and exc.filename is None:
            print(f"lightest: error: cannot write the results to stdout: {exc.strerror}", file=sys.stderr)
        else:
            print(f"lightest: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
