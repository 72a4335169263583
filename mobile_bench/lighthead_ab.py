"""Light-head graphs side by side: the invoke right after the face mesh, and again at once, interleaved.

``python -m mobile_bench lighthead-ab A.tflite B.tflite [...] [--rounds 600] [--size 640x480]``

For comparing two builds of the light-head graph (``python -m export lighthead``), say the shipped one and an
earlier one from git (``git show REV:lightest/models/lighthead.tflite > old.tflite``). Each round runs the
face mesh on the frame (:meth:`lightest.Estimator.detect_landmarks`, as the pipeline does before the light
head), feeds one graph the face's crop, landmarks and affine, and times ``invoke`` ("after mesh": what a frame
pays) and a second ``invoke`` straight after ("hot"); the graphs take turns in rotating order, so machine
noise hits all alike; medians and their ratios to the first graph are printed. Graphs are opened as plain
LiteRT interpreters (XNNPACK, 1 thread), without their cards: inputs are fed by signature name and reshaped to
each graph's own input shapes (older graphs took the crop as 192x192x3).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from lightest import Estimator
from lightest.litert import open_interpreter
from mobile_bench.stages import EXAMPLE, frame, machine_description

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mobile_bench lighthead-ab", description=__doc__.split("\n\n")[0])
    parser.add_argument("graphs", type=Path, nargs="+", help="light-head .tflite files")
    parser.add_argument("--rounds", type=int, default=600)
    parser.add_argument("--size", default="640x480", help="frame WIDTHxHEIGHT (default 640x480)")
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    img = frame(EXAMPLE, (w, h))
    cv2.setNumThreads(1)
    with Estimator(num_threads=1) as est:
        face = est.detect_landmarks(img)
        if face is None or face.crop is None:
            raise SystemExit(f"no face in the {w}x{h} test frame")
        values = {
            "crop": face.crop.image,
            "landmarks": face.crop.points.astype(np.float32),
            "crop_to_image": face.crop.to_image.astype(np.float32),
            "image_size": np.array([w, h], np.float32),
        }
        graphs = []
        for path in args.graphs:
            interp = open_interpreter(path, num_threads=1)
            runner = interp.get_signature_runner()
            feeds = [(d["index"], values[name].reshape(d["shape"])) for name, d in runner.get_input_details().items()]
            del runner  # a live signature runner blocks the interpreter's own invoke
            graphs.append((interp, feeds))
        after_mesh: list[list[float]] = [[] for _ in graphs]
        hot: list[list[float]] = [[] for _ in graphs]
        warmup = 20
        for r in range(args.rounds + warmup):
            order = list(range(len(graphs)))
            shift = r % len(order)
            for i in order[shift:] + order[:shift]:
                est.detect_landmarks(img)
                interp, feeds = graphs[i]
                for index, value in feeds:
                    interp.set_tensor(index, value)
                t0 = time.perf_counter()
                interp.invoke()
                t1 = time.perf_counter()
                interp.invoke()
                t2 = time.perf_counter()
                if r >= warmup:
                    after_mesh[i].append((t1 - t0) * 1e3)
                    hot[i].append((t2 - t1) * 1e3)
    print(f"machine: {machine_description()}; {w}x{h}, 1 thread; {args.rounds} interleaved rounds, medians")
    base_after, base_hot = float(np.median(after_mesh[0])), float(np.median(hot[0]))
    print(f"{'graph':<48}{'bytes':>9}{'after mesh ms':>15}{'ratio':>7}{'hot ms':>9}{'ratio':>7}")
    for path, a, b in zip(args.graphs, after_mesh, hot, strict=True):
        ma, mb = float(np.median(a)), float(np.median(b))
        ratios = f"{ma:>15.4f}{ma / base_after:>7.2f}{mb:>9.4f}{mb / base_hot:>7.2f}"
        print(f"{path!s:<48}{path.stat().st_size:>9}{ratios}")
    return 0
