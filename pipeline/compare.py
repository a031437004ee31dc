"""Is the difference between two runs real? `python -m pipeline.compare [REV_A] [REV_B] [--md]`.

REV_A and REV_B are commits, branches, tags or `dvc exp` names; by default HEAD against the
workspace. Both models' test scores (paths.MODEL_SCORES, DVC-cached) are read at each revision
with DVC's own file system, from the cache or the remote, and paired review by review:

- each accuracy with its 95% bootstrap interval over the test reviews;
- B - A with its paired interval, and McNemar's exact p-value on the reviews only one gets right;
- for the RNN, the seed-noise band of the two configurations, from the seed studies
  (paths.SEEDS, paths.STUDY_SUMMARY) whose `config` is the revision's params.yaml without
  train.seed: 1.96 * sqrt(sd_a^2 + sd_b^2); a configuration without a study borrows the other's sd.
  A record (or revision) older than a parameter ran with what that parameter now defaults to:
  the key is read from the workspace's params.yaml, so new options do not orphan old studies.

One verdict per model: "within test-set noise" if the difference's interval holds 0 or
p >= 0.05. Else, when both configurations have a seed study, the studies decide (one run of each
says less than several): "real at 95%" if Welch's 95% interval of the difference of their means
excludes 0 on the side of B - A, "within seed noise" if not (the same configuration always is).
With one study or none, "within seed noise" if |B - A| is within the band, else "real at 95%".
Runs from the repository's root, without TensorFlow.
"""

import argparse
import csv
import io
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pipeline.lib import paths, significance
from pipeline.lib.cli import PipelineError, run

ALPHA = 0.05
Z = 1.96  # the normal quantile of a 95% band
WORKSPACE = "workspace"
TEST_NOISE, SEED_NOISE, REAL = "within test-set noise", "within seed noise", "real at 95%"
SEED = "train.seed"
RECORD_KEYS = {"name", "params", "config", "seeds", "accuracies", "mean", "sd"}


@dataclass(frozen=True)
class Revision:
    """One side of the comparison: its name, its params.yaml and each model's scores."""

    name: str
    params: dict[str, Any]
    scores: dict[str, dict[str, np.ndarray]]  # model -> id, label, probability, sorted by id


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"train": {"seed": 42}} -> {"train.seed": 42}: params.yaml's keys as `-S`, `dvc params diff`
    and the seed records name them, values as JSON gives them back."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return json.loads(json.dumps(flat))


def configuration(flat: dict[str, Any]) -> dict[str, Any]:
    """What a seed study holds fixed: every key of the flattened params but the seed."""
    return {key: value for key, value in flat.items() if key != SEED}


def read_scores(text: str, source: str) -> dict[str, np.ndarray]:
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or set(rows[0]) != {"id", "label", "probability"}:
        raise PipelineError(f"{source}: expected the columns id, label, probability")
    ids = np.array([int(row["id"]) for row in rows])
    order = np.argsort(ids, kind="stable")
    return {
        "id": ids[order],
        "label": np.array([int(row["label"]) for row in rows])[order],
        "probability": np.array([float(row["probability"]) for row in rows])[order],
    }


def load_revision(rev: str | None) -> Revision:
    """params.yaml and the scores at `rev` (None: the workspace), through DVC's file system."""
    from dvc.api import DVCFileSystem
    from dvc.exceptions import DvcException
    from dvc.scm import RevError

    name = rev or WORKSPACE
    try:
        fs = DVCFileSystem(".", rev=rev)
        fs.repo  # opened lazily: an unknown revision shows here  # noqa: B018
    except RevError:
        raise PipelineError(f"unknown revision {rev!r}: not a commit, branch, tag or experiment name") from None
    except DvcException as error:
        raise PipelineError(f"{name}: {error}") from None
    try:
        params = yaml.safe_load(fs.read_text(paths.PARAMS.as_posix()))
    except FileNotFoundError:
        raise PipelineError(f"{name}: no {paths.PARAMS}") from None
    scores = {}
    for model, path in paths.MODEL_SCORES.items():
        try:
            text = fs.read_text(path.as_posix())
        except (FileNotFoundError, DvcException):
            raise PipelineError(f"{name}: {path} not found: {advice(fs, path, rev)}") from None
        scores[model] = read_scores(text, f"{path} at {name}")
    return Revision(name, params, scores)


