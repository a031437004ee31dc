"""One-line errors for users' mistakes; tracebacks only when PIPELINE_DEBUG=1."""

import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path


class PipelineError(Exception):
    """A failure the user can act on: bad input, bad parameter, missing file, no network."""


def debug_enabled() -> bool:
    return os.environ.get("PIPELINE_DEBUG", "") not in ("", "0")


def run(main: Callable[[], None], guard: bool = True) -> None:
    """Run a stage's main(): log to stderr, turn a PipelineError into one line and exit 1.

    With `guard`, a command that dvc.yaml declares as a stage runs under guard.guarded (its inputs
    checked against dvc.lock, one writer at a time, nothing kept of a failed or interrupted run).
    SIGTERM (what `dvc` sends its stage when stopped) unwinds like Ctrl-C, so what the stage wrote
    is removed on the way out.
    """
    from pipeline.lib.guard import guarded  # guard needs PipelineError from here

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(
        level=logging.DEBUG if debug_enabled() else logging.INFO,
        format="%(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if guard:
            with guarded(Path(sys.argv[0]).stem):
                main()
        else:
            main()
    except PipelineError as error:
        if debug_enabled():
            raise
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
