"""params.yaml, validated as a whole before any stage does heavy work.

Each rule says what a key allows, so an error can name the key and the allowed values.
"""

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.lib import paths
from pipeline.lib.cli import PipelineError

CELLS = ("simple_rnn", "lstm", "gru")
OPTIMIZERS = ("adam", "rmsprop", "sgd", "adamw")
SIDES = ("pre", "post")
STRATEGIES = ("none", "mirrored", "multi_worker")


@dataclass(frozen=True)
class Rule:
    allowed: str
    check: Callable[[Any], bool]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def integer(low: int) -> Rule:
    return Rule(f"an integer >= {low}", lambda v: _is_int(v) and v >= low)


def number(low: float, high: float, *, open_low: bool = True, open_high: bool = True) -> Rule:
    left, right = "(" if open_low else "[", ")" if open_high else "]"

    def check(v: Any) -> bool:
        return _is_number(v) and (v > low if open_low else v >= low) and (v < high if open_high else v <= high)

    return Rule(f"a number in {left}{low}, {high}{right}", check)


def one_of(choices: tuple[str, ...]) -> Rule:
    return Rule(f"one of {', '.join(choices)}", lambda v: v in choices)


def text(pattern: str = "a string") -> Rule:
    return Rule(pattern, lambda v: isinstance(v, str))


def optional(rule: Rule) -> Rule:
    return Rule(f"{rule.allowed}, or null", lambda v: v is None or rule.check(v))


def _units(v: Any) -> bool:
    if isinstance(v, list):
        return bool(v) and all(_is_int(u) and u >= 1 for u in v)
    return _is_int(v) and v >= 1


def boolean() -> Rule:
    return Rule("true or false", lambda v: isinstance(v, bool))


def sha256() -> Rule:
    return Rule(
        "64 hex digits, or an empty string to skip the check",
        lambda v: (
            isinstance(v, str) and (v == "" or (len(v) == 64 and all(c in "0123456789abcdef" for c in v.lower())))
        ),
    )


INF = float("inf")


def schema() -> dict[str, dict[str, Rule]]:
    """Every section, key and rule; built per call, so that each rule runs the code a test can see."""
    return {
        "data": {
            "url": text("a URL, a file:// URL or a local path"),
            "sha256": sha256(),
            "reviews_sha256": sha256(),
            "timeout": number(0, INF),
            "retries": integer(0),
        },
        "prepare": {"reviews_per_split": integer(0)},
        "encode": {"num_words": integer(2)},
        "pad": {"maxlen": integer(1), "padding": one_of(SIDES), "truncating": one_of(SIDES)},
        "model": {
            "cell": one_of(CELLS),
            "bidirectional": boolean(),
            "layers": integer(1),
            "units": Rule("a positive integer, or a list of them (one per layer)", _units),
            "embedding_dim": integer(1),
            "embedding_dropout": number(0, 1, open_low=False),
            "dense_units": integer(1),
            "dense_dropout": number(0, 1, open_low=False),
            "unroll": boolean(),
        },
        "train": {
            "optimizer": one_of(OPTIMIZERS),
            "learning_rate": number(0, INF),
            "batch_size": integer(1),
            "epochs": integer(1),
            "validation_split": number(0, 1),
            "seed": integer(0),
            "early_stopping_patience": integer(0),
            "distribute": one_of(STRATEGIES),
            "workers": integer(1),
        },
        "evaluate": {
            "threshold": number(0, 1),
            "samples": integer(0),
            "misclassified": integer(0),
            "seed": integer(0),
        },
        "baseline": {
            "max_features": optional(integer(1)),
            "ngram_max": integer(1),
            "C": number(0, INF),
        },
    }


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else f"known: {', '.join(known)}"


def validate(params: Any, source: Path = paths.PARAMS) -> dict[str, dict[str, Any]]:
    """Check every section and key against schema(); raise one PipelineError naming the first bad key.

    Unknown names come first: a renamed key is reported as the typo it is ("did you mean
    train.epochs?"), not as the real key missing.
    """
    if not isinstance(params, dict):
        raise PipelineError(f"{source}: expected a mapping of sections, got {type(params).__name__}")
    rules_of = schema()
    for section in params:
        if section not in rules_of:
            raise PipelineError(f"{source}: unknown section '{section}': {_suggest(str(section), list(rules_of))}")
    for section, rules in rules_of.items():
        values = params.get(section)
        if not isinstance(values, dict):
            raise PipelineError(f"{source}: section '{section}' is missing or not a mapping")
        for key in values:
            if key not in rules:
                known = [f"{section}.{name}" for name in rules]
                raise PipelineError(f"{source}: unknown key {section}.{key}: {_suggest(f'{section}.{key}', known)}")
        for key, rule in rules.items():
            if key not in values:
                raise PipelineError(f"{source}: {section}.{key} is missing ({rule.allowed})")
            if not rule.check(values[key]):
                raise PipelineError(f"{source}: {section}.{key} = {values[key]!r} is invalid: expected {rule.allowed}")
    _check_combinations(params, source)
    return params


def describe() -> dict[str, str]:
    """Every key and what it allows, as the `check` stage records it."""
    return {f"{section}.{key}": rule.allowed for section, rules in schema().items() for key, rule in rules.items()}


# Unrolling builds one copy of the cell per time step: past a few hundred steps the graph's
# build time and memory outgrow any gain.
MAX_UNROLL = 400


def _check_combinations(params: dict[str, Any], source: Path) -> None:
    model = params["model"]
    if model["unroll"] and params["pad"]["maxlen"] > MAX_UNROLL:
        raise PipelineError(
            f"{source}: model.unroll = true with pad.maxlen = {params['pad']['maxlen']}: unrolling is for"
            f" sequences of at most {MAX_UNROLL} steps; set model.unroll: false"
        )
    train = params["train"]
    if train["workers"] > 1 and train["distribute"] != "multi_worker":
        raise PipelineError(
            f"{source}: train.workers = {train['workers']} with train.distribute = {train['distribute']}:"
            " more than one worker needs train.distribute: multi_worker"
        )
    if train["batch_size"] < train["workers"]:
        raise PipelineError(
            f"{source}: train.batch_size = {train['batch_size']} is smaller than train.workers = {train['workers']}:"
            " the global batch is shared out, so some workers would have no examples"
        )
    units = model["units"]
    if isinstance(units, list) and len(units) != model["layers"]:
        raise PipelineError(
            f"{source}: model.units lists {len(units)} sizes but model.layers = {model['layers']}:"
            " give one size per layer, or a single integer"
        )


def load(path: Path = paths.PARAMS) -> dict[str, dict[str, Any]]:
    """Read and validate params.yaml."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: not found (run from the repository root)") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise PipelineError(f"{path}: invalid YAML{where}: {problem}") from None
    return validate(raw, path)


def layer_units(model: dict[str, Any]) -> list[int]:
    """model.units as one size per recurrent layer."""
    units = model["units"]
    return list(units) if isinstance(units, list) else [units] * model["layers"]
