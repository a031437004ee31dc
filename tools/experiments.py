"""Named DVC experiments, run one at a time and read back from git: the machinery of `make study`
(tools/study.py) and `make seeds` (tools/seeds.py).

Each run is a real `dvc exp run --temp -n NAME -S key=value ...`: the pipeline's own stages in a
copy of the workspace, entered in DVC's run-cache, its results committed under an experiment
ref. A name that already has a ref on this commit is not run again, so an interrupted study
resumes where it stopped; a removed experiment runs again and DVC restores its stages from the
run-cache. Each run is read from its own ref (git-tracked reports with `git show`, cached
outputs through dvc.api), not through `dvc exp show` over dozens of experiments.
"""

import json
import math
import statistics
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import dvc.api
import yaml

from pipeline.compare import SEED, configuration, flatten
from pipeline.lib import paths
from pipeline.lib.files import write_json  # aside, then renamed: an interrupted run keeps the old log


def set_value(value: object) -> str:
    """A value as `-S` takes it: DVC parses it as YAML, and JSON is YAML (a string goes bare)."""
    return value if isinstance(value, str) else json.dumps(value)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def exp_ref(repo: Path, name: str) -> str | None:
    """The ref of experiment `name` on the current commit (refs/exps/ab/cdef.../name), or None."""
    commit = head(repo)
    ref = f"refs/exps/{commit[:2]}/{commit[2:]}/{name}"
    return ref if git(repo, "for-each-ref", "--format=%(refname)", ref).strip() else None


def run(repo: Path, name: str, overrides: dict[str, object]) -> float:
    """Run experiment `name` with these params; its wall time in seconds. DVC's output streams through."""
    command = ["dvc", "exp", "run", "--temp", "-n", name]
    for key, value in overrides.items():
        command += ["-S", f"{key}={set_value(value)}"]
    started = time.perf_counter()
    subprocess.run(command, cwd=repo, check=True)
    return round(time.perf_counter() - started, 1)


def show(repo: Path, ref: str, path: Path) -> str:
    return git(repo, "show", f"{ref}:{path.as_posix()}")


def trained(repo: Path, ref: str) -> dict:
    """Epochs and parameter count of a run: train's metrics row, reports/train/train.json, or in a
    run made before train wrote it (experiments of earlier commits), DVCLive's git-tracked summary."""
    try:
        return json.loads(show(repo, ref, paths.TRAIN_LOG / "train.json"))
    except subprocess.CalledProcessError:
        summary = json.loads(show(repo, ref, paths.TRAIN_LOG / "metrics.json"))
        return {"epochs": summary["step"] + 1, "parameters": summary["parameters"]}  # DVCLive counts from 0


def results(repo: Path, ref: str) -> dict:
    """What one experiment recorded: its params, test scores, epochs trained and parameter counts."""
    rnn = json.loads(show(repo, ref, paths.METRICS))
    training = trained(repo, ref)
    return {
        "params": flatten(yaml.safe_load(show(repo, ref, paths.PARAMS))),
        "accuracy": rnn["accuracy"],
        "roc_auc": rnn["roc_auc"],
        "loss": rnn["loss"],
        "baseline_accuracy": json.loads(show(repo, ref, paths.BASELINE_METRICS))["accuracy"],
        "epochs": training["epochs"],
        "parameters": training["parameters"],
        "summary": dvc.api.read(paths.MODEL_SUMMARY.as_posix(), repo=str(repo), rev=ref),  # a cached output
    }


def ran_as_asked(record: dict, base: dict[str, object]) -> None:
    """Stop when a run's params.yaml is not `base` with its overrides: params.yaml was edited
    while the runs went on (each `--temp` run copies the workspace as it is when it starts), or
    since the runs that are read back, and its records would mix two configurations."""
    asked = {**base, **{key: yaml.safe_load(set_value(v)) for key, v in record["overrides"].items()}}  # as DVC reads -S
    ran = record["params"]
    for key in sorted(asked.keys() | ran.keys()):
        if asked.get(key) != ran.get(key):
            raise SystemExit(
                f"error: {record['name']} ran with {key}={set_value(ran.get(key))}, not {set_value(asked.get(key))}: "
                "params.yaml changed after these runs began; restore it, or `dvc exp remove` the runs and start again"
            )


def run_all(
    repo: Path, runs: Iterable[tuple[str, dict[str, object]]], log: Path, base: dict[str, object]
) -> list[dict]:
    """Run each (name, overrides) not yet run on this commit; every run's record, in order, each
    checked to have run `base` (params.yaml, flattened) with its overrides.

    `log` (JSON, rewritten after each run) keeps the wall times, which git does not: a run found
    in it is read back as it was, a run with a ref but no log entry (the log was lost) gets no time.
    """
    done = {entry["name"]: entry for entry in json.loads(log.read_text())} if log.exists() else {}
    records = []
    for name, overrides in runs:
        ref = exp_ref(repo, name)
        if ref is None:
            print(f"--- {name}: {' '.join(f'{k}={set_value(v)}' for k, v in overrides.items())}", flush=True)
            wall = run(repo, name, overrides)
            ref = exp_ref(repo, name)
            if ref is None:
                raise RuntimeError(f"experiment {name} ran but left no ref under refs/exps")
        else:
            wall = done.get(name, {}).get("wall_seconds")
        record = {"name": name, "overrides": overrides, "wall_seconds": wall, **results(repo, ref)}
        ran_as_asked(record, base)
        records.append(record)
        done[name] = record
        write_json(log, list(done.values()))
    return records


def noise_record(name: str, params: dict, config: dict, seeds: list[int], accuracies: list[float]) -> dict:
    """One configuration over several seeds, in the format `pipeline.compare` reads its noise bands from.

    params: the keys that differ from params.yaml; config: every key but train.seed; sd with ddof=1.
    """
    sd = statistics.stdev(accuracies) if len(accuracies) > 1 else math.nan
    return {
        "name": name,
        "params": params,
        "config": config,
        "seeds": seeds,
        "accuracies": accuracies,
        "mean": round(statistics.fmean(accuracies), 6),
        "sd": round(sd, 6),
    }


def seed_record(name: str, runs: list[dict], base: dict[str, object]) -> dict:
    """The noise record of one configuration's runs (records of run_all, one per seed): its params
    are the keys that differ from `base` (params.yaml, flattened), but the seed."""
    flat = runs[0]["params"]
    return noise_record(
        name,
        {k: v for k, v in flat.items() if k != SEED and base.get(k) != v},
        configuration(flat),
        [run["params"][SEED] for run in runs],
        [run["accuracy"] for run in runs],
    )
