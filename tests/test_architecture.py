"""Dependencies point one way (DESIGN.md "Layout"): the arrows are import-linter
contracts (.importlinter, also run by `make test`), and no domain package
imports flask, not even inside a function."""
import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Everything else at the top level that is a package is a domain package (or core):
# a new one is scanned without being listed anywhere.
FRONT_DOORS_AND_TOOLS = {"api", "console", "tests", "bench", "migrations"}


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """`lint-imports` over the code under `cwd`, in its own process (it sets up logging
    of its own, which must not leak into the other tests)."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                               "sys.exit(lint_imports(no_cache=True, no_logo=True))"],
        cwd=cwd, env={**os.environ, "PYTHONPATH": str(cwd)}, capture_output=True, text=True)


def test_every_import_linter_contract_is_kept():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def domain_packages(root: Path) -> list[str]:
    return sorted(path.parent.name for path in root.glob("*/__init__.py")
                  if path.parent.name not in FRONT_DOORS_AND_TOOLS)


def flask_imports(path: Path):
    """Every import of flask (or a module inside it) anywhere in the file, functions included."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if name == "flask" or name.startswith("flask."):
                yield f"{path.relative_to(root_of(path)).as_posix()}:{node.lineno} imports {name}"


def root_of(path: Path) -> Path:
    return next(parent for parent in path.parents if not (parent / "__init__.py").exists())


def flask_in_the_domain(root: Path) -> list[str]:
    return [found for package in domain_packages(root)
            for path in sorted((root / package).rglob("*.py"))
            for found in flask_imports(path)]


def test_the_domain_packages_are_discovered():
    found = domain_packages(ROOT)
    assert {"core", "people", "orgs", "volunteers", "activities", "points"} <= set(found)
    assert not set(found) & FRONT_DOORS_AND_TOOLS


def test_no_domain_module_imports_flask():
    assert flask_in_the_domain(ROOT) == []


def test_the_scan_catches_flask_imported_inside_a_function(tmp_path):
    package = tmp_path / "newfeature"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "service.py").write_text(
        "import os\n\n\ndef rule():\n    from flask import current_app\n    return current_app\n")
    (package / "other.py").write_text("import flask.json\nimport flask_sqlalchemy\n")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "__init__.py").write_text("from flask import Flask\n")
    assert domain_packages(tmp_path) == ["newfeature"]
    assert flask_in_the_domain(tmp_path) == [
        "newfeature/other.py:1 imports flask.json",
        "newfeature/sub/service.py:5 imports flask",
    ]


def test_the_contracts_catch_a_wrong_arrow(tmp_path):
    """The contracts read the code as it is: a copy of the packages with one
    backwards import (orgs importing volunteers, inside a function) breaks them."""
    for package in domain_packages(ROOT) + ["api", "console"]:
        for path in (ROOT / package).rglob("*.py"):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    with open(tmp_path / "orgs" / "scope.py", "a", encoding="utf-8") as scope:
        scope.write("\n\ndef _backwards():\n    import volunteers.records  # noqa: F401\n")
    (tmp_path / ".importlinter").write_text((ROOT / ".importlinter").read_text(encoding="utf-8"),
                                            encoding="utf-8")
    run = lint_imports(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "orgs.scope -> volunteers.records" in run.stdout
