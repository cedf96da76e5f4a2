"""The reviewer's report: one self-contained bilingual HTML page per explanation.

:func:`render_report` turns an :class:`~riskml.explain._explanation.Explanation` into
a page a reviewer can open offline and archive with the appeal file: inline CSS,
inline SVG waterfalls, no script, no external font or image, every text escaped. The
page holds no generation timestamp, so the same explanation always gives the same
bytes (the as-of date and the model version identify it).

Sections: the entity, the grade and the distance to the next band, a waterfall of
points by indicator group and one by feature, the top reasons with the records behind
them, overrides, what-ifs, the contrast with the next better band, the model and its
MLflow run, and the reproducibility statement.
"""

from __future__ import annotations

import html
import unicodedata
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from riskml.explain._explanation import Explanation

__all__ = ["render_report", "waterfall_svg"]

#: evidence rows shown per reason (the rest are counted)
MAX_EVIDENCE_ROWS = 50
#: features shown in the feature waterfall (the rest are summed as "others")
WATERFALL_FEATURES = 10

_CSS = """
*{box-sizing:border-box}
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
"WenQuanYi Micro Hei",sans-serif;margin:0;color:#1f2933;background:#f5f7fa;font-size:14px;line-height:1.5}
main{max-width:1120px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:2px solid #d9e2ec;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.en{color:#52606d}
.card{background:#fff;border:1px solid #d9e2ec;border-radius:8px;padding:16px 20px;margin:12px 0}
.row{display:flex;gap:16px;flex-wrap:wrap}
.grade{font-size:64px;font-weight:700;line-height:1;width:96px;height:96px;border-radius:12px;color:#fff;
display:flex;align-items:center;justify-content:center}
.g0{background:#2f855a}.g1{background:#3182ce}.g2{background:#dd6b20}.g3{background:#c53030}.g4{background:#702459}
.kv{border-collapse:collapse}.kv td{padding:2px 14px 2px 0;vertical-align:top}.kv td:first-child{color:#52606d}
table.data{border-collapse:collapse;width:100%;font-size:12.5px;background:#fff}
table.data th,table.data td{border:1px solid #d9e2ec;padding:3px 6px;text-align:left;vertical-align:top}
table.data th{background:#eef2f7}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.neg{color:#c53030}.pos{color:#2f855a}
.note{background:#fffbea;border:1px solid #f0b429;border-radius:6px;padding:8px 12px}
.alert{background:#fff5f5;border:1px solid #feb2b2;border-radius:6px;padding:8px 12px}
.muted{color:#7b8794;font-size:12px}
svg text{font-family:inherit}
"""


# Unicode categories never shown as themselves: controls, format characters (bidi
# overrides and isolates, zero-width characters), line and paragraph separators.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _e(value: Any) -> str:
    """HTML-escaped text with invisible control and bidirectional characters shown.

    A right-to-left override (U+202E) or another format/control character in an id
    would reorder or hide what the reviewer reads (visual spoofing); it is shown as a
    visible ``[U+202E]`` instead.
    """
    text = str(value)
    if any(_hidden(ch) for ch in text):
        text = "".join(f"[U+{ord(ch):04X}]" if _hidden(ch) else ch for ch in text)
    return html.escape(text, quote=True)


def _hidden(ch: str) -> bool:
    return ch not in "\n\t" and unicodedata.category(ch) in _HIDDEN


def _num(value: Any, digits: int = 1, signed: bool = False) -> str:
    if value is None or (isinstance(value, float | np.floating) and math.isnan(float(value))):
        return "—"
    number = float(value)
    rounded = round(number, digits)
    if rounded == 0:
        rounded = 0.0
    return f"{rounded:+.{digits}f}" if signed else f"{rounded:.{digits}f}"


