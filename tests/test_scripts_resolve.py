"""The benchmarks and experiment scripts are not run by the suite (they take minutes), so a rename in the
package can break them unseen — `benchmarks/first_run.py` still called `pipeline.build_oracle` after the
stages redesign removed it. This reads each script and checks that every name it imports from the
package, and every attribute it reads off an imported package module, exists."""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*REPO.glob("benchmarks/*.py"), *REPO.glob("experiments/*.py")])


def unresolved(source: str) -> list[str]:
    """Package names a script uses that do not exist: ``from pkg.mod import name`` and ``module.attr``."""
    tree = ast.parse(source)
    modules: dict[str, types.ModuleType] = {}
    missing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("distortion_reliability"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if value is None:
                    try:
                        value = importlib.import_module(f"{node.module}.{alias.name}")
                    except ImportError:
                        missing.append(f"{node.module}.{alias.name}")
                        continue
                if isinstance(value, types.ModuleType):
                    modules[alias.asname or alias.name] = value
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            if not hasattr(modules[node.value.id], node.attr):
                missing.append(f"{modules[node.value.id].__name__}.{node.attr}")
    return missing


def test_the_check_finds_a_name_that_went():
    assert unresolved("from distortion_reliability import pipeline\npipeline.build_oracle(cfg)\n") == \
        ["distortion_reliability.pipeline.build_oracle"]
    assert unresolved("from distortion_reliability.stages import Job, NoSuchStage\n") == \
        ["distortion_reliability.stages.NoSuchStage"]
    assert unresolved("from distortion_reliability import pipeline\npipeline.run\n") == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_package_name_a_script_uses_exists(script):
    assert unresolved(script.read_text()) == []
