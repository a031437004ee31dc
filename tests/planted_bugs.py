"""Curated planted bugs, one per stage and README promise: each must make the tests it names fail.

    python tests/planted_bugs.py          # `make mutants` runs it after mutmut

mutmut plants thousands of small mutants in the pure helpers; these are the bugs a user would
notice at once. Each one is a single text replacement in a scratch copy of the repository,
whose named tests then run; the bug is caught when they fail. Writes reports/planted_bugs.json.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".venv", ".git", ".dvc", "data", "models", "mutants", "dvc_plots", "__pycache__")


@dataclass(frozen=True)
class Bug:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


BUGS = [
    Bug(
        "check: unknown keys pass",
        "pipeline/lib/params.py",
        "if key not in rules:",
        "if key not in rules and 0:",
        ("tests/test_params.py",),
    ),
    Bug(
        "check: params.yaml is not its dep, so it never re-runs",
        "dvc.yaml",
        "    deps:\n      - params.yaml\n",
        "    deps:\n",
        ("tests/test_reproducibility.py::test_a_bad_params_edit_fails_in_one_line_and_keeps_every_output",),
    ),
    Bug(
        "download: the digest is not checked",
        "pipeline/download.py",
        "if actual == sha256:",
        "if True:",
        ("tests/test_failure_modes.py::test_wrong_archive",),
    ),
    Bug(
        "download: IMDB_ARCHIVE ignored",
        "pipeline/download.py",
        "override = os.environ.get(ENV_ARCHIVE) or None",
        "override = None",
        ("tests/test_download.py::test_the_offline_route_through_the_stage",),
    ),
    Bug(
        "prepare: entities left encoded",
        "pipeline/lib/text.py",
        'return html.unescape(TAG.sub(" ", raw))',
        'return TAG.sub(" ", raw)',
        ("tests/test_prepare.py",),
    ),
    Bug(
        "prepare: labels swapped",
        "pipeline/lib/archive.py",
        "FOLDERS.index(folder)",
        "1 - FOLDERS.index(folder)",
        ("tests/test_prepare.py",),
    ),
    Bug(
        "encode: one word too many",
        "pipeline/lib/text.py",
        "[: num_words - 1]",
        "[:num_words]",
        ("tests/test_encode.py",),
    ),
    Bug(
        "pad: 'pre' truncation keeps the first tokens",
        "pipeline/lib/text.py",
        '(lengths - kept if truncating == "pre" else 0)',
        '(lengths - kept if truncating == "post" else 0)',
        ("tests/test_pad.py",),
    ),
    Bug(
        "deps: pad does not list text.py",
        "dvc.yaml",
        "      - pipeline/pad.py\n      - pipeline/lib/cli.py\n      - pipeline/lib/files.py\n"
        "      - pipeline/lib/params.py\n      - pipeline/lib/paths.py\n      - pipeline/lib/text.py\n",
        "      - pipeline/pad.py\n      - pipeline/lib/cli.py\n      - pipeline/lib/files.py\n"
        "      - pipeline/lib/params.py\n      - pipeline/lib/paths.py\n",
        ("tests/test_deps.py",),
    ),
    Bug(
        "train: validation split not stratified",
        "pipeline/train.py",
        "stratify=y,",
        "stratify=None,",
        ("tests/test_train.py",),
    ),
    Bug(
        "train: the seed is ignored",
        "pipeline/train.py",
        "keras.utils.set_random_seed(seed)",
        "keras.utils.set_random_seed(0)",
        ("tests/test_reproducibility.py::test_the_tiny_model_has_the_committed_bytes",),
    ),
    Bug(
        "backend: the environment overrides the pinned kernels",
        "pipeline/lib/backend.py",
        "    os.environ.update(PINNED)",
        "    os.environ.update({**PINNED, **os.environ})",
        ("tests/test_reproducibility.py::test_pinned_kernels_win_over_the_environment",),
    ),
    Bug(
        "model: the save date stays in model.keras",
        "pipeline/lib/model.py",
        'metadata.pop("date_saved", None)',
        'metadata.get("date_saved")',
        ("tests/test_reproducibility.py::test_an_identical_retrain_leaves_dvc_lock_unchanged",),
    ),
    Bug(
        "evaluate: metrics of reordered labels",
        "pipeline/evaluate.py",
        'y = test["y"].astype(int)',
        'y = np.sort(test["y"]).astype(int)',
        ("tests/test_meaning.py::test_reported_metrics_are_the_saved_models_own",),
    ),
    Bug(
        "metrics: ROC from hard labels",
        "pipeline/lib/metrics.py",
        "fpr, tpr, _ = metrics.roc_curve(y, proba)",
        "fpr, tpr, _ = metrics.roc_curve(y, proba >= 0.5)",
        ("tests/test_metrics.py",),
    ),
    Bug(
        "baseline: trained on flipped labels",
        "pipeline/baseline.py",
        'train.column("label").to_numpy()',
        '1 - train.column("label").to_numpy()',
        ("tests/test_meaning.py::test_the_rnn_and_the_baseline_both_learn_the_sentiment_words",),
    ),
    Bug(
        "predict: raw text, not the pipeline's cleaning",
        "pipeline/predict.py",
        "[clean_text(text) for text in texts]",
        "list(texts)",
        ("tests/test_meaning.py::test_predict_cleans_reviews_as_the_pipeline_does",),
    ),
    Bug(
        "predict: labels the other way round",
        "pipeline/predict.py",
        'NAMES[int(probability >= p["evaluate"]["threshold"])]',
        'NAMES[int(probability < p["evaluate"]["threshold"])]',
        ("tests/test_meaning.py::test_predict_keeps_the_sign_of_unseen_reviews",),
    ),
    Bug(
        "files: outputs written in place",
        "pipeline/lib/files.py",
        "        yield tmp\n",
        "        yield path\n",
        ("tests/test_faults.py::test_atomic_path_publishes_only_complete_files",),
    ),
]


def plant(bug: Bug, scratch: Path) -> None:
    source = (ROOT / bug.path).read_text(encoding="utf-8")
    if source.count(bug.old) != 1:
        raise SystemExit(f"{bug.name}: {bug.path} no longer holds the planted line once; update tests/planted_bugs.py")
    (scratch / bug.path).write_text(source.replace(bug.old, bug.new), encoding="utf-8")


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "repo"
        shutil.copytree(ROOT, scratch, ignore=IGNORE)
        for bug in BUGS:
            plant(bug, scratch)
            started = time.perf_counter()
            run = subprocess.run(
                [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *bug.tests],
                cwd=scratch,
                capture_output=True,
                text=True,
            )
            shutil.copy(ROOT / bug.path, scratch / bug.path)  # unplant
            caught = run.returncode == 1  # tests failed; 0 = passed, anything else = the run broke
            if run.returncode not in (0, 1):
                raise SystemExit(f"{bug.name}: pytest exited {run.returncode}:\n{run.stdout[-2000:]}")
            results.append({"bug": bug.name, "caught": caught, "seconds": round(time.perf_counter() - started)})
            print(f"{'caught ' if caught else 'MISSED '} {results[-1]['seconds']:>4} s  {bug.name}", flush=True)
    caught = sum(r["caught"] for r in results)
    summary = {"caught": caught, "planted": len(results), "bugs": results}
    (ROOT / "reports" / "planted_bugs.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{caught} of {len(results)} planted bugs caught")
    sys.exit(0 if caught == len(results) else 1)


if __name__ == "__main__":
    main()
