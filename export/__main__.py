"""``python -m export RUN ...`` (regressor variants), ``python -m export lighthead ...`` (the light-head graph),
``python -m export sha256 FILE.tflite ...`` (record digests in existing cards)."""

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from lightest.commands import one_line_errors

    return one_line_errors("python -m export", lambda: _main(argv))


def _main(argv: list[str]) -> int:
    if argv[:1] == ["lighthead"]:
        from export.lighthead import main as lighthead_main

        return lighthead_main(argv[1:])
    if argv[:1] == ["sha256"]:
        from export.convert import record_sha256

        record_sha256([Path(p) for p in argv[1:]])
        return 0
    from export.convert import main as convert_main

    return convert_main(argv)


raise SystemExit(main(sys.argv[1:]))
