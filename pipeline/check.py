"""Stage `check`: validate the whole params.yaml before any other stage runs.

DVC removes a stage's outputs before it runs the stage's command, so a typo found inside
`train` would already have cost the trained model. Every stage depends on this stage's output,
so DVC runs it first and stops at its error with every output in place. The output is the
schema the file passed: it changes only with the rules, so a passing check re-runs nothing.
"""

import logging

from pipeline.lib import params, paths
from pipeline.lib.cli import run
from pipeline.lib.files import write_json

log = logging.getLogger("check")


def main() -> None:
    params.load_all()
    write_json(paths.PARAMS_SCHEMA, params.describe())
    log.info("%s: every key valid", paths.PARAMS)


if __name__ == "__main__":
    run(main)
