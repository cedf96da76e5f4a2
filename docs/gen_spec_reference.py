"""Generate ``docs/specs.md``, the reference of every spec file, from the spec models.

riskml's specs (``features/``, ``models/``, ``experiments/``) are YAML validated into
pydantic models. This script walks those models and writes, for each spec file, one
table per model: every key with its type, its default (or *required*), its
constraints and its description. A description comes from the field's
``Field(description=...)`` or, failing that, from the ``Attributes`` / ``Parameters``
section of the model's docstring. The leading comment block of each bundled spec file
follows the tables, since it explains the file as a whole.

``tests/docs/test_doc_examples.py`` checks that the committed ``docs/specs.md`` equals
a fresh generation, so a change to a spec model must come with a regenerated page::

    python docs/gen_spec_reference.py            # rewrite docs/specs.md
    python docs/gen_spec_reference.py --check    # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import sys
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "specs.md"
if str(ROOT) not in sys.path:  # run as a script from a source checkout
    sys.path.insert(0, str(ROOT))

from riskml._specs import bundled_dir  # noqa: E402
from riskml.explain._whatif import AppealAction, AppealActions  # noqa: E402
from riskml.features._dimensions import DimensionSpec, IndicatorGroup  # noqa: E402
from riskml.features._spec import AGGREGATIONS, STATES  # noqa: E402
from riskml.features._network_spec import MEASURES, InvoiceSource, NetworkFeature, NetworkSpec  # noqa: E402
from riskml.features._spec import ColumnLabel, FeatureEntry, FeatureFile, Range  # noqa: E402
from riskml.grading import GradePolicy  # noqa: E402
from riskml.grading._policy import GradeBand, GradeOverride, Scorecard, WhiteListRule  # noqa: E402
from riskml.labels import LabelSpec  # noqa: E402
from riskml.labels._labels import LabelRule  # noqa: E402
from riskml.models import BacktestSpec, ModelSpec  # noqa: E402
from riskml.models._backtest import CalibrationSpec  # noqa: E402
from riskml.models._spec import ModelKindSpec, TrainingSpec  # noqa: E402
from riskml.models._grade_model import GradeScoreSpec  # noqa: E402
from riskml.models._spec import LIGHTGBM_ALIASES  # noqa: E402
from riskml.models._tune import ParamSpec, PrunerSpec, SamplerSpec, TuningSpec  # noqa: E402
from riskml.monitor._spec import MonitorSpec, Thresholds  # noqa: E402
from riskml.monitor._warnings import DateWindow, WarningRule, WarningRules  # noqa: E402
from riskml.ranking._replay_spec import OutcomeSpec, PolicySpec, ReplaySpec, ReplayTraining  # noqa: E402
from riskml.ranking._spec import BlindSpotSpec, PlanSpec, SelectionSpec, SourceFilter  # noqa: E402
from riskml.records import SourceCatalog, SourceSpec  # noqa: E402
from riskml.records._sources import ColumnSpec, Coverage, Due, Period  # noqa: E402
from riskml.tracking._promotion import AbsoluteGates, PromotionGates, RelativeGates  # noqa: E402


@dataclasses.dataclass(frozen=True)
class SpecFile:
    """One kind of spec file: where it lives, what it is, the models that read it."""

    folder: str
    name: str
    title: str
    intro: str
    models: tuple[type[BaseModel], ...]
    bundled: tuple[str, ...] = ()
    extra: str = ""
    # show the whole bundled file (its comments document key by key), not just its head
    whole: bool = False


def _vocabulary(title: str, values: Iterable[str]) -> str:
    return f"{title}: " + ", ".join(f"`{v}`" for v in values) + "."


def _model_spec_keys() -> str:
    """The top level of a model spec: ModelSpec's own keys plus the sections it holds."""
    rows = [
        ("name", "str", "the file's stem", "The target name (`credit`, `fraud` or your own)."),
        ("label_zh, label_en", "str", "`name`", "Display names."),
        ("label", f"[{LabelSpec.__name__}](#{LabelSpec.__name__.lower()})", "*required*",
         "Which future records make a row positive, and over what horizon."),
        ("training", f"[{TrainingSpec.__name__}](#{TrainingSpec.__name__.lower()})", "`{}`",
         "How the booster is trained."),
        ("model", f"[{ModelKindSpec.__name__}](#{ModelKindSpec.__name__.lower()})", "`{}`",
         "The kind of model (`lightgbm` or a publishable `scorecard`) and features it leaves out."),
        ("grade_score", f"[{GradeScoreSpec.__name__}](#{GradeScoreSpec.__name__.lower()}) or null", "`null`",
         "The credit grade's own footing: the through-the-cycle grade model (features, calibration); "
         "null grades the point-in-time probability."),
    ]
    for name, field in GradePolicy.model_fields.items():
        if name == "target":
            continue
        rows.append((name, _type_name(field.annotation), _default(field), _description(GradePolicy, name, field)))
    assert {f.name for f in dataclasses.fields(ModelSpec)} >= {"name", "label_zh", "label_en", "label", "training"}
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    lines += [f"| `{k}` | {t} | {d} | {_cell(s)} |".replace("`label_zh, label_en`", "`label_zh`, `label_en`")
              for k, t, d, s in rows]
    aliases = ", ".join(f"`{k}` → `{v}`" for k, v in LIGHTGBM_ALIASES.items())
    return ("The top-level keys of a model spec:\n\n" + "\n".join(lines) + "\n\n"
            f"`training.params` takes LightGBM names or these scikit-learn style aliases: {aliases}.")


