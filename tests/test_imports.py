"""Stages that do not train start fast: they never import TensorFlow or Keras."""

import subprocess
import sys

import pytest
from conftest import ROOT

# Every module but these loads without TensorFlow; predict imports it only once its input is read.
TENSORFLOW = {
    "pipeline.train",
    "pipeline.evaluate",
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
    assert {"pipeline.check", "pipeline.download", "pipeline.prepare", "pipeline.tokenize", "pipeline.pad"} <= set(
        LIGHT
    )
    assert {"pipeline.baseline", "pipeline.predict", "pipeline.lib.text", "pipeline.lib.metrics"} <= set(LIGHT)


@pytest.mark.parametrize("module", LIGHT)
def test_no_tensorflow(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
