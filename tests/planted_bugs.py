"""Curated planted bugs, one per stage and README promise, and three families generated from the
code: each must make the tests it names fail.

    python tests/planted_bugs.py             # `make mutants` runs it after mutmut
    python tests/planted_bugs.py curated     # one group: curated, ignored, leaks or dvc.yaml
    python tests/planted_bugs.py "evaluate:" # the bugs whose name holds one of the words

mutmut plants thousands of small mutants in the pure helpers; the hand-written bugs are ones
a user would notice at once. The families are the shapes that once slipped past the whole suite
(issue 23), every instance the code and dvc.yaml hold: a parameter that one consumer ignores,
the test split reaching something fitted, a data dep or `params:` entry missing from dvc.yaml.
Each bug is a single text replacement in a scratch copy of the repository, whose named tests
then run; the bug is caught when they fail. Writes reports/planted_bugs.json.
"""

import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".venv", ".git", ".dvc", "data", "models", "mutants", "dvc_plots", "__pycache__")
sys.path.insert(0, str(ROOT / "tests"))  # the sensitivity table


@dataclass(frozen=True)
class Bug:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    nth: int | None = None  # generated: replace this occurrence of `old`; hand-written: `old` is there once


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
        "pipeline/lib/cleaning.py",
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
        "pipeline/lib/tokenizer.py",
        "[: num_words - 1]",
        "[:num_words]",
        ("tests/test_encode.py",),
    ),
    Bug(
        "pad: 'pre' truncation keeps the first tokens",
        "pipeline/lib/padding.py",
        '(lengths - kept if truncating == "pre" else 0)',
        '(lengths - kept if truncating == "post" else 0)',
        ("tests/test_pad.py",),
    ),
    Bug(
        "deps: pad does not list padding.py",
        "dvc.yaml",
        "      - pipeline/lib/guard.py\n      - pipeline/lib/padding.py\n      - pipeline/lib/params.py\n",
        "      - pipeline/lib/guard.py\n      - pipeline/lib/params.py\n",
        ("tests/test_deps.py",),
    ),
    Bug(
        "train: validation split not stratified",
        "pipeline/train.py",
        "return x[train_rows], x[test_rows], y[train_rows], y[test_rows]",
        "return x[:n_train], x[n_train:], y[:n_train], y[n_train:]",  # Keras' validation_split: the last rows
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
        "    fpr, tpr = roc_curve(y, proba)\n    return [",
        "    fpr, tpr = roc_curve(y, (proba >= 0.5).astype(proba.dtype))\n    return [",
        ("tests/test_metrics.py",),
    ),
    Bug(
        "baseline: trained on flipped labels",
        "pipeline/baseline.py",
        'model.fit(tfidf.transform(counts, copy=False), column(train, "label"))',
        'model.fit(tfidf.transform(counts, copy=False), 1 - column(train, "label"))',
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
        "NAMES[int(probability >= threshold)]",
        "NAMES[int(probability < threshold)]",
        ("tests/test_meaning.py::test_predict_keeps_the_sign_of_unseen_reviews",),
    ),
    Bug(
        "files: outputs written in place",
        "pipeline/lib/files.py",
        "        yield tmp\n",
        "        yield path\n",
        ("tests/test_faults.py::test_atomic_path_publishes_only_complete_files",),
    ),
    Bug(
        "train: early stopping watches the training loss",
        "pipeline/train.py",
        'monitor=settings["early_stopping_monitor"]',
        'monitor="loss"',
        ("tests/test_early_stopping.py",),
    ),
    Bug(
        "train: early stopping keeps the last epoch's weights",
        "pipeline/train.py",
        "restore_best_weights=True",
        "restore_best_weights=False",
        ("tests/test_early_stopping.py",),
    ),
    Bug(
        "blas: OpenBLAS's kernels as the CPU picks them",
        "pipeline/lib/blas.py",
        "os.environ[VARIABLE] = KERNELS",
        "pass",
        (
            "tests/test_embed.py::test_the_vectors_are_the_same_bytes_whatever_kernels_openblas_would_pick",
            "tests/test_baseline.py::test_the_probabilities_are_the_same_bytes_whatever_kernels_openblas_would_pick",
        ),
    ),
    Bug(
        "embed: each word gets the next word's vector",
        "pipeline/embed.py",
        "vectors[int(key)] = model.wv.vectors[index]",
        "vectors[int(key) - 1] = model.wv.vectors[index]",
        ("tests/test_embed.py",),
    ),
    Bug(
        "train: the embedding keeps its random start whatever embed wrote",
        "pipeline/train.py",
        'start_embedding(model, load_npz(require(paths.EMBEDDING))["vectors"])',
        "load_npz(require(paths.EMBEDDING))",
        (
            "tests/test_sensitivity.py::TestModelKeys::test_a_change_reaches_exactly_its_row[embed.init]",
            "tests/test_embed.py",
        ),
    ),
    Bug(
        "predict: a review exactly at the threshold is negative",
        "pipeline/predict.py",
        "probability >= threshold",
        "probability > threshold",
        ("tests/test_consistency.py",),
    ),
    Bug(
        "evaluate: the curves of probabilities rounded to one decimal",
        "pipeline/evaluate.py",
        'write_scores("rnn", paths.METRICS, plots, test["id"], y, proba, settings["threshold"])',
        'write_scores("rnn", paths.METRICS, plots, test["id"], y, proba.round(1), settings["threshold"])',
        ("tests/test_reports.py",),
    ),
    Bug(
        "evaluate: the confusion figure at 0.5 whatever the threshold",
        "pipeline/evaluate.py",
        "figures.confusion_matrix(y, predicted,",
        "figures.confusion_matrix(y, (proba >= 0.5).astype(int),",
        ("tests/test_consistency.py",),
    ),
]


