"""The pipeline's graph, as DVC derives it from dvc.yaml: `check` runs before every stage (so a bad
parameter stops `dvc repro` before any output is removed), and each stage runs after everything
it reads: on a workspace holding only its declared deps it writes the bytes of a full run."""

import itertools
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from conftest import run_cmd
from pipelines import ancestors, built, dag, dvc_yaml, output_files, owner, stage_outputs, workspace

STAGES = list(dvc_yaml()["stages"])


def test_check_runs_before_every_other_stage() -> None:
    graph = dag()
    assert set(graph) == set(STAGES)
    assert graph["check"] == set()
    assert all("check" in graph[stage] for stage in STAGES if stage != "check")  # directly: nothing to skip


def test_each_stage_comes_after_the_stages_whose_outputs_it_reads() -> None:
    """The order the README's diagram draws: the data stages in a line; evaluate after the model
    and the test data; the baseline after the prepared texts but not after training."""
    graph = dag()
    line = ["download", "prepare", "encode", "pad", "train", "evaluate"]
    for before, after in itertools.pairwise(line):
        assert before in ancestors(graph, after), (before, after)
    assert {"download", "encode"} <= graph["embed"] and "embed" in graph["train"]
    assert {"train", "pad", "prepare"} <= graph["evaluate"]
    assert "prepare" in graph["baseline"] and "train" not in ancestors(graph, "baseline")


def declared_deps(stage: str) -> list[str]:
    return [dep for dep in dvc_yaml()["stages"][stage]["deps"] if not dep.startswith("pipeline/")]


def test_every_data_dep_is_an_output_of_an_upstream_stage() -> None:
    graph = dag()
    for stage in STAGES:
        for dep in declared_deps(stage):
            if dep != "params.yaml":
                assert owner(dep) in graph[stage], (stage, dep)


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_needs_only_its_declared_deps(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, stage: str
) -> None:
    """Every other stage's output removed, the stage's command gives the bytes of the full run:
    it reads nothing that dvc.yaml does not order before it (nor anything of the test split
    that training does not list)."""
    base = (built(tmp_path_factory, "embed.init") if stage == "embed" else workspace(tmp_path_factory, "base")).path
    repo = tmp_path / "repo"
    shutil.copytree(base, repo, symlinks=True)
    kept = declared_deps(stage)
    for name in output_files(repo):
        if not any(name == dep or name.startswith(dep + "/") for dep in kept):
            (repo / name).unlink()
    command = shlex.split(dvc_yaml()["stages"][stage]["cmd"])
    assert command[0] == "python"
    run_cmd([sys.executable, *command[1:]], repo)
    expected = {name: md5 for name, md5 in output_files(base).items() if owner(name) == stage}
    assert expected, f"{stage} has no outputs in the full run: {stage_outputs()[stage]}"
    assert {name: md5 for name, md5 in output_files(repo).items() if owner(name) == stage} == expected
