"""Stages that do not train start fast: they never import TensorFlow or Keras."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

# Every module but these loads without TensorFlow; predict runs without it (tests/test_predict.py).
TENSORFLOW = {
    "pipeline.train",
    "pipeline.lib.backend",
    "pipeline.lib.model",
    "pipeline.lib.multi_worker",
}
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for path in (ROOT / "pipeline").rglob("*.py")
    if path.name != "__init__.py"
)
LIGHT = [module for module in MODULES if module not in TENSORFLOW]


def test_the_light_list_covers_every_stage_that_does_not_train() -> None:
    assert {"pipeline.check", "pipeline.download", "pipeline.prepare", "pipeline.encode", "pipeline.pad"} <= set(LIGHT)
    assert {"pipeline.baseline", "pipeline.predict", "pipeline.lib.tokenizer", "pipeline.lib.metrics"} <= set(LIGHT)


@pytest.mark.parametrize("module", LIGHT)
def test_no_tensorflow(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_no_module_shadows_the_standard_library() -> None:
    """`python pipeline/train.py` puts pipeline/ first on sys.path: a `tokenize.py` there broke `logging`."""
    assert not {module.rsplit(".", 1)[-1] for module in MODULES} & sys.stdlib_module_names


def test_a_stage_runs_as_a_script(tmp_path: Path) -> None:
    """The way DVC's example project runs its stages; `make` installs the package editable for it."""
    shutil.copy(ROOT / "params.yaml", tmp_path)
    result = subprocess.run(
        [sys.executable, str(ROOT / "pipeline" / "check.py")], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "every key valid" in result.stderr
    assert (tmp_path / "data" / "params_schema.json").is_file()
