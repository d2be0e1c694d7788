"""The package's import rules (README, Layout): the library never imports configs/ or experiments/, nothing is
patched at import time, and a config, the sweep module or a benchmark's declaration loads without JAX."""
import ast
import pathlib
import subprocess
import sys

import pytest

from tests.tiny import ROOT

LIBRARY = pathlib.Path(ROOT) / "srtd_jax"


def _imports(path: pathlib.Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_the_library_imports_neither_configs_nor_experiments():
    wrong = {(str(p.relative_to(ROOT)), name) for p in LIBRARY.rglob("*.py") for name in _imports(p)
             if name.split(".")[0] in ("configs", "experiments", "tests")}
    assert wrong == set()


def test_each_benchmark_declares_its_table_and_the_sweep_presets_agree():
    from configs import benchmark_drone, benchmark_mt10
    from srtd_jax.benchmarks import registry
    from srtd_jax.data import mixtures
    for name, preset in (("mt10", benchmark_mt10.TABLE1), ("drone", benchmark_drone.TABLE2)):
        decl = registry.declaration(name)
        assert decl.name == name and tuple(decl.configurations) == preset and set(decl.paper) <= set(preset)
        for configuration, counts in decl.configurations.items():
            assert mixtures.parse(configuration, len(decl.tasks)) == counts
        assert registry.get(name).declaration is decl and registry.get(name).tasks == decl.tasks
    with pytest.raises(ValueError, match="unknown suite 'mt50'; valid suites: mt10, drone"):
        registry.declaration("mt50")


@pytest.mark.slow
def test_configs_the_sweep_and_declarations_load_without_jax():
    code = ("import sys, configs.default, configs.quick, configs.drone, configs.benchmark_mt10, configs.benchmark_drone;"
            "import srtd_jax.studies.sweep, srtd_jax.runtime.config_check as c, srtd_jax.benchmarks.registry as r;"
            "r.declaration('mt10'); r.declaration('drone'); c.check_config(configs.quick.get_config());"
            "print(sorted(m for m in ('jax', 'optax', 'flax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
