"""Counts of riskml's wiring: cross-package imports (module level / inside functions),
public names, ``Any`` in public signatures, and the package import graph.

Run: ``python scripts/structure.py`` from the repository root (no riskml import needed
except for the public-surface counts, which import the subpackages).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "riskml"


def package_of(module: str) -> str:
    """``riskml.models._train`` -> ``models``; top-level modules -> their own name."""
    parts = module.split(".")
    if len(parts) == 1:
        return "riskml"
    if (ROOT / parts[1]).is_dir():
        return parts[1]
    return parts[1]  # riskml._pipeline -> _pipeline


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolve(node: ast.ImportFrom, module: str, is_pkg: bool) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        parts = module.split(".")
        if not is_pkg:
            parts = parts[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join(parts + ([node.module] if node.module else []))
    if node.module is None:
        return [f"{base}.{a.name}" for a in node.names]
    return [base]


def imports() -> list[tuple[str, str, bool, bool]]:
    """(importer module, imported riskml module, inside a function, under TYPE_CHECKING)."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        module = module_name(path)
        tree = ast.parse(path.read_text())
        is_pkg = path.name == "__init__.py"

        def visit(node: ast.AST, in_func: bool, in_tc: bool) -> None:
            for child in ast.iter_child_nodes(node):
                f = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                tc = in_tc or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
                if isinstance(child, ast.Import):
                    for a in child.names:
                        if a.name.startswith("riskml"):
                            out.append((module, a.name, f, tc))
                elif isinstance(child, ast.ImportFrom):
                    for target in resolve(child, module, is_pkg):
                        if target.startswith("riskml"):
                            out.append((module, target, f, tc))
                visit(child, f, tc)

        visit(tree, False, False)
    return out


def cross_package(rows):
    return [r for r in rows if package_of(r[0]) != package_of(r[1]) and package_of(r[1]) != "riskml"]


def public_surface() -> tuple[int, int]:
    """Public names over riskml and its subpackages' ``__all__``, and ``Any`` in their signatures."""
    names = 0
    any_count = 0
    seen = set()
    modules = ["riskml"] + [f"riskml.{p.name}" for p in sorted(ROOT.iterdir()) if (p / "__init__.py").exists()]
    for name in modules:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr)
            names += 1
            if id(obj) in seen or inspect.ismodule(obj):
                continue
            seen.add(id(obj))
            targets = [obj]
            if inspect.isclass(obj):
                targets = [m for k, m in vars(obj).items() if callable(m) and not k.startswith("_")] + [obj]
            for t in targets:
                try:
                    sig = inspect.signature(t)
                except (TypeError, ValueError):
                    continue
                anns = [p.annotation for p in sig.parameters.values()] + [sig.return_annotation]
                any_count += sum(1 for a in anns if "Any" in str(a))
    return names, any_count


def main() -> None:
    rows = imports()
    cross = cross_package(rows)
    in_func = [r for r in cross if r[2]]
    print(f"cross-package imports: {len(cross)} ({len(in_func)} inside functions)")
    graph = defaultdict(set)
    for a, b, f, tc in cross:
        if not tc:
            graph[package_of(a)].add(package_of(b))
    for pkg in sorted(graph):
        print(f"  {pkg:10s} -> {', '.join(sorted(graph[pkg]))}")
    cycles = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if a in graph.get(b, ())})
    print(f"two-package cycles: {cycles}")
    sys.path.insert(0, str(ROOT.parent))
    names, anys = public_surface()
    print(f"public names: {names}; Any in public signatures: {anys}")


if __name__ == "__main__":
    main()
