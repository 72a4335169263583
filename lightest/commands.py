"""Sub-command dispatch with one-line errors, for the ``python -m`` tools beside the runtime (``training``,
``mobile_bench``, ``export``, ``blender_gen``): ``--help`` lists the commands, and a mistake the tool reports
(a missing file, a bad value, a folder that cannot be written) ends as ``prog: error: ...`` with exit status 2
instead of a traceback. Bugs (any other exception) still show their traceback.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence

__all__ = ["USER_ERRORS", "dispatch", "one_line_errors"]

#: Exceptions that mean "the input or the environment is wrong", not "the code is wrong" (a TOML syntax error
#: is a ValueError).
USER_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError)


def one_line_errors(prog: str, run: Callable[[], int]) -> int:
    """``run()``'s exit status, or 2 with ``prog: error: message`` on stderr for a :data:`USER_ERRORS`."""
    try:
        return run()
    except USER_ERRORS as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2


def dispatch(prog: str, commands: dict[str, tuple[Callable[[list[str]], int], str]], argv: Sequence[str]) -> int:
    """Run ``commands[argv[0]]`` (a ``main(argv)`` and a one-line description) on the rest of ``argv``;
    without a known command, list them (on stdout for ``-h``/``--help``, exit 0; else on stderr, exit 2)."""
    argv = list(argv)
    if not argv or argv[0] not in commands:
        width = max(map(len, commands))
        listing = "\n".join(f"  {name:<{width}}  {text}" for name, (_, text) in commands.items())
        asked = argv[:1] in (["-h"], ["--help"])
        unknown = "" if not argv or asked else f"{prog}: unknown command {argv[0]!r}\n"
        with contextlib.suppress(BrokenPipeError):  # `--help | head -1`: the reader has what it wanted
            print(f"{unknown}usage: {prog} COMMAND [options]  (COMMAND --help for its options)\n\n{listing}",
                  file=sys.stdout if asked else sys.stderr)  # fmt: skip
        return 0 if asked else 2
    main = commands[argv[0]][0]
    return one_line_errors(f"{prog} {argv[0]}", lambda: main(argv[1:]))