# Parameter reads: the stage modules, predict, and the model builder that train calls.
READERS = {
    "pipeline/download.py": ("download",),
    "pipeline/prepare.py": ("prepare",),
    "pipeline/encode.py": ("encode",),
    "pipeline/pad.py": ("pad",),
    "pipeline/embed.py": ("embed",),
    "pipeline/train.py": ("train",),
    "pipeline/lib/model.py": ("train",),
    "pipeline/evaluate.py": ("evaluate",),
    "pipeline/baseline.py": ("baseline",),
    "pipeline/predict.py": ("predict",),
}
# What is fitted on the training split.
FITTING = ("pipeline/encode.py", "pipeline/embed.py", "pipeline/train.py", "pipeline/baseline.py")
# Keys with more than one use in a stage, each use with its own test beside the row's.
KEY_TESTS = {
    "train.seed": (
        "tests/test_sensitivity.py::TestTrainKeys::test_the_seed_reaches_the_initial_weights_as_well_as_the_split",
        "tests/test_reports.py::test_the_training_report_is_the_saved_models[train.seed]",
    ),
    "train.early_stopping_patience": ("tests/test_early_stopping.py",),
    "train.early_stopping_monitor": ("tests/test_early_stopping.py",),
    **{
        key: (f"tests/test_leakage.py::test_the_baseline_is_fitted_on_the_training_split_alone[{key}]",)
        for key in ("baseline.max_features", "baseline.ngram_max", "baseline.C")
    },
    "train.validation_split": (
        "tests/test_reports.py::test_the_training_report_is_the_saved_models[train.validation_split]",
    ),
}
# Reads on a path the tiny pipeline never takes: download over HTTP (tests/test_download.py's server),
# stacked bidirectional layers (tests/test_model.py's variants).
PATH_TESTS = {
    "pipeline/download.py": ("tests/test_download.py", "tests/test_download_mirror.py"),
    "pipeline/lib/model.py": ("tests/test_model.py",),
}


def sensitivity_tests() -> dict[str, str]:
    """params key -> the node id of its row's test in tests/test_sensitivity.py."""
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/test_sensitivity.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {node.split("[")[1].rstrip("]"): node for node in listed if "[" in node}


