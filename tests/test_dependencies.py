"""Every package livematte imports is one pyproject.toml declares, so `pip install
'livematte[cpu]'` brings it: a dev venv would hide a missing one whenever a dev tool brings
it along (Pillow came with matplotlib). tools/install_check.sh runs the real install; this
is the check that needs no network."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

from livematte.config import tomllib

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "livematte"
# Extras that only the developer installs: nothing under src may need them.
DEV_EXTRAS = {"dev"}


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of one requirement line."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement.strip())
    assert name, requirement
    return re.sub(r"[-_.]+", "-", name.group(0)).lower()


def declared() -> tuple[set[str], set[str]]:
    """(the dependencies every install has, those an extra a user picks brings)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {requirement_name(line) for line in project["dependencies"]}
    extras = {
        requirement_name(line)
        for extra, lines in project["optional-dependencies"].items()
        if extra not in DEV_EXTRAS
        for line in lines
    }
    return core, extras


def imported_modules() -> dict[str, str]:
    """Each top-level module that a file under src imports (absolute imports only), with
    one file that imports it, leaving out the standard library and livematte itself."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "livematte" and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def distributions_of(module: str) -> set[str]:
    """The distributions that install ``module`` here; a module not installed here (an
    optional extra's, such as ray) is taken to be its own distribution's name."""
    names = metadata.packages_distributions().get(module) or [module]
    return {requirement_name(name) for name in names}


def test_every_imported_package_is_a_declared_dependency() -> None:
    core, extras = declared()
    missing = {
        module: where
        for module, where in imported_modules().items()
        if not distributions_of(module) & (core | extras)
    }
    assert missing == {}, (
        "imported under src but declared neither in [project] dependencies nor in a user's "
        "extra of pyproject.toml (module: a file importing it)"
    )


@pytest.mark.parametrize("module", ["PIL", "cv2", "av", "numpy", "aiohttp", "pyvirtualcam"])
def test_what_every_run_imports_comes_with_every_install(module: str) -> None:
    """Pictures, clips and the control page run on a plain install: their packages are
    dependencies of their own, not an extra's."""
    core, _ = declared()
    assert module in imported_modules()
    assert distributions_of(module) & core, f"{module} is not in [project] dependencies"
