"""Dependencies point one way: api → domain packages → core (DESIGN.md)."""
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ["core", "orgs", "volunteers", "activities", "points"]
FORBIDDEN_EVERYWHERE_IN_DOMAIN = {"api", "flask.request", "flask.g"}
# Extra arrows each package must not draw (beyond never importing api).
FORBIDDEN = {
    "core": {"orgs", "volunteers", "activities", "points"},
    "points": {"activities"},
    "orgs": {"activities", "points"},
    "volunteers": {"activities"},
}


def imports_of(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"


def violations(package: str):
    banned = FORBIDDEN_EVERYWHERE_IN_DOMAIN | FORBIDDEN.get(package, set())
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imports_of(path):
            for bad in banned:
                if name == bad or name.startswith(bad + "."):
                    yield f"{path.relative_to(ROOT)} imports {name}"


def test_domain_packages_never_import_the_http_layer_or_point_backwards():
    found = [v for package in DOMAIN if (ROOT / package).exists() for v in violations(package)]
    assert found == []


def test_the_scan_catches_a_wrong_arrow(tmp_path, monkeypatch):
    bad = tmp_path / "points"
    bad.mkdir()
    (bad / "x.py").write_text("from flask import request\nimport activities.models\nfrom api import auth\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert sorted(violations("points")) == [
        "points/x.py imports activities.models",
        "points/x.py imports api",
        "points/x.py imports api.auth",
        "points/x.py imports flask.request",
    ]