def _cell(value: Any) -> str:
    """One table cell's text: dates as YYYY-MM-DD, numbers compact, missing as a dash."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "—"
    if isinstance(value, pd.Timestamp | np.datetime64):
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            return "—"
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, bool | np.bool_):
        return "是 yes" if value else "否 no"
    if isinstance(value, float | np.floating):
        if math.isnan(float(value)):
            return "—"
        number = float(value)
        if number.is_integer() and abs(number) < 1e15:
            return f"{int(number):,}"
        return f"{number:,.2f}"
    if isinstance(value, int | np.integer):
        return str(int(value))  # codes and years read without separators
    return str(value)


def _bilingual(zh: str, en: str, tag: str = "span") -> str:
    return f'{_e(zh)} <{tag} class="en">{_e(en)}</{tag}>'


def waterfall_svg(steps: list[tuple[str, float]], base: tuple[str, float], total: tuple[str, float],
                  title: str = "", width: int = 1040) -> str:
    """An inline SVG waterfall: base bar, one bar per step (its points), the total bar.

    Parameters
    ----------
    steps : list of (label, points)
        Added to the base in order; negative points draw red, positive green.
    base, total : (label, value)
        The starting and final values (drawn from the axis minimum).
    title : str
        Accessible title of the figure.
    width : int
        Width in pixels.

    Returns
    -------
    str
        An ``<svg>`` element.

    Examples
    --------
    >>> svg = waterfall_svg([("处罚 penalties", -30.0)], ("基础分 base", 600.0), ("得分 score", 570.0))
    >>> svg.startswith("<svg") and "570.0" in svg
    True
    """
    row_h, label_w, pad = 26, 380, 70
    levels = [base[1]]
    for _, points in steps:
        levels.append(levels[-1] + points)
    levels.append(total[1])
    lo = min(levels)
    hi = max(levels)
    span = hi - lo if hi > lo else 1.0
    # The axis starts a little below the lowest level: bars are differences, not absolutes.
    lo_axis = lo - 0.15 * span
    hi_axis = hi + 0.05 * span
    plot_w = width - label_w - pad

    def x(v: float) -> float:
        return label_w + (v - lo_axis) / (hi_axis - lo_axis) * plot_w

    n = len(steps) + 2
    height = row_h * n + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">', f"<title>{_e(title)}</title>"]
    rows = [(base[0], lo_axis, base[1], "#7b8794", base[1], False)]
    level = base[1]
    for label, points in steps:
        start, end = level, level + points
        rows.append((label, min(start, end), max(start, end), "#c53030" if points < 0 else "#2f855a", points, True))
        level = end
    rows.append((total[0], lo_axis, total[1], "#1f4e79", total[1], False))
    for i, (label, a, b, color, value, signed) in enumerate(rows):
        y = 10 + i * row_h
        xa, xb = x(a), x(b)
        w = max(xb - xa, 1.0)
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12.5" '
                     f'fill="#1f2933">{_e(label)}</text>')
        parts.append(f'<rect x="{xa:.2f}" y="{y + 3}" width="{w:.2f}" height="{row_h - 8}" fill="{color}" rx="2"/>')
        text = _num(value, 1, signed)
        parts.append(f'<text x="{xb + 5:.2f}" y="{y + 16}" font-size="12" fill="#1f2933">{_e(text)}</text>')
        if i < len(rows) - 1:
            # dashed connector at the running total after this bar
            xc = x(levels[i])
            parts.append(f'<line x1="{xc:.2f}" y1="{y + row_h - 5}" x2="{xc:.2f}" y2="{y + row_h + 3}" '
                         f'stroke="#9aa5b1" stroke-dasharray="2,2"/>')
    axis_y = 10 + n * row_h
    parts.append(f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + plot_w}" y2="{axis_y}" stroke="#9aa5b1"/>')
    for tick in np.linspace(lo_axis, hi_axis, 6):
        parts.append(f'<text x="{x(float(tick)):.2f}" y="{axis_y + 14}" font-size="10.5" text-anchor="middle" '
                     f'fill="#52606d">{_e(_num(float(tick), 0))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(frame: pd.DataFrame, headers: dict[str, str] | None = None, numeric: set[str] | None = None,
           signed: set[str] | None = None, limit: int | None = None) -> str:
    headers = headers or {}
    numeric = numeric or set()
    signed = signed or set()
    shown = frame if limit is None else frame.head(limit)
    head = "".join(f"<th>{_e(headers.get(c, c))}</th>" for c in frame.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            if column in signed:
                cls = "num neg" if float(value) < 0 else "num pos"
                cells.append(f'<td class="{cls}">{_e(_num(value, 1, True))}</td>')
            elif column in numeric:
                cells.append(f'<td class="num">{_e(_num(value, 1))}</td>')
            else:
                cells.append(f"<td>{_e(_cell(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if limit is not None and len(frame) > limit:
        more = f'<p class="muted">另有 {len(frame) - limit} 条记录未显示 / {len(frame) - limit} more records not shown</p>'
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{more}'


_EVIDENCE_HEADERS = {
    "source": "来源 source", "record_id": "记录编号 record id", "entity_id": "主体 entity",
    "event_at": "发生日期 event date", "known_at": "获知日期 known date",
}


def _reasons_html(exp: Explanation) -> str:
    if not exp.reasons:
        return '<p>没有降低得分的指标。<span class="en">No feature lowered the score.</span></p>'
    out = []
    for i, reason in enumerate(exp.reasons, start=1):
        evidence = reason["evidence"]
        out.append('<div class="card reason">')
        out.append(f'<h3>{i}. {_e(reason["text_zh"])}<br><span class="en">{_e(reason["text_en"])}</span></h3>')
        out.append(f'<p class="muted">指标 feature: <code>{_e(reason["feature"])}</code> · 来源 source: '
                   f'{_e(reason.get("source", ""))} · 依据记录 records: {len(evidence)}</p>')
        if len(evidence):
            out.append(_table(evidence, _EVIDENCE_HEADERS, limit=MAX_EVIDENCE_ROWS))
        else:
            out.append('<p class="muted">该指标取值不来自具体记录（如无记录本身即为风险信号）。'
                       "The value rests on no record (e.g. the absence of records is the signal).</p>")
        out.append("</div>")
    return "".join(out)


def _whatif_html(exp: Explanation) -> str:
    w = exp.whatifs
    if len(w) == 0:
        return '<p>没有可测试的变更。<span class="en">No change to test for these reasons.</span></p>'
    frame = pd.DataFrame({
        "说明 change": [f"{zh} / {en}" for zh, en in zip(w["label_zh"], w["label_en"], strict=True)],
        "记录 record": [f"{s} {r}".strip() for s, r in zip(w["source"], w["record_id"], strict=True)],
        "针对指标 reason": w["reason"].to_numpy(),
        "新得分 new score": w["new_score"].to_numpy(),
        "分差 points": w["delta_points"].to_numpy(),
        "新等级 new grade": w["new_grade"].to_numpy(),
        "影响的指标 features changed": w["changed_features"].to_numpy(),
    })
    return _table(frame, numeric={"新得分 new score"}, signed={"分差 points"})


def _contrast_html(exp: Explanation) -> str:
    c = exp.contrast
    if c is None:
        if not exp.next_grade:
            return f"<p>{_bilingual('已处于最高等级。', 'Already in the best band.')}</p>"
        return f"<p>{_bilingual('同一基准日没有位于更高一档的主体可供比较。', 'No entity of the same as-of date lies in the next better band.')}</p>"
    high = "∞" if math.isinf(c.band[1]) else _num(c.band[1], 0)
    intro = (
        f"<p>为什么是 {_e(c.grade)} 而不是 {_e(c.better_grade)}：与同一基准日得分位于 {_e(c.better_grade)} 档"
        f"（{_e(_num(c.band[0], 0))}–{_e(high)} 分）的 {c.n_reference:,} 个主体的平均得分（{_e(_num(c.band_mean_score))} 分）相比，"
        f"差距主要来自下列维度和指标。<br><span class=\"en\">Why {_e(c.grade)} and not {_e(c.better_grade)}: compared "
        f"with the mean of the {c.n_reference:,} entities of the same as-of date scoring in band {_e(c.better_grade)} "
        f"({_e(_num(c.band[0], 0))}–{_e(high)} points, mean {_e(_num(c.band_mean_score))}), the gap comes from these "
        "groups and features.</span></p>"
    )
    dims = c.by_dimension.rename(columns={"label_zh": "维度", "label_en": "group", "points": "本主体 entity",
                                          "band_mean_points": "该档平均 band mean", "gap": "差距 gap"})
    dims = dims[["维度", "group", "本主体 entity", "该档平均 band mean", "差距 gap"]]
    feats = c.by_feature.head(8).rename(columns={"label_zh": "指标", "label_en": "feature label",
                                                 "points": "本主体 entity", "band_mean_points": "该档平均 band mean",
                                                 "gap": "差距 gap"})
    feats = feats[["指标", "feature label", "本主体 entity", "该档平均 band mean", "差距 gap"]]
    num = {"本主体 entity", "该档平均 band mean"}
    return (intro + _table(dims, numeric=num, signed={"差距 gap"}) + "<h3>差距最大的指标 Features with the largest gap</h3>"
            + _table(feats, numeric=num, signed={"差距 gap"}))


def render_report(exp: Explanation, note: str = "") -> str:
    """The HTML page of an explanation (see the module docstring).

    Parameters
    ----------
    exp : Explanation
    note : str
        An optional caption shown under the title (e.g. what data the page shows).

    Returns
    -------
    str
        The page, UTF-8 text; deterministic for equal explanations.

    Examples
    --------
    >>> from riskml.explain._explanation import _tiny_case, explain_entity
    >>> records, model = _tiny_case()
    >>> page = render_report(explain_entity("E0000001", "2024-01-01", records=records, model=model, k=2))
    >>> page.startswith("<!DOCTYPE html>") and "<svg" in page and "http" not in page.split("<svg")[0]
    True
    """
    day = exp.as_of.date().isoformat()
    names = ["A", "B", "C", "D", "E"]
    g_class = f"g{names.index(exp.grade) if exp.grade in names else 4}"
    zh_rep, en_rep = exp.reproducibility
    label_zh = exp.model_info.get("label_zh") or exp.target
    label_en = exp.model_info.get("label_en") or exp.target
    title_zh = f"{label_zh}等级评估说明"
    title_en = f"{label_en}: grade explanation"

    entity_rows = "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(_cell(v))}</td></tr>" for k, v in exp.entity.items()
    )
    if exp.next_grade:
        distance = (f"距 {_e(exp.next_grade)} 级还差 <b>{_e(_num(exp.points_to_next_grade))}</b> 分 "
                    f'<span class="en">{_e(_num(exp.points_to_next_grade))} points to grade {_e(exp.next_grade)}</span>')
    else:
        distance = _bilingual("已处于最高等级", "Best grade")
    override_html = ""
    if exp.overrides:
        items = "".join(
            f"<li>{_e(o['label_zh'] or o['name'])} <span class=\"en\">{_e(o['label_en'] or o['name'])}</span>："
            f"指标 <code>{_e(o['feature'])}</code> = {_e(_cell(o['value']))}，等级最高为 {_e(o['grade_at_most'])} "
            f"<span class=\"en\">(grade at most {_e(o['grade_at_most'])})</span></li>"
            for o in exp.overrides
        )
        override_html = (f'<div class="alert"><b>规则调整 Override</b>：按得分为 {_e(exp.grade_by_score)} 级，'
                         f"因下列规则调整为 {_e(exp.grade)} 级 <span class=\"en\">(score band {_e(exp.grade_by_score)}, "
                         f"capped to {_e(exp.grade)} by)</span><ul>{items}</ul></div>")
    else:
        override_html = f"<p>{_bilingual('未触发等级调整规则。', 'No override rule changed the grade.')}</p>"

    dims = exp.dimensions
    dim_svg = waterfall_svg(
        [(f"{zh} {en}", float(p)) for zh, en, p in zip(dims["label_zh"], dims["label_en"], dims["points"], strict=True)],
        ("基础分 base points", exp.base_points), ("得分 score", exp.score),
        title="按指标维度的得分构成 Points by indicator group",
    )
    feats = exp.features.assign(_abs=exp.features["points"].abs()).sort_values(["_abs", "feature"],
                                                                               ascending=[False, True], kind="stable")
    top = feats.head(WATERFALL_FEATURES)
    rest = float(feats["points"].iloc[WATERFALL_FEATURES:].sum())
    steps = [(f"{zh or f}", float(p)) for f, zh, p in zip(top["feature"], top["label_zh"], top["points"], strict=True)]
    if len(feats) > WATERFALL_FEATURES:
        steps.append((f"其他 {len(feats) - WATERFALL_FEATURES} 项指标 other features", rest))
    feat_svg = waterfall_svg(steps, ("基础分 base points", exp.base_points), ("得分 score", exp.score),
                             title="按指标的得分构成 Points by feature")
    dim_table = _table(dims.rename(columns={"label_zh": "维度", "label_en": "group", "points": "得分 points"})[
        ["维度", "group", "得分 points"]], signed={"得分 points"})
    info = exp.model_info
    model_rows = [
        ("模型 model", info.get("target", "")),
        ("模型版本 model version", info.get("model_version") or "—"),
        ("MLflow 运行 run id", info.get("run_id") or "—"),
        ("特征规格 feature spec hash", info.get("spec_hash", "")),
        ("训练时间 trained at", info.get("trained_at") or "—"),
        ("训练时 riskml 版本 trained with riskml", info.get("trained_with_riskml") or "—"),
        ("生成说明的 riskml 版本 explained with riskml", exp.riskml_version or "—"),
    ]
    model_html = "".join(f"<tr><td>{_e(k)}</td><td><code>{_e(v)}</code></td></tr>" for k, v in model_rows)
    note_html = f'<p class="note">{_e(note)}</p>' if note else ""

    body = f"""<main>
