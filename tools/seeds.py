"""The current params over N seeds: `python -m tools.seeds N` (`make seeds N=5`).

Runs params.yaml as it is in the workspace (committed or not) with train.seed = its value,
+1, ... +N-1, each as a named DVC experiment (tools/experiments.py: one at a time, in a temporary
copy, skipped when it already ran on this commit, restored from the run-cache when its stages
ran before), then prints the test accuracy's mean ± sd and writes the configuration's record
in reports/seeds.json, replacing an earlier record of the same configuration. That file is
where `python -m pipeline.compare` finds the seed-noise band of a configuration; commit it.
"""

import argparse
import hashlib
import json
import subprocess
from pathlib import Path

import yaml

from pipeline import compare
from pipeline.lib import paths
from pipeline.lib.files import write_json
from tools import experiments

LOG = paths.DVC_DIR / "tmp" / "seeds_runs.json"  # wall times of the runs (DVC's scratch folder, not in git)


def config_id(config: dict[str, object]) -> str:
    """A short digest of a configuration: its experiments' names, one set per configuration."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]


def committed_params(repo: Path) -> dict[str, object]:
    """HEAD's params.yaml, flattened ({} before the first commit of it)."""
    try:
        return compare.flatten(yaml.safe_load(experiments.git(repo, "show", f"HEAD:{paths.PARAMS}")))
    except subprocess.CalledProcessError:
        return {}


def update(records: list[dict], record: dict) -> list[dict]:
    """The records with `record` in place of any earlier one of its configuration."""
    return [r for r in records if r["config"] != record["config"]] + [record]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.seeds", description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="how many seeds (at least 2)")
    args = parser.parse_args()
    if args.n < 2:
        parser.error("N must be at least 2: one seed has no spread")
    repo = Path.cwd()
    flat = compare.flatten(yaml.safe_load(paths.PARAMS.read_text(encoding="utf-8")))
    config = compare.configuration(flat)  # values as the JSON file will give them back (flatten)
    first = flat[compare.SEED]
    seeds = list(range(first, first + args.n))
    name = f"seeds-{config_id(config)}"
    runs = experiments.run_all(repo, [(f"{name}-s{seed}", {compare.SEED: seed}) for seed in seeds], LOG, flat)
    accuracies = [run["accuracy"] for run in runs]
    head = committed_params(repo)
    changed = {key: value for key, value in config.items() if head.get(key) != value}
    record = experiments.noise_record(name, changed, config, seeds, accuracies)
    records = json.loads(paths.SEEDS.read_text(encoding="utf-8")) if paths.SEEDS.exists() else []
    write_json(paths.SEEDS, update(records, record))
    for seed, accuracy in zip(seeds, accuracies, strict=True):
        print(f"train.seed={seed}: test accuracy {accuracy:.4f}")
    print(f"{name}: {record['mean']:.4f} ± {record['sd']:.4f} over {len(seeds)} seeds (sd, ddof=1), in {paths.SEEDS}")


if __name__ == "__main__":
    main()