def advice(fs: Any, path: Path, rev: str | None) -> str:
    """How to get a revision's scores: recorded in its dvc.lock means cached somewhere (pull them),
    otherwise that run predates them or never happened (run the pipeline)."""
    try:
        recorded = path.as_posix() in fs.read_text(paths.DVC_LOCK.as_posix())
    except FileNotFoundError:
        recorded = False
    if recorded:
        return "dvc.lock records it, but it is in neither the cache nor the remote: `dvc pull` (or `dvc repro`)"
    return "no run of this revision wrote it (not in its dvc.lock): run the pipeline (`dvc repro` or `dvc exp run`)"


def seed_records(files: tuple[Path, ...] = (paths.SEEDS, paths.STUDY_SUMMARY, paths.MOONSHOT)) -> list[dict]:
    """Every seed study recorded in the workspace; a malformed file is an error naming it."""
    records = []
    for path in files:
        if not path.exists():
            continue
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise PipelineError(f"{path}: not valid JSON ({error})") from None
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and set(e) >= RECORD_KEYS and isinstance(e["config"], dict) for e in entries
        ):
            raise PipelineError(f"{path}: expected a list of seed records with keys {', '.join(sorted(RECORD_KEYS))}")
        records.extend(entries)
    return records


def same_configuration(a: dict[str, Any], b: dict[str, Any], defaults: dict[str, Any]) -> bool:
    """a == b, a key that one side predates standing at its value in `defaults`."""
    return all(a.get(key, defaults.get(key)) == b.get(key, defaults.get(key)) for key in a.keys() | b.keys())


def seed_sd(params: dict[str, Any], records: list[dict], defaults: dict[str, Any] | None = None) -> dict | None:
    """The seed study of this configuration (the one with the most seeds), if any."""
    config, defaults = configuration(flatten(params)), defaults or {}
    found = [
        record
        for record in records
        if same_configuration(record["config"], config, defaults) and len(record["seeds"]) >= 2
    ]
    return max(found, key=lambda record: len(record["seeds"]), default=None)


def seed_band(a: dict | None, b: dict | None) -> float | None:
    """1.96 * sqrt(sd_a^2 + sd_b^2), a missing side borrowing the other's sd; None without either."""
    if a is None and b is None:
        return None
    sd_a, sd_b = (a or b)["sd"], (b or a)["sd"]
    return Z * math.hypot(sd_a, sd_b)


def means_difference(a: dict, b: dict) -> tuple[float, tuple[float, float]]:
    """b's mean minus a's over their seeds, with Welch's 95% interval (unequal variances and seeds)."""
    from scipy import stats

    share_a, share_b = a["sd"] ** 2 / len(a["seeds"]), b["sd"] ** 2 / len(b["seeds"])
    difference, error = b["mean"] - a["mean"], math.sqrt(share_a + share_b)
    if error == 0:
        return difference, (difference, difference)
    freedom = (share_a + share_b) ** 2 / (share_a**2 / (len(a["seeds"]) - 1) + share_b**2 / (len(b["seeds"]) - 1))
    half = float(stats.t.ppf(1 - ALPHA / 2, freedom)) * error
    return difference, (difference - half, difference + half)


def verdict(result: dict, band: float | None, means: tuple[float, tuple[float, float]] | None = None) -> str:
    low, high = result["difference_interval"]
    if low <= 0 <= high or result["p"] >= ALPHA:
        return TEST_NOISE
    if means is not None:
        low, high = means[1]
        beyond = low > 0 if result["difference"] > 0 else high < 0
        return REAL if beyond else SEED_NOISE
    if band is not None and abs(result["difference"]) <= band:
        return SEED_NOISE
    return REAL


def correct(scores: dict[str, np.ndarray], threshold: float) -> np.ndarray:
    return (scores["probability"] >= threshold).astype(int) == scores["label"]


