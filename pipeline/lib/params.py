"""params.yaml, validated as a whole before any stage does heavy work.

Each rule says what a key allows, so an error can name the key and the allowed values.
"""

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.lib import paths
from pipeline.lib.cli import PipelineError
from pipeline.lib.variants import CELLS, OPTIMIZERS, POOLINGS

SIDES = ("pre", "post")
STRATEGIES = ("none", "mirrored", "multi_worker")
INITS = ("random", "word2vec")  # how the Embedding layer's weights start (the embed stage)
MONITORS = ("val_loss", "val_accuracy")  # what early stopping watches: the loss falls, the accuracy rises


@dataclass(frozen=True)
class Rule:
    allowed: str
    check: Callable[[Any], bool]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def integer(low: int, high: int) -> Rule:
    """Bounded above too: a value past what the libraries or this machine's memory take would crash
    a stage after DVC removed its outputs."""
    return Rule(f"an integer in [{low}, {high}]", lambda v: _is_int(v) and low <= v <= high)


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
        return bool(v) and all(_is_int(u) and 1 <= u <= MAX_UNITS for u in v)
    return _is_int(v) and 1 <= v <= MAX_UNITS


def boolean() -> Rule:
    return Rule("true or false", lambda v: isinstance(v, bool))


def _hex_digest(v: Any) -> bool:
    return isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)


def sha256(optional: str = "") -> Rule:
    """Lower case, as sha256sum prints it and download compares it: one spelling of each digest."""
    if optional:
        return Rule(f"64 lower-case hex digits, or an empty string {optional}", lambda v: v == "" or _hex_digest(v))
    return Rule("64 lower-case hex digits (sha256sum of the archive)", _hex_digest)


INF = float("inf")
SEEDS = 2**32 - 1  # NumPy's and TensorFlow's seeds are 32-bit
MAX_UNITS = 4096  # an LSTM layer of 4,096 units holds 134 M weights: 2 GB of float32 with gradients and Adam's slots
MAX_MAXLEN = 10_000  # IMDb's longest review has about 2,500 tokens; 25,000 x 10,000 int32 is 1 GB a split
MAX_EMBEDDING = 100_000_000  # num_words x embedding_dim: 1.6 GB of float32 with gradients and Adam's slots