SPEC_FILES: tuple[SpecFile, ...] = (
    SpecFile(
        "features", "sources.yaml", "Record sources",
        "Declares every record source: keys, knowledge time (`known_at`), typed columns and "
        "personal data. A user's file either declares its own world (its own `entity_source`) "
        "or adds sources to the built-in ones with the top-level key `extends: builtin`. Read by "
        "`riskml.records.load_sources`; see `docs/data.md`.",
        (SourceCatalog, SourceSpec, ColumnSpec, Coverage, Due, Period), ("features/sources.yaml",),
    ),
    SpecFile(
        "features", "<dimension>.yaml", "Feature files",
        "One file per topic of records. Each entry names a source, an optional "
        "filter, and what to compute: window aggregates, state features at the as-of date, "
        "static registry values. Read by `riskml.features.load_feature_spec(folder)`, which "
        "validates every entry against the declared sources. The file's `dimension` says which "
        "indicator group its features belong to, through the loaded dimension file "
        "(`features/dimensions/`).",
        (FeatureFile, FeatureEntry, ColumnLabel, Range), ("features/penalties.yaml",),
        "\n\n".join([
            _vocabulary("Window aggregations (`aggregations`, over records known in `[t - w, t)`)", AGGREGATIONS),
            _vocabulary("State features (`state`, at the as-of date `t`)", STATES),
            "Windows: `<n>d` (a positive number of days) or `all`. A `where` filter maps a "
            "column to a value, a list of values (any matches) or a range `{min: x, max: y}` "
            "(inclusive).",
        ]),
    ),
    SpecFile(
        "features", "dimensions/<name>.yaml", "Indicator groups",
        "The indicator groups (指标维度) score points are summed by in explanations, reports "
        "and benchmarks, in reporting order, with Chinese and English labels, and which "
        "features belong to each. riskml ships SAMR's five groups (`samr`, the default; "
        "国市监信发〔2022〕6号) and Dezhou's five (`dezhou`). Choose one with "
        "`riskml.features.load_feature_spec(dimensions=\"dezhou\")` or a path to your own "
        "file; a `dimensions.yaml` in a feature folder is used for that folder. Regrouping "
        "leaves the spec hash unchanged.",
        (DimensionSpec, IndicatorGroup), ("features/dimensions/samr.yaml", "features/dimensions/dezhou.yaml"),
        whole=True,
    ),
    SpecFile(
        "features", "network.yaml", "Cross-entity features",
        "The VAT-invoice network between entities and the identities they share. Present in "
        "a feature folder, it adds its features to the panel (dimension `network`, kind "
        "`cross`).",
        (NetworkSpec, InvoiceSource, NetworkFeature), ("features/network.yaml",),
        _vocabulary("Measures (`measure`)", MEASURES),
    ),
    SpecFile(
        "models", "<target>.yaml", "Model specs",
        "Everything that defines one model besides the data: its label, how it is trained and "
        "the grade policy. Read by `riskml.models.load_model_spec` (a name such as `credit`, a "
        "path, or a mapping); the grade policy by `riskml.grading.GradePolicy.from_model_spec`.",
        (LabelSpec, LabelRule, TrainingSpec, ModelKindSpec, GradeScoreSpec, Scorecard, GradeBand, GradeOverride, WhiteListRule),
        ("models/credit.yaml",), whole=True,
    ),
    SpecFile(
        "models", "appeal_actions.yaml", "Appeal actions",
        "The changes an appeal can bring, tried on a copy of an entity's records to say what "
        "would change its grade (`riskml.explain.load_actions`).",
        (AppealActions, AppealAction), ("models/appeal_actions.yaml",),
    ),
    SpecFile(
        "models", "warnings.yaml", "Rule warnings",
        "The bureau's rule-based warnings (`riskml.monitor.rule_warnings`).",
        (WarningRules, WarningRule, DateWindow), ("models/warnings.yaml",),
    ),
    SpecFile(
        "experiments", "backtest.yaml", "Temporal backtest",
        "How `riskml.train` (and `riskml.tune`) split a panel in time "
        "(`riskml.models.load_backtest_spec`; `backtest=` takes a path, a mapping or a spec).",
        (BacktestSpec, CalibrationSpec), ("experiments/backtest.yaml",), whole=True,
    ),
    SpecFile(
        "experiments", "promotion.yaml", "Promotion gates",
        "When a registered challenger may become champion (`riskml.promote`).",
        (PromotionGates, AbsoluteGates, RelativeGates), ("experiments/promotion.yaml",), whole=True,
    ),
    SpecFile(
        "experiments", "monitor.yaml", "Ranking and monitoring",
        "Blind spots, selection handling, inspection plans and monitoring thresholds "
        "(`riskml.ranking`, `riskml.monitor`).",
        (MonitorSpec, BlindSpotSpec, SelectionSpec, PlanSpec, SourceFilter, Thresholds),
        ("experiments/monitor.yaml",), whole=True,
    ),
    SpecFile(
        "experiments", "replay.yaml", "Replay of the supervision cycle",
        "The inspection policies `riskml.ranking.replay` compares quarter by quarter without look-ahead, "
        "and how it refits (`riskml.ranking.load_replay_spec`).",
        (ReplaySpec, ReplayTraining, OutcomeSpec, PolicySpec), ("experiments/replay.yaml",), whole=True,
    ),
    SpecFile(
        "experiments", "tuning.yaml", "Hyper-parameter tuning",
        "How `riskml.tune` searches LightGBM parameters (`riskml.models.load_tuning_spec`).",
        (TuningSpec, SamplerSpec, PrunerSpec, ParamSpec), ("experiments/tuning.yaml",), whole=True,
    ),
)