def compare(a: Revision, b: Revision, records: list[dict], defaults: dict[str, Any] | None = None) -> list[dict]:
    """One row per model: the paired results, the seed band (RNN only) and the verdict."""
    rows = []
    for model in paths.MODEL_SCORES:
        sa, sb = a.scores[model], b.scores[model]
        if not np.array_equal(sa["id"], sb["id"]) or not np.array_equal(sa["label"], sb["label"]):
            raise PipelineError(
                f"{model}: {a.name} and {b.name} scored different test reviews; pairing needs the same test set"
            )
        result = significance.paired(
            correct(sa, a.params["evaluate"]["threshold"]), correct(sb, b.params["evaluate"]["threshold"])
        )
        # The baseline has no seed: its scores are a function of its params and data.
        studies = (
            (seed_sd(a.params, records, defaults), seed_sd(b.params, records, defaults))
            if model == "rnn"
            else (None, None)
        )
        band = seed_band(*studies)
        means = means_difference(*studies) if None not in studies else None
        rows.append(
            {
                "model": model,
                **result,
                "studies": studies,
                "band": band,
                "means": means,
                "verdict": verdict(result, band, means),
            }
        )
    return rows


def accuracy_cell(value: float, bounds: tuple[float, float]) -> str:
    return f"{value:.4f} [{bounds[0]:.4f}, {bounds[1]:.4f}]"


def difference_cell(row: dict) -> str:
    low, high = row["difference_interval"]
    return f"{row['difference']:+.4f} [{low:+.4f}, {high:+.4f}]"


def band_cell(row: dict) -> str:
    if row["band"] is None:
        return "none" if row["model"] == "rnn" else "no seed"
    seeds = "/".join(str(len(study["seeds"])) if study else "-" for study in row["studies"])
    if row["means"] is not None:
        difference, (low, high) = row["means"]
        return f"means {difference:+.4f} [{low:+.4f}, {high:+.4f}] ({seeds} seeds)"
    return f"±{row['band']:.4f} ({seeds} seeds)"


def p_cell(p: float) -> str:
    return f"{p:.3g}"


def text_report(a: Revision, b: Revision, rows: list[dict]) -> str:
    header = ("model", a.name, b.name, f"{b.name} - {a.name}", "McNemar p", "seed noise")
    table = [header] + [
        (
            row["model"],
            accuracy_cell(row["a"], row["a_interval"]),
            accuracy_cell(row["b"], row["b_interval"]),
            difference_cell(row),
            p_cell(row["p"]),
            band_cell(row),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [
        f"test accuracy, {a.name} against {b.name}, on {rows[0]['reviews']:,} test reviews "
        f"(95% bootstrap intervals; McNemar's exact test)"
    ]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table]
    lines += [f"{row['model']}: {row['verdict']}" for row in rows]
    return "\n".join(lines) + "\n"


def markdown_report(a: Revision, b: Revision, rows: list[dict]) -> str:
    lines = [
        f"| model | {a.name} | {b.name} | difference | McNemar p | seed noise | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row['model']} | {accuracy_cell(row['a'], row['a_interval'])} "
        f"| {accuracy_cell(row['b'], row['b_interval'])} | {difference_cell(row)} | {p_cell(row['p'])} "
        f"| {band_cell(row)} | **{row['verdict']}** |"
        for row in rows
    ]
    lines.append("")
    lines.append(
        f"Test accuracy on {rows[0]['reviews']:,} test reviews with 95% bootstrap intervals; the difference is "
        f"{b.name} - {a.name}, paired review by review ([how to read this](docs/experiments.md#is-a-difference-real))."
    )
    return "\n".join(lines) + "\n"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipeline.compare", description=__doc__.splitlines()[0])
    parser.add_argument("rev_a", nargs="?", default="HEAD", help="commit, branch, tag or experiment (default HEAD)")
    parser.add_argument("rev_b", nargs="?", default=None, help="the same, or the workspace (default)")
    parser.add_argument("--md", action="store_true", help="a Markdown table, for a pull request")
    return parser.parse_args(argv)


def compare_revisions(rev_a: str | None, rev_b: str | None) -> tuple[Revision, Revision, list[dict]]:
    """Both revisions and their rows, with the workspace's seed studies and params.yaml defaults."""
    records = seed_records()
    a, b = load_revision(rev_a), load_revision(rev_b)
    defaults = (
        configuration(flatten(yaml.safe_load(paths.PARAMS.read_text(encoding="utf-8"))))
        if paths.PARAMS.exists()
        else {}
    )
    return a, b, compare(a, b, records, defaults)


def main() -> None:
    args = parse(sys.argv[1:])
    a, b, rows = compare_revisions(args.rev_a, args.rev_b)
    sys.stdout.write(markdown_report(a, b, rows) if args.md else text_report(a, b, rows))


if __name__ == "__main__":
    run(main, guard=False)
