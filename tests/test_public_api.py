"""The public surface is small, deliberate, documented and typed at its seams.

* The ``__all__`` of ``riskml`` and of each subpackage equals the list pinned here, so a
  change to the public surface is a visible diff of this file. Plumbing is imported from
  its private module (``riskml.features._engine``), never from the package.
* Every public name has a numpydoc docstring (parsed by numpydoc) with a summary and an
  Examples section.
* No public signature types a seam (records, panel, model, spec, dates) as ``Any``, and
  every annotation of a public signature names a real type: evaluated in its module,
  with the imports of the module's ``TYPE_CHECKING`` block, it resolves.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterator

import pytest
from numpydoc.docscrape import ClassDoc, FunctionDoc

PUBLIC: dict[str, list[str]] = {
    "riskml": [
        "SpecError", "__version__", "records", "synth", "features", "labels", "models", "grading", "explain",
        "tracking", "ranking", "monitor", "ledger", "spark", "build_panel", "Panel", "make_labels", "train",
        "promote", "predict", "TrainResult", "tune", "TuneResult", "blind_spots", "inspection_plan",
        "evaluate_plan", "publish", "score_quarter", "replay",
    ],
    "riskml.records": [
        "PrivacyError", "Records", "RecordsError", "RecordsFileError", "SourceCatalog", "SourceSpec",
        "example_sources_path", "from_frames", "load_sources", "neutralise_formulas", "pseudonymise", "read",
        "validate", "write",
    ],
    "riskml.synth": ["Market", "Truth", "make_market"],
    "riskml.features": ["FeatureSpec", "Panel", "build_panel", "build_panel_in_buckets", "load_feature_spec",
                        "read_panel"],
    "riskml.labels": ["LabelSpec", "load_label_spec", "make_labels"],
    "riskml.models": [
        "BacktestSpec", "FitResult", "ModelFileError", "ModelIntegrityError", "ModelSpec", "RiskModel",
        "ScorecardModel", "TuningSpec", "fit_model", "load_backtest_spec", "load_model_spec", "load_tuning_spec",
        "screen_features",
    ],
    "riskml.grading": ["GradePolicy", "assign_grades", "proba_to_score", "score_from_logit"],
    "riskml.explain": ["BatchExplanation", "Explanation", "GradePath", "explain_entity", "explain_rows",
                       "load_actions", "path_to_next_grade", "tree_contributions"],
    "riskml.tracking": ["PromotionDecision", "TrackingUnreachableError", "configure", "fail_orphaned_runs",
                        "load_model", "promote", "psi", "resolve_version"],
    "riskml.ranking": ["Replay", "blind_spots", "evaluate_plan", "inspection_plan", "load_replay_spec",
                       "records_known_before", "replay", "selection_aware_sample"],
    "riskml.monitor": ["MonitorReport", "fairness_audit", "migration_matrix", "migration_report", "monitor",
                       "record_events", "rule_warnings"],
    "riskml.ledger": ["PublishResult", "ledger_rows", "publish", "read_ledger"],
    "riskml.spark": ["SparkPanel", "build_panel", "predict", "session"],
}

# Parameters that carry data or a spec between the stages: typed, never Any.
SEAMS = frozenset({
    "data", "records", "panel", "frame", "index", "model", "spec", "feature_spec", "backtest", "gates", "rules",
    "as_of", "since", "t", "t1", "t2", "truth", "reference", "entities", "panel_ref", "panel_cur", "weights",
    "spark", "X",
})


def _public() -> Iterator[tuple[str, object]]:
    """(qualified name, object) of every public name that is not a module or a version string."""
    for module_name, names in PUBLIC.items():
        module = importlib.import_module(module_name)
        for name in names:
            obj = getattr(module, name)
            if not inspect.ismodule(obj) and name != "__version__":
                yield f"{module_name}.{name}", obj


def _callables(obj: object) -> Iterator[tuple[str, Callable[..., object]]]:
    """The object itself and, for a class, its public methods and properties' getters."""
    if inspect.isclass(obj):
        yield "", obj
        for attr, member in vars(obj).items():
            if attr.startswith("_"):
                continue
            if isinstance(member, property) and member.fget is not None:
                yield f".{attr}", member.fget
            elif isinstance(member, (staticmethod, classmethod)):
                yield f".{attr}", member.__func__
            elif inspect.isfunction(member):
                yield f".{attr}", member
    elif callable(obj):
        yield "", obj  # type: ignore[misc]


def _type_checking_namespace(module_name: str) -> dict[str, object]:
    """The module's globals plus what its ``if TYPE_CHECKING:`` block imports."""
    module = sys.modules[module_name]
    namespace = dict(vars(module))
    source = inspect.getsource(module)
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            exec(compile(ast.Module(body=node.body, type_ignores=[]), module_name, "exec"), namespace)
    return namespace