# ----------------------------------------------------------------------------- formatting

_DOC_SECTIONS = ("Attributes", "Parameters")
_SECTION_END = re.compile(r"^(Examples|Returns|Raises|See Also|Notes|Methods|Yields|References)$")


def _docstring_entries(model: type[BaseModel]) -> dict[str, str]:
    """``name -> description`` from the model's numpydoc Attributes/Parameters section."""
    doc = typing.cast(str, model.__doc__ or "")
    lines = [line.rstrip() for line in doc.expandtabs().splitlines()]
    indent = min((len(x) - len(x.lstrip()) for x in lines[1:] if x.strip()), default=0)
    lines = [lines[0].strip(), *(x[indent:] for x in lines[1:])]
    entries: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_section = False
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() in _DOC_SECTIONS and set(nxt.strip()) == {"-"}:
            in_section, current = True, None
            continue
        if _SECTION_END.match(line.strip()) and set(nxt.strip()) == {"-"}:
            in_section, current = False, None
            continue
        if not in_section or set(line.strip()) == {"-"}:
            continue
        if line and not line.startswith(" "):
            names = line.split(" : ")[0]
            current = []
            for name in names.split(","):
                entries[name.strip()] = current
        elif current is not None and line.strip():
            current.append(line.strip())
    return {name: " ".join(text) for name, text in entries.items()}


def _description(model: type[BaseModel], name: str, field: FieldInfo) -> str:
    if field.description:
        return field.description
    return _docstring_entries(model).get(name, "")


def _anchor(model: type) -> str:
    return model.__name__.lower()


