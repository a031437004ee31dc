"""Stages that do not train start fast: they never import TensorFlow or Keras."""

import subprocess
import sys

import pytest
from conftest import ROOT

LIGHT = ["download", "prepare", "tokenize", "pad", "baseline", "params", "metrics"]


@pytest.mark.parametrize("module", LIGHT)
def test_no_tensorflow(module: str) -> None:
    code = f"import sys, pipeline.{module}; print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
