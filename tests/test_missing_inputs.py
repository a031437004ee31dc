"""A missing input names the command that brings it back, for real in a DVC repository:
`dvc checkout` from the cache, `dvc pull` from a remote, `dvc repro` when neither holds it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import dvc

from pipeline.lib.cli import PipelineError
from pipeline.lib.files import require

CHECKOUT = "run `dvc checkout` to restore it from the DVC cache"
PULL = "run `dvc pull` to fetch it from the DVC remote"
REPRO = "run `dvc repro` to build it"
MAKE = "import pathlib; pathlib.Path('out').mkdir(); [pathlib.Path(n).write_text(n) for n in ('out/a.txt', 'one.txt')]"


def advice(path: str) -> str:
    with pytest.raises(PipelineError) as error:
        require(Path(path))
    message = str(error.value)
    assert message.startswith(f"{path}: not found; ")
    return message.split("; ", 1)[1]


def remove(repo: Path, *names: str) -> None:
    for name in names:
        shutil.rmtree(repo / name) if (repo / name).is_dir() else (repo / name).unlink()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DVC repository (no git) whose one stage wrote a directory and a file, run from its root."""
    repo = tmp_path / "repo"
    repo.mkdir()
    dvc(repo, "init", "--no-scm", "-q")
    dvc(repo, "stage", "add", "-q", "-n", "make", "-o", "out", "-o", "one.txt", f'{sys.executable} -c "{MAKE}"')
    dvc(repo, "repro", "-q")
    monkeypatch.chdir(repo)
    return repo


def test_checkout_pull_or_repro(repo: Path, tmp_path: Path) -> None:
    remove(repo, "out/a.txt", "one.txt")
    assert advice("out/a.txt") == advice("one.txt") == CHECKOUT
    assert advice("out/b.txt") == advice("elsewhere.txt") == REPRO  # in no output's record
    dvc(repo, "checkout")
    assert (repo / "out" / "a.txt").read_text() == "out/a.txt"

    remove(repo, "out/a.txt", "one.txt", ".dvc/cache")
    assert advice("one.txt") == REPRO  # no cache, no remote
    dvc(repo, "remote", "add", "-d", "shared", str(tmp_path / "remote"))
    assert advice("one.txt") == REPRO  # a local remote without it
    dvc(repo, "repro", "-q", "--force")  # the cache again, to push
    dvc(repo, "push", "-q")
    remove(repo, "out", "one.txt", ".dvc/cache")
    assert advice("out/a.txt") == advice("one.txt") == PULL
    dvc(repo, "pull", "-q")
    assert (repo / "one.txt").read_text() == "one.txt"


def test_a_remote_in_config_local_or_elsewhere_counts(repo: Path, tmp_path: Path) -> None:
    dvc(repo, "remote", "add", "--local", "-d", "mine", "s3://bucket/path")  # not looked into: taken on trust
    remove(repo, "one.txt", ".dvc/cache")
    assert advice("one.txt") == PULL
    (repo / "dvc.lock").write_text("stages: [not, a, mapping")
    assert advice("one.txt") == REPRO


def test_the_advice_imports_no_dvc(repo: Path) -> None:
    """Stages and predict start fast: telling cache from remote reads two files, not DVC's API."""
    remove(repo, "one.txt")
    code = "import sys; from pipeline.lib.files import require; from pathlib import Path\n"
    code += "try: require(Path('one.txt'))\nexcept Exception as e: print(e, 'dvc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True).stdout
    assert out == f"one.txt: not found; {CHECKOUT} False\n"