<h1>{_e(title_zh)} <span class="en">{_e(title_en)}</span></h1>
<p class="muted">评估基准日 As-of date: <b>{_e(day)}</b> · 主体 Entity: <b>{_e(exp.entity_id)}</b></p>
{note_html}
<section class="row">
<div class="card" style="flex:0 0 auto"><div class="grade {g_class}" id="grade">{_e(exp.grade)}</div></div>
<div class="card" style="flex:1 1 300px">
<table class="kv">
<tr><td>等级 Grade</td><td><b>{_e(exp.grade)}</b> — {_bilingual(exp.grade_label_zh, exp.grade_label_en)}</td></tr>
<tr><td>得分 Score</td><td><b id="score">{_e(_num(exp.score))}</b> 分 points</td></tr>
<tr><td>按得分等级 Grade by score</td><td>{_e(exp.grade_by_score)}</td></tr>
<tr><td>距上一档 To the next band</td><td>{distance}</td></tr>
<tr><td>违约概率 Probability</td><td>{_e(_num(100 * exp.probability, 2))}%</td></tr>
<tr><td>基础分 Base points</td><td>{_e(_num(exp.base_points))}</td></tr>
</table></div>
<div class="card" style="flex:1 1 260px"><h3 style="margin-top:0">主体信息 Entity</h3>
<table class="kv"><tr><td>entity_id</td><td>{_e(exp.entity_id)}</td></tr>{entity_rows}</table>
<p class="muted">不显示任何个人信息 No personal data is shown.</p></div>
</section>
<h2>规则调整 Overrides</h2>
{override_html}
<h2>得分构成：指标维度 Points by indicator group</h2>
<div class="card">{dim_svg}</div>
{dim_table}
<h2>得分构成：主要指标 Points by feature</h2>
<div class="card">{feat_svg}</div>
<h2>主要扣分原因及依据记录 Top reasons and the records behind them</h2>
{_reasons_html(exp)}
<h2>如何改变等级 What would change the grade</h2>
<p class="muted">每项假设变更均在主体记录的副本上进行，按同一特征规格重建基准日的指标并用同一模型重新评分。
Each change is applied to a copy of the entity's records; its as-of features are rebuilt with the same
feature spec and scored again with the same model.</p>
{_whatif_html(exp)}
<h2>对比上一档 Contrast with the next better band</h2>
{_contrast_html(exp)}
<h2>模型 Model</h2>
<table class="kv">{model_html}</table>
<h2>可复现性 Reproducibility</h2>
<p class="note" id="reproducibility">{_e(zh_rep)}<br><span class="en">{_e(en_rep)}</span></p>
</main>"""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title_zh)} {_e(exp.entity_id)} {_e(day)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )
