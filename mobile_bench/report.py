"""``python -m mobile_bench report``: run the benchmarks and print one table with the phone-budget verdict.

Runs ``pytest mobile_bench`` (pytest-benchmark, raw timings kept), then prints median and p95 of every
stage, the shipped models' sizes, parameters and ops, and the checks: light head <= 0.1 ms, our regressor
vs the seed's Keras ``predict`` / ``model(x)``, and the thesis's 0.3 s phone guess; then the same-process,
interleaved comparison against bare MediaPipe (:mod:`mobile_bench.compare`) with its bars. Saves the raw
pytest-benchmark JSON and a summary under ``data/bench/``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from lightest.model_card import card_path_for
from mobile_bench.compare import main as compare_main
from mobile_bench.conftest import MODELS, REPO
from mobile_bench.stages import machine_description

OUT = REPO / "data" / "bench"
PHONE_BUDGET_MS = 300.0  # the thesis's guess for its pipeline on a phone
LIGHT_HEAD_BUDGET_MS = 0.1


def run_benchmarks(json_path: Path, extra: list[str]) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "mobile_bench"),
        "-q",
        "-p",
        "no:cacheprovider",
        f"--benchmark-json={json_path}",
        "--benchmark-save-data",
        "--benchmark-disable-gc",
        *extra,
    ]
    print("running:", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, cwd=REPO)


def summarise(raw: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Benchmark name -> median and p95 in milliseconds."""
    out = {}
    for b in raw["benchmarks"]:
        data = np.asarray(b["stats"].get("data") or [b["stats"]["median"]]) * 1e3
        out[b["fullname"].split("::", 1)[1]] = {
            "group": b["group"],
            "median_ms": float(np.median(data)),
            "p95_ms": float(np.percentile(data, 95)),
            "rounds": int(b["stats"]["rounds"]),
        }
    return out


def model_sizes() -> list[dict[str, Any]]:
    """Every shipped graph (light head, regressors, face detector and mesh) with its card's ops and GPU check."""
    rows = []
    for path in sorted(MODELS.glob("*.tflite")):
        card = json.loads(card_path_for(path).read_text())
        export = card.get("export", card)  # regressor cards nest it; the light-head card holds it at the top
        rows.append(
            {
                "file": path.name,
                "bytes": path.stat().st_size,
                "parameters": export.get("parameters"),
                "ops": export.get("ops"),
                "gpu_delegate_compatible": export.get("gpu_delegate_compatible"),
            }
        )
    for path in sorted((MODELS / "face").glob("*.tflite")):
        rows.append({"file": f"face/{path.name}", "bytes": path.stat().st_size, "parameters": None, "ops": None,
                     "gpu_delegate_compatible": None})
    return rows


def _find(stats: dict[str, dict[str, float]], name: str) -> float | None:
    return stats[name]["median_ms"] if name in stats else None


def checks(stats: dict[str, dict[str, float]]) -> list[tuple[str, str]]:
    """(check, verdict with the measured numbers) pairs."""
    out = []
    head = _find(stats, "test_light_head[640x480]")
    if head is not None:
        ok = "PASS" if head <= LIGHT_HEAD_BUDGET_MS else "FAIL"
        out.append(("light head <= 0.1 ms (640x480, hot loop)", f"{ok}: {head:.4f} ms"))
    ours, predict, call = (
        _find(stats, n) for n in ("test_regressor_invoke[int8]", "test_seed_keras_predict", "test_seed_keras_call")
    )
    if ours is not None and predict is not None:
        out.append(("seed Keras predict / our int8 invoke", f"{predict:.3f} / {ours:.4f} ms = {predict / ours:,.0f}x"))
    if ours is not None and call is not None:
        out.append(("seed Keras model(x) / our int8 invoke", f"{call:.3f} / {ours:.4f} ms = {call / ours:,.0f}x"))
    e2e = _find(stats, "test_end_to_end[640x480-image-model]")
    if e2e is not None:
        out.append(
            (
                "0.3 s phone budget (thesis guess), 640x480 end-to-end here",
                f"{e2e:.2f} ms = {100 * e2e / PHONE_BUDGET_MS:.1f} % of the budget on this machine",
            )
        )
    return out


def format_report(
    stats: dict[str, dict[str, float]], sizes: list[dict[str, Any]], verdicts: list[tuple[str, str]]
) -> str:
    lines = [
        f"machine: {machine_description()}; 1 thread",
        "",
        f"{'benchmark':<52}{'median ms':>11}{'p95 ms':>11}{'rounds':>8}",
    ]
    for name, s in sorted(stats.items(), key=lambda kv: (kv[1]["group"], kv[0])):
        lines.append(f"{name:<52}{s['median_ms']:>11.4f}{s['p95_ms']:>11.4f}{s['rounds']:>8}")
    lines += ["", f"{'model':<28}{'bytes':>9}{'params':>9}  ops (GPU delegate compatible)"]
    for m in sizes:
        ops = ",".join(m["ops"] or [])
        lines.append(
            f"{m['file']:<28}{m['bytes']:>9}{m['parameters'] or '':>9}  {ops} ({m['gpu_delegate_compatible']})"
        )
    lines += [""] + [f"{c}: {v}" for c, v in verdicts]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mobile_bench report", description=__doc__)
    parser.add_argument("--from-json", type=Path, help="summarise an existing pytest-benchmark JSON instead of running")
    parser.add_argument("--rounds", type=int, default=300, help="interleaved rounds of the comparison")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, e.g. -k end_to_end")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    json_path = args.from_json or OUT / f"benchmarks-{time.strftime('%Y%m%d-%H%M%S')}.json"
    if args.from_json is None:
        run_benchmarks(json_path, args.pytest_args)
    stats = summarise(json.loads(json_path.read_text()))
    sizes, verdicts = model_sizes(), checks(stats)
    print(format_report(stats, sizes, verdicts))
    summary = {
        "machine": machine_description(),
        "benchmarks": stats,
        "models": sizes,
        "checks": dict(verdicts),
        "raw": str(json_path),
    }
    (OUT / "report.json").write_text(json.dumps(summary, indent=1))
    print()
    compare_main(["--rounds", str(args.rounds), "--json", str(OUT / "compare.json")])
    return 0