def _type_name(annotation: Any) -> str:
    """A reader's name for a type annotation; spec models link to their table."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if annotation is Any:
        return "any"
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(_type_name(a) for a in args))
    if origin is typing.Literal:
        return " or ".join(json.dumps(a, ensure_ascii=False) for a in args)
    if origin in (list, tuple, set, frozenset) or origin in (Iterable,):
        inner = [a for a in args if a is not Ellipsis]
        if not inner:
            return "list"
        name = _type_name(inner[0])
        return f"list of ({name})" if " or " in name else f"list of {name}"
    if origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}" if args else "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{_anchor(annotation)})"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "*required*"
    value = _plain(field.get_default(call_default_factory=True))
    if isinstance(value, float) and math.isnan(value):
        return "`.nan`"
    if isinstance(field.get_default(call_default_factory=True), BaseModel):
        return "its defaults"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _constraints(field: FieldInfo) -> str:
    words = []
    for item in field.metadata:
        for attr, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            if getattr(item, attr, None) is not None:
                words.append(f"{symbol} {getattr(item, attr)}")
        if getattr(item, "min_length", None):
            words.append(f"at least {item.min_length}")
        if getattr(item, "max_length", None):
            words.append(f"at most {item.max_length}")
    return ", ".join(words)


def _markdown(text: str) -> str:
    """reStructuredText inline markup of docstrings as markdown."""
    return re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text).replace("``", "`")


def _cell(text: str) -> str:
    return _markdown(text).replace("|", "\\|").replace("\n", " ")


def _model_table(model: type[BaseModel]) -> str:
    first = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
    lines = [f"#### {model.__name__}", "", _markdown(first), "", "| key | type | default | constraints | description |",
             "|---|---|---|---|---|"]
    for name, field in model.model_fields.items():
        key = field.alias or name
        lines.append(f"| `{key}` | {_cell(_type_name(field.annotation))} | {_cell(_default(field))} | "
                     f"{_constraints(field)} | {_cell(_description(model, name, field))} |")
    return "\n".join(lines)


def _leading_comments(path: Path) -> str:
    """The comment block a bundled spec file starts with."""
    block = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        block.append(line)
    return "\n".join(block)


def _bundled(rel: str) -> Path:
    folder, _, name = rel.partition("/")
    return bundled_dir(folder) / name


def render() -> str:
    """The full text of ``docs/specs.md``."""
    out = [
        "<!-- Generated by docs/gen_spec_reference.py from the spec models; do not edit by hand. -->",
        "",
        "# Spec reference (`features/`, `models/`, `experiments/`)",
        "",
        "A spec is data, not code: YAML files validated into typed models when riskml reads "
        "them. riskml ships defaults for every spec (in a source checkout the top-level "
        "`features/`, `models/` and `experiments/` folders; in an installed wheel "
        "`riskml/_bundled/`); point riskml at your own file or folder to change them. Unknown "
        "keys are errors, and every error (`riskml.SpecError`, a `ValueError`) names the file, "
        "the key and what was expected, e.g. "
        "`models/german.yaml: label.horizon_days: expected Input should be greater than 0 (got -5)`.",
        "",
        "Each section below lists the keys of one kind of file, model by model: the type, the "
        "default (*required* when there is none), constraints and the description; then the "
        "bundled file itself (or the comment block it opens with), whose comments explain "
        "each key in context.",
        "",
    ]
    for folder in ("features", "models", "experiments"):
        out += [f"## `{folder}/`", ""]
        for spec in (s for s in SPEC_FILES if s.folder == folder):
            out += [f"### `{folder}/{spec.name}`: {spec.title}", "", spec.intro, ""]
            if spec.name == "<target>.yaml":
                out += [_model_spec_keys(), ""]
            if spec.extra:
                out += [spec.extra, ""]
            for model in spec.models:
                out += [_model_table(model), ""]
            for rel in spec.bundled:
                if spec.whole:
                    text = _bundled(rel).read_text(encoding="utf-8").rstrip()
                    out += [f"The bundled `{rel}`, with its comments:", "", "```yaml", text, "```", ""]
                    continue
                comments = _leading_comments(_bundled(rel))
                if comments:
                    out += [f"The bundled `{rel}` opens with:", "", "```yaml", comments, "```", ""]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write ``docs/specs.md`` (or, with ``--check``, compare it); return the exit code."""
    parser = argparse.ArgumentParser(description="Generate docs/specs.md from riskml's spec models.")
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/specs.md is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.is_file() or OUTPUT.read_text(encoding="utf-8") != text:
            print("docs/specs.md is stale: run python docs/gen_spec_reference.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
