"""The house rules of taskapi/ (docs/architecture.md), checked on the source: the
import graph has no circle, core/ imports no domain, no module reaches into
another's private names, the top of the package holds only the factory,
configuration, extensions and the CLI; and the docs' maps match the tree."""

import ast
import re

import pytest

from tests.support.environment import ROOT

PACKAGE = ROOT / "taskapi"
TOP_LEVEL = {"__init__", "config", "extensions", "cli"}


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> list[tuple[str, str]]:
    """(module, imported name) of every import in module `name`, relative ones
    resolved, function-level ones included; `from pkg import mod` is (pkg.mod, "")."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(
                    parts[: len(parts) - node.level + 1] + [base] * bool(base)
                )
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append(
                    (submodule, "") if submodule in MODULES else (base, alias.name)
                )
    return [(module, imported) for module, imported in found if module in MODULES]


GRAPH = {name: {module for module, _ in imports_of(name)} - {name} for name in MODULES}


def test_the_import_graph_has_no_circle():
    circles, state, path = [], {}, []

    def visit(name):
        state[name] = "open"
        path.append(name)
        for imported in sorted(GRAPH[name]):
            if state.get(imported) == "open":
                circles.append(" -> ".join([*path[path.index(imported) :], imported]))
            elif imported not in state:
                visit(imported)
        path.pop()
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)
    assert circles == []


def test_core_imports_no_domain():
    outside = {
        name: sorted(m for m in imported if not m.startswith("taskapi.core"))
        for name, imported in GRAPH.items()
        if name.startswith("taskapi.core")
    }
    assert {name: found for name, found in outside.items() if found} == {}


# What each package may import (docs/architecture.md's package map): the top of
# the package wires everything in create_app; core/ nothing but itself.
MAY_IMPORT = {
    "core": set(),
    "web": {"core", "extensions"},
    "auth": {"core", "config", "extensions", "tokens"},
    "tasks": {"core", "lists", "recurrence", "reminders", "changes"},
    "batch": {"core", "web", "tasks"},
    "lists": {"core", "tasks"},
    "recurrence": {"core", "tasks", "reminders"},
    "reminders": {"core", "tasks"},
    "changes": {"core", "tasks", "lists"},
    "webhooks": {"core", "tasks", "reminders"},
    "mcp": {"core", "extensions", "tasks", "lists", "batch", "quickadd", "web"},
    "tokens": {"core"},
    "sharing": {"core", "lists"},
    "calendars": {"core", "web", "tasks", "lists", "recurrence"},
    "quickadd": {"core", "tasks", "lists", "recurrence"},
    "portability": {
        "core",
        "web",
        "tasks",
        "lists",
        "recurrence",
        "reminders",
        "webhooks",
    },
    "accounts": {
        *("core", "tasks", "lists", "changes", "reminders", "sharing", "tokens"),
        *("webhooks", "calendars"),
    },
}


def package_of(module: str) -> str:
    """`tasks` for taskapi.tasks.views, `extensions` for taskapi.extensions."""
    return module.split(".")[1] if "." in module else ""


def test_each_package_imports_only_what_the_package_map_allows():
    assert set(MAY_IMPORT) == {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    beyond = sorted(
        f"{name} imports {imported}"
        for name, modules in GRAPH.items()
        if package_of(name) in MAY_IMPORT
        for imported in modules
        if package_of(imported) not in {package_of(name), *MAY_IMPORT[package_of(name)]}
    )
    assert beyond == []


def test_no_module_imports_another_ones_private_names():
    private = [
        f"{name} imports {imported} from {module}"
        for name in MODULES
        for module, imported in imports_of(name)
        if imported.startswith("_") and module != name
    ]
    assert private == []


def test_the_top_of_the_package_holds_the_factory_config_extensions_and_cli():
    top = {path.stem for path in PACKAGE.glob("*.py")}
    assert top == TOP_LEVEL
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert "core" in packages and "web" in packages


# Tables every domain's WHERE clause reads (core/scope.py), so core declares them.
SHARED_TABLES = {PACKAGE / "core" / "memberships.py"}


def test_each_domain_names_its_modules_by_role():
    """The same file names for the same roles: a domain's blueprint is views.py,
    its marshmallow schemas schemas.py, its tables models.py."""
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if re.search(r"^blp = (User)?Blueprint\(", text, re.MULTILINE):
            assert path.name == "views.py" or path.parent.name == "web", path
        if re.search(r"^class \w+\(Base\):", text, re.MULTILINE):
            assert path.name == "models.py" or path in SHARED_TABLES, path


# The docs -------------------------------------------------------------------------


def code_map() -> dict[str, str]:
    """CONTRIBUTING.md's code map: path -> what it says the path holds."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    section = text.split("\n## Code map\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```\n", 2)[1]
    entries = {}
    for line in block.splitlines():
        if line.strip() and not line.startswith(" "):
            path, _, said = line.partition(" ")
            entries[path] = said.strip()
    return entries


def test_contributings_code_map_names_every_module_and_nothing_else():
    listed = code_map()
    modules = {
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py" or path.parent != PACKAGE
    }
    packages = {
        path.parent.relative_to(ROOT).as_posix() + "/"
        for path in PACKAGE.glob("*/__init__.py")
    }
    named = {path for path in listed if path.startswith("taskapi/")}
    in_tree = (
        {p for p in modules if not p.endswith("/__init__.py")}
        | packages
        | {
            "taskapi/__init__.py",
            "taskapi/static/redoc/",
        }
    )
    assert sorted(in_tree - named) == [], "in taskapi/, missing in the code map"
    assert sorted(named - in_tree) == [], "in the code map, not in taskapi/"
    for path in listed:
        assert (ROOT / path).exists(), f"the code map names {path}, which is gone"
        assert listed[path], f"the code map says nothing of {path}"


@pytest.mark.parametrize("document", ["README.md"])
def test_the_readme_stays_under_15_kb(document):
    assert (ROOT / document).stat().st_size <= 15 * 1024


def test_the_architecture_doc_maps_every_package():
    text = (ROOT / "docs" / "architecture.md").read_text()
    for path in PACKAGE.glob("*/__init__.py"):
        assert f"{path.parent.name}/" in text, path.parent.name