def occurrences(source: str, nodes: list[ast.AST]) -> list[tuple[str, int]]:
    """Each node's source text, and which occurrence of that text in `source` it is."""
    found = []
    for node in sorted(nodes, key=lambda n: (n.lineno, n.col_offset)):
        text = ast.get_source_segment(source, node)
        offset = sum(len(line) for line in source.splitlines(keepends=True)[: node.lineno - 1]) + node.col_offset
        found.append((text, source[:offset].count(text)))
    return found


def unobservable(tree: ast.AST, node: ast.AST) -> bool:
    """Reads that only a log line, a name (an f-string) or the multi-worker path see (that one is
    tests/test_multi_worker.py's to catch)."""
    for parent in ast.walk(tree):
        inside = any(child is node for child in ast.walk(parent)) and parent is not node
        if not inside:
            continue
        if isinstance(parent, ast.Call) and ast.unparse(parent.func).startswith("log."):
            return True
        if (isinstance(parent, ast.If) and ast.unparse(parent.test) == "cluster") or isinstance(parent, ast.JoinedStr):
            return True
    return False


def ignored_parameters() -> list[Bug]:
    """A parameter silently ignored by one consumer: each read of a key, one at a time, replaced by
    params.yaml's value for it. Keys whose row is timing-only or tested elsewhere are left out."""
    import yaml
    from pipelines import SENSITIVITY

    defaults = yaml.safe_load((ROOT / "params.yaml").read_text())
    tests = sensitivity_tests()
    predict_test = "tests/test_sensitivity.py::test_the_keys_predict_reads_are_the_tables"
    bugs = []
    for path, consumers in READERS.items():
        source = (ROOT / path).read_text()
        tree = ast.parse(source)
        sites = {}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)):
                continue
            name, inner = node.slice.value, node.value
            section = (
                inner.slice.value
                if isinstance(inner, ast.Subscript) and isinstance(inner.slice, ast.Constant)
                else None
            )
            keys = [
                key for key, row in SENSITIVITY.items() if key.endswith(f".{name}") and set(row.reads) & set(consumers)
            ]
            keys = [key for key in keys if section in (None, key.split(".")[0])]
            readable = len(keys) == 1 and SENSITIVITY[keys[0]].effect in ("outputs", "refused")
            if readable and not unobservable(tree, node):
                sites[node] = keys[0]
        for (text, nth), node in zip(
            occurrences(source, list(sites)), sorted(sites, key=lambda n: (n.lineno, n.col_offset)), strict=True
        ):
            key = sites[node]
            section, name = key.split(".")
            test = predict_test if path == "pipeline/predict.py" else tests[key]
            bugs.append(
                Bug(
                    f"ignored: {path}:{node.lineno} reads {key} as a constant",
                    path,
                    text,
                    repr(defaults[section][name]),
                    (test, *KEY_TESTS.get(key, ()), *PATH_TESTS.get(path, ())),
                    nth,
                )
            )
    return bugs


def test_split_leaks() -> list[Bug]:
    """The test split reaching something fitted: each read of the training split in a fitting stage
    (`sources["train"]`, `split_file(..., "train", ...)`, a name bound to the training split's file
    passed on), one at a time, pointed at the test split."""
    bugs = []
    for path in FITTING:
        source = (ROOT / path).read_text()
        stage = Path(path).stem
        tree = ast.parse(source)
        split_names = {  # `train, test = (... split_file(...) ...)`
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and "split_file(" in ast.unparse(node.value)
            for target in ast.walk(node.targets[0])
            if isinstance(target, ast.Name)
        }
        nodes = [
            node
            for node in ast.walk(tree)
            if (isinstance(node, ast.Constant) and node.value == "train" and _is_read(source, node))
            or (
                isinstance(node, ast.Name)
                and node.id == "train"
                and node.id in split_names
                and isinstance(node.ctx, ast.Load)
                and _is_argument(source, node)
            )
        ]
        for (text, nth), node in zip(
            occurrences(source, nodes), sorted(nodes, key=lambda n: (n.lineno, n.col_offset)), strict=True
        ):
            bugs.append(
                Bug(
                    f"leak: {path}:{node.lineno} reads the test split where it reads the training split",
                    path,
                    text,
                    '"test"' if text == '"train"' else "test",
                    (
                        "tests/test_leakage.py",
                        f"tests/test_graph.py::test_a_stage_needs_only_its_declared_deps[{stage}]",
                    ),
                    nth,
                )
            )
    return bugs