def test_each_package_exports_exactly_the_pinned_names() -> None:
    for module_name, names in PUBLIC.items():
        module = importlib.import_module(module_name)
        assert sorted(module.__all__) == sorted(names), (
            f"{module_name}.__all__ changed: added {sorted(set(module.__all__) - set(names))}, "
            f"removed {sorted(set(names) - set(module.__all__))}; update PUBLIC here if that is deliberate")
        assert len(set(module.__all__)) == len(module.__all__), f"{module_name}.__all__ lists a name twice"
        for name in names:
            assert getattr(module, name, None) is not None, f"{module_name}.{name} is in __all__ but not importable"


def test_the_public_surface_stays_small() -> None:
    assert sum(len(names) for names in PUBLIC.values()) <= 115


def test_plumbing_is_not_exported_from_its_package() -> None:
    plumbing = {"riskml.features": ["compute_bucket", "where_mask", "parse_window", "as_of_grid"],
                "riskml.records": ["coerce_column", "as_records"], "riskml.models": ["fit_platt", "plan_splits"],
                "riskml.spark": ["bucket_of"]}
    for module_name, names in plumbing.items():
        module = importlib.import_module(module_name)
        exported = sorted(set(names) & set(module.__all__) | {n for n in names if hasattr(module, n)})
        assert not exported, f"{module_name} exports plumbing {exported}; import it from its private module"


@pytest.mark.parametrize("qualname, obj", list(_public()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_public_name_has_a_numpydoc_docstring_with_examples(qualname: str, obj: object) -> None:
    doc = ClassDoc(obj, config={"show_class_members": False}) if inspect.isclass(obj) else FunctionDoc(obj)
    assert doc["Summary"], f"{qualname}: the docstring has no summary line"
    examples = "\n".join(doc["Examples"])
    assert ">>>" in examples, f"{qualname}: the docstring has no Examples section with a runnable example"
    assert not re.fullmatch(r"(?s)\s*(>>> (import|from) [^\n]*\n)*>>> callable\([^)]*\)\s*\nTrue\s*", examples), (
        f"{qualname}: an example that only checks callable(...) shows nothing; give a real one")


def test_no_seam_parameter_of_a_public_signature_is_any() -> None:
    found = []
    for qualname, obj in _public():
        for suffix, fn in _callables(obj):
            try:
                signature = inspect.signature(fn)
            except (TypeError, ValueError):
                continue
            for param in signature.parameters.values():
                annotation = str(param.annotation)
                # a spec given as its YAML mapping is Mapping[str, Any]: its values are the spec's
                bare = re.sub(r"(Mapping|dict)\[str, (typing\.)?Any\]", "", annotation)
                if param.name in SEAMS and (param.annotation is inspect.Parameter.empty
                                            or re.search(r"\bAny\b", bare)):
                    found.append(f"{qualname}{suffix}({param.name}: {annotation})")
    assert not found, f"seam parameters typed Any or untyped: {found}"


def _annotations(obj: object) -> Iterator[tuple[str, str, object]]:
    """(where, module, annotation) of a function's parameters and return, or of a class's fields
    (each field in the module of the class that declares it)."""
    if inspect.isclass(obj):
        for base in obj.__mro__:
            if base.__module__.startswith("riskml"):
                for field, annotation in vars(base).get("__annotations__", {}).items():
                    yield f"{base.__name__}.{field}", base.__module__, annotation
    else:
        for name, annotation in getattr(obj, "__annotations__", {}).items():
            yield name, obj.__module__, annotation


def test_every_annotation_of_a_public_signature_resolves_to_a_real_type() -> None:
    pytest.importorskip("pyspark")  # riskml.spark's TYPE_CHECKING block names pyspark's types
    unresolved = []
    namespaces: dict[str, dict[str, object]] = {}
    for qualname, obj in _public():
        for suffix, fn in _callables(obj):
            for where, module_name, annotation in _annotations(fn):
                if not module_name.startswith("riskml") or not isinstance(annotation, str):
                    continue
                if module_name not in namespaces:
                    namespaces[module_name] = _type_checking_namespace(module_name)
                try:
                    eval(annotation, namespaces[module_name])  # noqa: S307 (the module's own annotation)
                except Exception as error:  # noqa: BLE001 (the test reports which name fails)
                    unresolved.append(f"{qualname}{suffix} {where}: {annotation!r}: {type(error).__name__}: {error}")
    assert not unresolved, f"annotations that do not resolve: {unresolved}"
