"""dvc.yaml lists, for every stage, each project module its command imports, directly or not:
editing any of them must re-run the stage, or the cache goes stale."""

import ast
import json
import re
from pathlib import Path

import yaml
from conftest import ROOT, dvc, make_dvc_repo

STAGE_COMMAND = re.compile(r"python -m (pipeline\.\w+)$")


def module_file(name: str) -> Path:
    path = ROOT / (name.replace(".", "/") + ".py")
    return path if path.exists() else ROOT / name.replace(".", "/") / "__init__.py"


def project_imports(path: Path) -> set[str]:
    """Project modules a file imports: `from pipeline.lib import x` names pipeline.lib.x."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pipeline":
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if module_file(submodule).exists() else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "pipeline"}
    return found


def import_closure(module: str) -> set[str]:
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(project_imports(module_file(name)))
    return {str(module_file(name).relative_to(ROOT)) for name in seen}


def test_every_stage_depends_on_its_whole_import_closure() -> None:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert len(stages) == 9
    for name, stage in stages.items():
        module = STAGE_COMMAND.match(stage["cmd"]).group(1)
        assert module == f"pipeline.{name}", "one module per stage, named after it"
        closure = {path for path in import_closure(module) if not path.endswith("__init__.py")}
        listed = {dep for dep in stage["deps"] if dep.endswith(".py")}
        assert listed == closure, f"stage {name}: missing {closure - listed}, extra {listed - closure}"


def test_package_inits_hold_no_code() -> None:
    """They are imported by every stage but listed by none, so they must not be able to change a result."""
    for init in (ROOT / "pipeline").rglob("__init__.py"):
        body = ast.parse(init.read_text()).body
        assert len(body) == 1 and isinstance(body[0].value, ast.Constant), init


def test_stages_import_helpers_never_each_other() -> None:
    stages = {path.stem for path in (ROOT / "pipeline").glob("*.py")} - {"__init__"}
    for stage in stages:
        imported = {name.split(".")[1] for name in project_imports(module_file(f"pipeline.{stage}"))}
        assert imported <= {"lib"}, f"pipeline/{stage}.py imports {imported - {'lib'}}"


# Code a stage must not depend on: it runs none of it, so an edit there must leave its outputs
# cached (the model above all: a retrain takes minutes, and another CPU trains other bytes).
NOT_RUN = {
    "train": ("pipeline/lib/metrics.py", "pipeline/lib/score_figures.py", "pipeline/lib/inference.py"),
    "prepare": ("pipeline/lib/tokenizer.py", "pipeline/lib/padding.py"),
    "encode": ("pipeline/lib/padding.py",),
    "baseline": ("pipeline/lib/padding.py", "pipeline/lib/cleaning.py"),
}


def test_no_stage_depends_on_code_it_does_not_run() -> None:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, modules in NOT_RUN.items():
        assert not set(modules) & set(stages[name]["deps"]), (
            f"stage {name} depends on {set(modules) & set(stages[name]['deps'])}"
        )


def changed_stages(repo: Path) -> set[str]:
    """The stages `dvc status` reports as changed."""
    return set(json.loads(dvc(repo, "status", "--json")))


# Each module, and the stages that run it: the only ones `dvc status` may report after an edit there.
EDITS = {
    "pipeline/lib/metrics.py": {"evaluate", "baseline"},
    "pipeline/lib/inference.py": {"evaluate"},
    "pipeline/lib/score_figures.py": {"evaluate"},
    "pipeline/lib/padding.py": {"pad"},
    "pipeline/lib/tokenizer.py": {"encode", "embed", "baseline"},
}


def test_a_comment_in_a_module_changes_only_the_stages_that_run_it(tmp_path: Path, tiny_archive: Path) -> None:
    """For real: DVC hashes the files, so any edit to a dep, even a comment, marks its stages changed."""
    repo = make_dvc_repo(tmp_path / "repo", tiny_archive)
    dvc(repo, "repro")
    assert changed_stages(repo) == set()
    for module, changed in EDITS.items():
        original = (repo / module).read_text()
        (repo / module).write_text(original + "# an edit that changes no behaviour\n")
        assert changed_stages(repo) == changed, module
        (repo / module).write_text(original)