def schema() -> dict[str, dict[str, Rule]]:
    """Every section, key and rule; built per call, so that each rule runs the code a test can see."""
    return {
        "data": {
            "url": text("a URL, a file:// URL or a local path"),
            "sha256": sha256(),
            "reviews_sha256": sha256("to accept only the archive's own bytes"),
            "timeout": number(0, 3600, open_high=False),
            "retries": integer(0, 100),
        },
        "prepare": {"reviews_per_split": integer(0, 10_000_000)},
        "encode": {"num_words": integer(2, 10_000_000)},
        "pad": {"maxlen": integer(1, MAX_MAXLEN), "padding": one_of(SIDES), "truncating": one_of(SIDES)},
        "embed": {"init": one_of(INITS), "window": integer(1, 100), "epochs": integer(1, 1_000)},
        "model": {
            "cell": one_of(tuple(CELLS)),
            "bidirectional": boolean(),
            "layers": integer(1, 16),
            "units": Rule(f"an integer in [1, {MAX_UNITS}], or a list of them (one per layer)", _units),
            "embedding_dim": integer(1, MAX_UNITS),
            "embedding_dropout": number(0, 1, open_low=False),
            "dense_units": integer(1, 65_536),
            "dense_dropout": number(0, 1, open_low=False),
            "unroll": boolean(),
            "pooling": one_of(tuple(POOLINGS)),
            "mask_padding": boolean(),
            "spatial_dropout": number(0, 1, open_low=False),
            "recurrent_dropout": number(0, 1, open_low=False),
        },
        "train": {
            "optimizer": one_of(tuple(OPTIMIZERS)),
            "learning_rate": number(0, 10, open_high=False),
            "batch_size": integer(1, 1_000_000),
            "epochs": integer(1, 10_000),
            "validation_split": number(0, 1),
            "seed": integer(0, SEEDS),
            "early_stopping_patience": integer(0, 10_000),
            "early_stopping_monitor": one_of(MONITORS),
            "distribute": one_of(STRATEGIES),
            "workers": integer(1, 256),
        },
        "evaluate": {
            "threshold": number(0, 1),
            "samples": integer(0, 1_000),  # sample and misclassified reviews go to git-tracked CSVs
            "misclassified": integer(0, 1_000),
            "seed": integer(0, SEEDS),
        },
        "baseline": {
            "max_features": optional(integer(1, 10_000_000)),
            "ngram_max": integer(1, 5),
            "C": number(0, 1e6, open_high=False),
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
    if model["mask_padding"] and model["bidirectional"] and model["unroll"] and _returns_sequences(model):
        raise PipelineError(
            f"{source}: model.mask_padding = true with model.bidirectional = true and model.unroll = true:"
            " Keras' unrolled backward layer applies the mask in the wrong order to its sequence output"
            " (more than one layer, or pooling); set model.unroll: false"
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
    words, dim = params["encode"]["num_words"], model["embedding_dim"]
    if words * dim > MAX_EMBEDDING:
        raise PipelineError(
            f"{source}: encode.num_words x model.embedding_dim = {words} x {dim} = {words * dim:,} embedding"
            f" weights: at most {MAX_EMBEDDING:,} fit in memory for training"
        )
    units = model["units"]
    if isinstance(units, list) and len(units) != model["layers"]:
        raise PipelineError(
            f"{source}: model.units lists {len(units)} sizes but model.layers = {model['layers']}:"
            " give one size per layer, or a single integer"
        )


def _returns_sequences(model: dict[str, Any]) -> bool:
    """Whether some recurrent layer hands on its whole sequence: to another layer, or to pooling."""
    return model["layers"] > 1 or model["pooling"] != "last"


class StrictLoader(yaml.SafeLoader):
    """YAML without aliases or repeated keys: an alias can expand a few lines into billions of
    nodes, and a repeated key silently keeps its last value."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.MarkedYAMLError(
                problem="aliases (*name) are not allowed", problem_mark=self.peek_event().start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


# YAML 1.2's floats, as DVC writes them and users type them: PyYAML (YAML 1.1) reads `1e-3` as a string.
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read(path: Path = paths.PARAMS) -> Any:
    """params.yaml as YAML data, every way it can be unreadable said in one line."""
    try:
        return yaml.load(path.read_bytes().decode("utf-8"), Loader=StrictLoader)
    except FileNotFoundError:
        raise PipelineError(f"{path}: not found (run from the repository root)") from None
    except UnicodeDecodeError as error:
        raise PipelineError(
            f"{path}: not UTF-8 text (byte {error.object[error.start]:#04x} at offset {error.start})"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise PipelineError(f"{path}: invalid YAML{where}: {problem}") from None


def load_all(path: Path = paths.PARAMS) -> dict[str, dict[str, Any]]:
    """Read and validate the whole params.yaml (the `check` stage)."""
    return validate(read(path), path)


def load(reads: Sequence[str], path: Path = paths.PARAMS) -> dict[str, dict[str, Any]]:
    """The sections and `section.key`s a stage declares (its PARAMS, which dvc.yaml's `params:` lists
    too), after validating the whole file: a stage that reads an undeclared key fails at once,
    instead of DVC missing that key's edits and serving a stale output."""
    everything = load_all(path)
    handed: dict[str, dict[str, Any]] = {}
    for name in reads:
        section, _, key = name.partition(".")
        if key:
            handed.setdefault(section, {})[key] = everything[section][key]
        else:
            handed[section] = everything[section]
    return handed


def layer_units(model: dict[str, Any]) -> list[int]:
    """model.units as one size per recurrent layer."""
    units = model["units"]
    return list(units) if isinstance(units, list) else [units] * model["layers"]