def _line(source: str, node: ast.AST) -> str:
    return source.splitlines()[node.lineno - 1]


def _is_read(source: str, node: ast.AST) -> bool:
    """A "train" that picks the training split's input: `sources["train"]` or `split_file(..., "train", ...)`."""
    line = _line(source, node)
    return (
        'sources["train"]' in line[node.col_offset - 8 : node.end_col_offset + 1]
        or re.search(r'split_file\(paths\.\w+, "train"', line) is not None
    )


def _is_argument(source: str, node: ast.AST) -> bool:
    before = _line(source, node)[: node.col_offset]
    return before.endswith("(")


def dvc_yaml_edits() -> list[Bug]:
    """dvc.yaml's graph or `params:` lists losing an entry: each data dep and each params entry of
    each stage, one at a time."""
    import yaml

    text = (ROOT / "dvc.yaml").read_text()
    bugs = []
    for stage, spec in yaml.safe_load(text)["stages"].items():
        start = text.index(f"\n  {stage}:\n") + 1
        block = text[start : text.index("\n\n", start)]
        for dep in spec["deps"]:
            if not dep.startswith("pipeline/") and dep != "params.yaml":
                tests = (
                    "tests/test_graph.py::test_check_runs_before_every_other_stage",
                    f"tests/test_graph.py::test_a_stage_needs_only_its_declared_deps[{stage}]",
                )
                bugs.append(
                    Bug(
                        f"dvc.yaml: {stage} does not list {dep}",
                        "dvc.yaml",
                        block,
                        block.replace(f"      - {dep}\n", "", 1),
                        tests,
                    )
                )
        for entry in spec.get("params", []):
            tests = ("tests/test_sensitivity.py::test_the_readers_are_dvc_yamls_params_lists",)
            bugs.append(
                Bug(
                    f"dvc.yaml: {stage}'s params: lacks {entry}",
                    "dvc.yaml",
                    block,
                    block.replace(f"      - {entry}\n", "", 1),
                    tests,
                )
            )
    return bugs


def plant(bug: Bug, scratch: Path) -> None:
    source = (ROOT / bug.path).read_text(encoding="utf-8")
    if bug.nth is not None:
        start = -1
        for _ in range(bug.nth + 1):
            start = source.index(bug.old, start + 1)
        planted = source[:start] + bug.new + source[start + len(bug.old) :]
    elif source.count(bug.old) != 1:
        raise SystemExit(f"{bug.name}: {bug.path} no longer holds the planted line once; update tests/planted_bugs.py")
    else:
        planted = source.replace(bug.old, bug.new)
    (scratch / bug.path).write_text(planted, encoding="utf-8")


def main() -> None:
    words = sys.argv[1:]
    groups = {
        "curated": BUGS,
        "ignored": ignored_parameters(),
        "leaks": test_split_leaks(),
        "dvc.yaml": dvc_yaml_edits(),
    }
    if words and set(words) <= set(groups):
        bugs = [bug for word in words for bug in groups[word]]
    else:
        bugs = [bug for group in groups.values() for bug in group if not words or any(w in bug.name for w in words)]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "repo"
        shutil.copytree(ROOT, scratch, ignore=IGNORE)
        for bug in bugs:
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
            failure = next((line[1:].strip() for line in run.stdout.splitlines() if line.startswith("E ")), "")
            seconds = round(time.perf_counter() - started)
            results.append({"bug": bug.name, "caught": caught, "seconds": seconds, "failure": failure[:300]})
            print(f"{'caught ' if caught else 'MISSED '} {seconds:>4} s  {bug.name}", flush=True)
            if caught:
                print(f"              {failure[:200]}", flush=True)
    caught = sum(r["caught"] for r in results)
    summary = {"caught": caught, "planted": len(results), "bugs": results}
    if not words:  # the whole list
        (ROOT / "reports" / "planted_bugs.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{caught} of {len(results)} planted bugs caught")
    sys.exit(0 if caught == len(results) else 1)


if __name__ == "__main__":
    main()
