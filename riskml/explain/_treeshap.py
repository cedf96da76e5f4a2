"""Exact path-dependent TreeSHAP for LightGBM boosters, several times faster than
``Booster.predict(X, pred_contrib=True)``.

The values are the ones LightGBM computes (Lundberg et al., Algorithm 2: path
dependent, covers from the training data counts); only the work is organised
differently, after FastTreeSHAP (Yang 2022, "v2"):

* For one leaf, let its path from the root split on ``d`` distinct features with
  zero fractions ``z_k`` (the product of the count ratios of the path's nodes on
  feature ``k``) and one fractions ``o_k`` (1 when the row satisfies every condition on
  feature ``k`` along the path, else 0). The leaf adds to feature ``k``::

      phi_k += v * (o_k - z_k) * sum_j  j! (d-1-j)! / d!  *  e_j(k)

  where ``e_j(k)`` is the coefficient of ``t**j`` in ``prod_{m != k} (z_m + o_m t)``.
  Since every ``o`` is 0 or 1, the result depends on the row only through a
  ``d``-bit pattern, so each leaf gets a table of ``2**d`` rows of ``d`` values,
  computed once per booster (stored feature by feature, so one feature's values over
  all patterns are contiguous).
* Per row and tree the kernel evaluates every split once (LightGBM's own decision
  rules, missing values and categorical bitsets included), then for each leaf forms
  its pattern and adds one table row: O(leaves x depth) per row instead of
  O(leaves x depth**2) and no recursion. A categorical split reads a byte table
  (its bitset unpacked, indexed by the row's category code, computed once per call)
  instead of testing the raw value and the bitset row by row.

Leaves whose path has too many distinct features for a table (or when the tables
would exceed a memory budget) are computed on the fly from the same formula.
Boosters this kernel does not cover (multiclass, linear trees, random forests) and
small inputs go to LightGBM's ``pred_contrib`` directly, so the function is always
exact.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    import lightgbm

__all__ = ["tree_contributions"]

logger = logging.getLogger(__name__)

#: below this many rows LightGBM's own pred_contrib is faster than preparing tables
DIRECT_BELOW_ROWS = 2_000
#: leaves whose path has more distinct features than this are computed on the fly
MAX_TABLE_DEPTH = 10
#: rows per work block; a block's rows and one tree's tables fit in a core's cache
BLOCK_ROWS = 256
#: memory budget for all leaf tables of one booster (bytes)
TABLE_BUDGET_BYTES = 512 * 2**20

# LightGBM's decision_type bits and its "is zero" band (kZeroThreshold = 1e-35f)
_CATEGORICAL_MASK = 1
_DEFAULT_LEFT_MASK = 2
_ZERO_THRESHOLD = float(np.float32(1e-35))


@dataclass(frozen=True)
class _Prepared:
    """Flattened trees and per-leaf tables of one booster (all numpy arrays)."""

    n_features: int
    expected_value: float
    node_offset: np.ndarray  # (n_trees + 1,) int64, first node of each tree
    leaf_offset: np.ndarray  # (n_trees + 1,) int64, first leaf of each tree
    split_feature: np.ndarray  # (n_nodes,) int64
    threshold: np.ndarray  # (n_nodes,) float64
    decision_type: np.ndarray  # (n_nodes,) int64
    cat_begin: np.ndarray  # (n_nodes,) int64 into cat_bits
    cat_len: np.ndarray  # (n_nodes,) int64
    cat_bits: np.ndarray  # (n_words,) uint32
    cat_slot: np.ndarray  # (n_features,) int64, row of the feature in the category-code matrix, or -1
    lut_begin: np.ndarray  # (n_nodes,) int64 into lut, categorical nodes only
    lut_len: np.ndarray  # (n_nodes,) int64
    lut: np.ndarray  # (n_entries,) uint8, 1 when category code ``index - 1`` goes left; index 0 goes right
    uf_offset: np.ndarray  # (n_leaves + 1,) int64, unique path features of each leaf
    uf_feature: np.ndarray  # (n_uf,) int64
    uf_zero: np.ndarray  # (n_uf,) float64, zero fraction of the unique feature
    cond_offset: np.ndarray  # (n_uf + 1,) int64, conditions of each unique feature
    cond_node: np.ndarray  # (n_cond,) int64, node index local to the tree
    cond_left: np.ndarray  # (n_cond,) uint8, 1 if the path goes left there
    leaf_value: np.ndarray  # (n_leaves,) float64
    table_offset: np.ndarray  # (n_leaves,) int64, -1 when computed on the fly
    tables: np.ndarray  # float64
    weights: np.ndarray  # (max_depth + 1, max_depth) Shapley weights by path length
    max_nodes: int
    max_depth: int


# --------------------------------------------------------------------------- parsing


def _parse_model(model_str: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Split LightGBM's text model into its header and one key->value dict per tree."""
    head, _, rest = model_str.partition("\nTree=")
    header = dict(line.split("=", 1) for line in head.splitlines() if "=" in line)
    body = rest.split("end of trees", 1)[0]
    trees = []
    for block in ("Tree=" + body).split("\nTree=") if body else []:
        fields = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)
        trees.append(fields)
    return header, trees


def _unsupported_reason(header: dict[str, str], trees: list[dict[str, str]]) -> str | None:
    if int(header.get("num_tree_per_iteration", "1")) != 1:
        return "more than one tree per iteration (multiclass)"
    if "average_output" in header:
        return "averaged output (random forest)"
    if any(t.get("is_linear", "0") == "1" for t in trees):
        return "linear trees"
    return None


def _prepare(model_str: str) -> _Prepared | str:
    """Flatten the trees and build the leaf tables; a str explains why not supported."""
    header, trees = _parse_model(model_str)
    reason = _unsupported_reason(header, trees)
    if reason is not None:
        return reason
    n_features = int(header["max_feature_idx"]) + 1

    node_offset = [0]
    leaf_offset = [0]
    split_feature: list[np.ndarray] = []
    threshold: list[np.ndarray] = []
    decision_type: list[np.ndarray] = []
    cat_begin: list[np.ndarray] = []
    cat_len: list[np.ndarray] = []
    cat_bits: list[np.ndarray] = []
    n_words = 0
    uf_offset = [0]
    uf_feature: list[int] = []
    uf_zero: list[float] = []
    cond_offset = [0]
    cond_node: list[int] = []
    cond_left: list[int] = []
    leaf_value: list[np.ndarray] = []
    expected_value = 0.0
    max_nodes = 1
    max_depth = 1

    for fields in trees:
        n_leaves = int(fields["num_leaves"])
        values = np.array(fields["leaf_value"].split(" "), dtype=np.float64)
        leaf_value.append(values)
        leaf_offset.append(leaf_offset[-1] + n_leaves)
        if n_leaves == 1:
            expected_value += float(values[0])
            node_offset.append(node_offset[-1])
            uf_offset.append(uf_offset[-1])
            continue
        feat = np.array(fields["split_feature"].split(" "), dtype=np.int64)
        thr = np.array(fields["threshold"].split(" "), dtype=np.float64)
        dtype = np.array(fields["decision_type"].split(" "), dtype=np.int64)
        left = np.array(fields["left_child"].split(" "), dtype=np.int64)
        right = np.array(fields["right_child"].split(" "), dtype=np.int64)
        leaf_count = np.array(fields["leaf_count"].split(" "), dtype=np.float64)
        internal_count = np.array(fields["internal_count"].split(" "), dtype=np.float64)
        n_nodes = n_leaves - 1
        max_nodes = max(max_nodes, n_nodes)

        begin = np.zeros(n_nodes, dtype=np.int64)
        length = np.zeros(n_nodes, dtype=np.int64)
        if int(fields.get("num_cat", "0")) > 0:
            bounds = np.array(fields["cat_boundaries"].split(" "), dtype=np.int64)
            words = np.array(fields["cat_threshold"].split(" "), dtype=np.uint64).astype(np.uint32)
            is_cat = (dtype & _CATEGORICAL_MASK) > 0
            cat_idx = thr[is_cat].astype(np.int64)
            begin[is_cat] = n_words + bounds[cat_idx]
            length[is_cat] = bounds[cat_idx + 1] - bounds[cat_idx]
            cat_bits.append(words)
            n_words += words.size
        split_feature.append(feat)
        threshold.append(thr)
        decision_type.append(dtype)
        cat_begin.append(begin)
        cat_len.append(length)
        node_offset.append(node_offset[-1] + n_nodes)

        # LightGBM's expected value: leaf outputs weighted by training counts
        total = internal_count[0]
        ev = 0.0
        for i in range(n_leaves):
            ev += (leaf_count[i] / total) * values[i]
        expected_value += ev

        # Walk every root-to-leaf path; children < 0 are leaves (~index).
        def count(child: int) -> float:
            return leaf_count[~child] if child < 0 else internal_count[child]

        paths: list[list[tuple[int, int, float]]] = [[] for _ in range(n_leaves)]
        stack: list[tuple[int, list[tuple[int, int, float]]]] = [(0, [])]
        while stack:
            node, path = stack.pop()
            for child, goes_left in ((left[node], 1), (right[node], 0)):
                step = path + [(node, goes_left, count(child) / internal_count[node])]
                if child < 0:
                    paths[~child] = step
                else:
                    stack.append((child, step))
        for leaf in range(n_leaves):
            by_feature: dict[int, list[tuple[int, int, float]]] = {}
            for node, goes_left, ratio in paths[leaf]:
                by_feature.setdefault(int(feat[node]), []).append((node, goes_left, ratio))
            max_depth = max(max_depth, len(by_feature))
            for feature, conds in by_feature.items():
                uf_feature.append(feature)
                uf_zero.append(float(np.prod([ratio for _, _, ratio in conds])))
                for node, goes_left, _ in conds:
                    cond_node.append(node)
                    cond_left.append(goes_left)
                cond_offset.append(len(cond_node))
            uf_offset.append(len(uf_feature))

    uf_offset_arr = np.asarray(uf_offset, dtype=np.int64)
    depths = np.diff(uf_offset_arr)
    capped = np.minimum(depths, MAX_TABLE_DEPTH)
    sizes = np.where(depths <= MAX_TABLE_DEPTH, (2**capped) * capped, 0).astype(np.int64)
    # shallow leaves first: they are cheap to tabulate and most common
    order = np.argsort(sizes, kind="stable")
    budget = TABLE_BUDGET_BYTES // 8
    keep = np.zeros(depths.size, dtype=bool)
    keep[order] = np.cumsum(sizes[order]) <= budget
    keep &= depths <= MAX_TABLE_DEPTH
    table_offset = np.full(depths.size, -1, dtype=np.int64)
    kept_sizes = np.where(keep, sizes, 0)
    starts = np.concatenate([[0], np.cumsum(kept_sizes)[:-1]])
    table_offset[keep] = starts[keep]
    if not keep.all():
        logger.debug("%d of %d leaves computed on the fly", int((~keep).sum()), keep.size)

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)

    all_split_feature = cat(split_feature, np.int64)
    all_decision_type = cat(decision_type, np.int64)
    all_cat_begin, all_cat_len, all_cat_bits = cat(cat_begin, np.int64), cat(cat_len, np.int64), cat(cat_bits, np.uint32)
    cat_slot, lut_begin, lut_len, lut = _category_tables(
        n_features, all_split_feature, all_decision_type, all_cat_begin, all_cat_len, all_cat_bits
    )

    prepared = _Prepared(
        n_features=n_features,
        expected_value=expected_value,
        node_offset=np.asarray(node_offset, dtype=np.int64),
        leaf_offset=np.asarray(leaf_offset, dtype=np.int64),
        split_feature=all_split_feature,
        threshold=cat(threshold, np.float64),
        decision_type=all_decision_type,
        cat_begin=all_cat_begin,
        cat_len=all_cat_len,
        cat_bits=all_cat_bits,
        cat_slot=cat_slot,
        lut_begin=lut_begin,
        lut_len=lut_len,
        lut=lut,
        uf_offset=uf_offset_arr,
        uf_feature=np.asarray(uf_feature, dtype=np.int64),
        uf_zero=np.asarray(uf_zero, dtype=np.float64),
        cond_offset=np.asarray(cond_offset, dtype=np.int64),
        cond_node=np.asarray(cond_node, dtype=np.int64),
        cond_left=np.asarray(cond_left, dtype=np.uint8),
        leaf_value=cat(leaf_value, np.float64),
        table_offset=table_offset,
        tables=np.zeros(int(kept_sizes.sum()), dtype=np.float64),
        weights=_shapley_weights(max_depth),
        max_nodes=max_nodes,
        max_depth=max_depth,
    )
    with _KERNEL_LOCK:
        _fill_tables(
            prepared.uf_offset, prepared.uf_zero, prepared.leaf_value, prepared.table_offset, prepared.tables,
            prepared.weights,
        )
    return prepared


def _category_tables(
    n_features: int, split_feature: np.ndarray, decision_type: np.ndarray, cat_begin: np.ndarray,
    cat_len: np.ndarray, cat_bits: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Byte tables of the categorical splits and the slot of each categorical feature.

    A node's table has ``1 + 32 * words`` entries: entry 0 (a missing or invalid
    value) goes right, entry ``1 + c`` is bit ``c`` of the node's bitset.
    """
    is_cat = (decision_type & _CATEGORICAL_MASK) > 0
    features = np.unique(split_feature[is_cat])
    cat_slot = np.full(n_features, -1, dtype=np.int64)
    cat_slot[features] = np.arange(features.size)
    lut_len = np.where(is_cat, 1 + 32 * cat_len, 0).astype(np.int64)
    lut_begin = np.concatenate([[0], np.cumsum(lut_len)[:-1]]).astype(np.int64)
    lut = np.zeros(int(lut_len.sum()), dtype=np.uint8)
    for node in np.flatnonzero(is_cat):
        words = cat_bits[cat_begin[node] : cat_begin[node] + cat_len[node]]
        bits = np.unpackbits(words.astype("<u4").view(np.uint8), bitorder="little")
        lut[lut_begin[node] + 1 : lut_begin[node] + lut_len[node]] = bits
    return cat_slot, lut_begin, lut_len, lut


def _category_index(matrix: np.ndarray, cat_slot: np.ndarray) -> np.ndarray:
    """Row index into a categorical split's byte table, per categorical feature and row.

    LightGBM's Tree::Decision casts the value with ``static_cast<int>``: NaN, values
    ``<= -1`` and values past int range go right (index 0); any other value is its
    truncated code ``c`` (index ``1 + c``).
    """
    features = np.flatnonzero(cat_slot >= 0)
    values = matrix[:, features].T
    with np.errstate(invalid="ignore"):
        valid = (values > -1.0) & (values < 2147483648.0)
    index = np.zeros(values.shape, dtype=np.int64)
    index[valid] = np.trunc(values[valid]).astype(np.int64) + 1
    return np.ascontiguousarray(index)


# --------------------------------------------------------------------------- kernels


def _shapley_weights(max_depth: int) -> np.ndarray:
    """Row ``d`` holds w_j = j! (d-1-j)! / d! for j = 0..d-1 (the Shapley weights)."""
    weights = np.zeros((max_depth + 1, max(max_depth, 1)), dtype=np.float64)
    for d in range(1, max_depth + 1):
        j = np.arange(d)
        weights[d, :d] = [math.factorial(k) * math.factorial(d - 1 - k) / math.factorial(d) for k in j]
    return weights


@numba.njit(cache=True, nogil=True)
def _leaf_phi(
    zero: np.ndarray, ones: np.ndarray, value: float, weights: np.ndarray, poly: np.ndarray, hot: np.ndarray,
    out: np.ndarray,
) -> None:
    """Contribution of one leaf to each of its ``d`` path features for one o-pattern.

    With the cold features (o = 0) the product over the others factors into the
    product of their zero fractions times the polynomial of the hot ones, so every
    cold feature gets the same value and only the hot ones need their own sums.
    """
    d = zero.size
    cold_product = 1.0
    n_hot = 0
    for m in range(d):
        if ones[m] == 1:
            hot[n_hot] = m
            n_hot += 1
        else:
            cold_product *= zero[m]
    if n_hot < d:
        _hot_polynomial(zero, hot, n_hot, -1, poly)
        total = 0.0
        for j in range(n_hot + 1):
            total += weights[j] * poly[j]
        cold_value = -value * cold_product * total
        for m in range(d):
            if ones[m] != 1:
                out[m] = cold_value
    for a in range(n_hot):
        k = hot[a]
        _hot_polynomial(zero, hot, n_hot, k, poly)
        total = 0.0
        for j in range(n_hot):
            total += weights[j] * poly[j]
        out[k] = value * (1.0 - zero[k]) * cold_product * total


@numba.njit(cache=True, nogil=True)
def _hot_polynomial(zero: np.ndarray, hot: np.ndarray, n_hot: int, skip: int, poly: np.ndarray) -> None:
    """Coefficients of prod over hot features m != skip of (z_m + t), into ``poly``."""
    poly[0] = 1.0
    deg = 0
    for a in range(n_hot):
        m = hot[a]
        if m == skip:
            continue
        z = zero[m]
        poly[deg + 1] = poly[deg]
        for j in range(deg, 0, -1):
            poly[j] = poly[j] * z + poly[j - 1]
        poly[0] *= z
        deg += 1


@numba.njit(cache=True, parallel=True)
def _fill_tables(
    uf_offset: np.ndarray, uf_zero: np.ndarray, leaf_value: np.ndarray, table_offset: np.ndarray,
    tables: np.ndarray, weights: np.ndarray,
) -> None:
    n_leaves = table_offset.size
    for leaf in numba.prange(n_leaves):
        start = table_offset[leaf]
        if start < 0:
            continue
        lo = uf_offset[leaf]
        d = uf_offset[leaf + 1] - lo
        zero = uf_zero[lo : lo + d]
        ones = np.empty(d, dtype=np.int64)
        out = np.empty(d, dtype=np.float64)
        poly = np.empty(d + 1, dtype=np.float64)
        hot = np.empty(d, dtype=np.int64)
        for pattern in range(1 << d):
            for k in range(d):
                ones[k] = (pattern >> k) & 1
            _leaf_phi(zero, ones, leaf_value[leaf], weights[d], poly, hot, out)
            # feature-major: one feature's values over all patterns are contiguous
            for k in range(d):
                tables[start + (k << d) + pattern] = out[k]


@numba.njit(cache=True, nogil=True)
def _decide_block(
    Xt: np.ndarray, Xc: np.ndarray, r0: int, nb: int, g: int, split_feature: np.ndarray, threshold: np.ndarray,
    decision_type: np.ndarray, cat_slot: np.ndarray, lut_begin: np.ndarray, lut_len: np.ndarray, lut: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out[i] = 1`` when row ``r0 + i`` goes left at node ``g`` (LightGBM's Tree::Decision)."""
    dt = decision_type[g]
    if dt & _CATEGORICAL_MASK:
        codes = Xc[cat_slot[split_feature[g]], r0 : r0 + nb]
        table = lut[lut_begin[g] : lut_begin[g] + lut_len[g]]
        size = lut_len[g]
        for i in range(nb):
            c = codes[i]
            out[i] = table[c] if c < size else np.uint8(0)
        return
    col = Xt[split_feature[g], r0 : r0 + nb]
    thr = threshold[g]
    missing_type = (dt >> 2) & 3
    default_left = np.uint8(1 if (dt & _DEFAULT_LEFT_MASK) != 0 else 0)
    # branch-free loops per missing type so they vectorise
    if missing_type == 2:
        for i in range(nb):
            v = col[i]
            out[i] = default_left if v != v else np.uint8(v <= thr)
    elif missing_type == 1:
        for i in range(nb):
            v = col[i]
            v = 0.0 if v != v else v
            is_zero = (v >= -_ZERO_THRESHOLD) and (v <= _ZERO_THRESHOLD)
            out[i] = default_left if is_zero else np.uint8(v <= thr)
    else:
        for i in range(nb):
            v = col[i]
            v = 0.0 if v != v else v
            out[i] = np.uint8(v <= thr)


@numba.njit(cache=True, parallel=True)
def _contrib_kernel(
    Xt: np.ndarray,
    Xc: np.ndarray,
    out: np.ndarray,
    expected_value: float,
    node_offset: np.ndarray,
    leaf_offset: np.ndarray,
    split_feature: np.ndarray,
    threshold: np.ndarray,
    decision_type: np.ndarray,
    cat_slot: np.ndarray,
    lut_begin: np.ndarray,
    lut_len: np.ndarray,
    lut: np.ndarray,
    uf_offset: np.ndarray,
    uf_feature: np.ndarray,
    uf_zero: np.ndarray,
    cond_offset: np.ndarray,
    cond_node: np.ndarray,
    cond_left: np.ndarray,
    leaf_value: np.ndarray,
    table_offset: np.ndarray,
    tables: np.ndarray,
    weights: np.ndarray,
    max_nodes: int,
    max_depth: int,
    block_rows: int,
) -> None:
    """Fill ``out`` (n_features + 1, n_rows), transposed so that rows are contiguous."""
    n_rows = Xt.shape[1]
    n_features = out.shape[0] - 1
    n_trees = node_offset.size - 1
    n_blocks = (n_rows + block_rows - 1) // block_rows
    # A block of rows goes through every tree; within a tree, loops run over the
    # block's rows innermost (contiguous, vectorised) and one tree's tables stay in
    # cache while the block uses them.
    for block in numba.prange(n_blocks):
        r0 = block * block_rows
        nb = min(n_rows, r0 + block_rows) - r0
        left = np.empty((max_nodes, block_rows), dtype=np.uint8)
        ok = np.empty(block_rows, dtype=np.uint8)
        pattern = np.empty(block_rows, dtype=np.int64)
        ones = np.empty(max_depth, dtype=np.int64)
        buf = np.empty(max_depth, dtype=np.float64)
        poly = np.empty(max_depth + 1, dtype=np.float64)
        hot = np.empty(max_depth, dtype=np.int64)
        for t in range(n_trees):
            n0 = node_offset[t]
            n_nodes = node_offset[t + 1] - n0
            for node in range(n_nodes):
                _decide_block(
                    Xt, Xc, r0, nb, n0 + node, split_feature, threshold, decision_type, cat_slot, lut_begin,
                    lut_len, lut, left[node],
                )
            for leaf in range(leaf_offset[t], leaf_offset[t + 1]):
                lo = uf_offset[leaf]
                d = uf_offset[leaf + 1] - lo
                if d == 0:
                    continue
                for i in range(nb):
                    pattern[i] = 0
                for k in range(d):
                    for i in range(nb):
                        ok[i] = 1
                    for c in range(cond_offset[lo + k], cond_offset[lo + k + 1]):
                        node_left = left[cond_node[c]]
                        want = cond_left[c]
                        for i in range(nb):
                            ok[i] &= np.uint8(node_left[i] == want)
                    for i in range(nb):
                        pattern[i] |= np.int64(ok[i]) << k
                start = table_offset[leaf]
                if start >= 0:
                    for k in range(d):
                        dest = out[uf_feature[lo + k], r0 : r0 + nb]
                        column = tables[start + (k << d) : start + ((k + 1) << d)]
                        for i in range(nb):
                            dest[i] += column[pattern[i]]
                else:
                    for i in range(nb):
                        for k in range(d):
                            ones[k] = (pattern[i] >> k) & 1
                        _leaf_phi(uf_zero[lo : lo + d], ones[:d], leaf_value[leaf], weights[d], poly, hot, buf[:d])
                        for k in range(d):
                            out[uf_feature[lo + k], r0 + i] += buf[k]
        for i in range(nb):
            out[n_features, r0 + i] = expected_value


# --------------------------------------------------------------------------- input


def _as_matrix(X: Any, booster: lightgbm.Booster) -> np.ndarray:
    """The float64 matrix LightGBM would predict on (pandas categories -> codes)."""
    if isinstance(X, pd.DataFrame):
        frame = X
        bad = [c for c, dt in zip(frame.columns, frame.dtypes, strict=True) if dt == object or isinstance(dt, pd.StringDtype)]
        if bad:
            raise TypeError(f"columns {bad} hold strings; convert them to pandas category first")
        cat_cols = [c for c, dt in zip(frame.columns, frame.dtypes, strict=True) if isinstance(dt, pd.CategoricalDtype)]
        stored = booster.pandas_categorical or []
        if len(cat_cols) != len(stored):
            raise ValueError(
                f"X has {len(cat_cols)} categorical column(s) {cat_cols} but the booster was trained "
                f"with {len(stored)}; pass the columns with the training categories"
            )
        if cat_cols:
            frame = frame.copy(deep=False)
            for col, levels in zip(cat_cols, stored, strict=True):
                column = frame[col]
                if list(column.cat.categories) != list(levels):
                    column = column.cat.set_categories(levels)
                codes = column.cat.codes.to_numpy()
                frame[col] = np.where(codes < 0, np.nan, codes.astype(np.float64))
        # mirror LightGBM: the common dtype of the columns, at least float32
        target = np.result_type(*[dt.type for dt in frame.dtypes], np.float32)
        try:
            matrix = frame.to_numpy(dtype=target)
        except ValueError:
            matrix = frame.to_numpy(dtype=target, na_value=np.nan)
    else:
        matrix = np.asarray(X)
        if matrix.ndim != 2:
            raise ValueError(f"X must be 2-dimensional; got shape {matrix.shape}")
        if matrix.dtype not in (np.float32, np.float64):
            matrix = matrix.astype(np.float32)
    matrix = np.array(matrix, dtype=np.float64, order="C", copy=True)
    # LightGBM reads dense rows as sparse pairs and drops |x| <= kZeroThreshold, so
    # such values reach the trees as exactly 0
    with np.errstate(invalid="ignore"):
        matrix[np.abs(matrix) <= _ZERO_THRESHOLD] = 0.0
    return matrix


_CACHE: OrderedDict[str, _Prepared | str] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_KERNEL_LOCK = threading.Lock()
_CACHE_SIZE = 4


def _prepared_for(booster: lightgbm.Booster) -> _Prepared | str:
    model_str = booster.model_to_string()
    key = hashlib.sha256(model_str.encode("utf-8")).hexdigest()
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    prepared = _prepare(model_str)
    with _CACHE_LOCK:
        _CACHE[key] = prepared
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return prepared


def tree_contributions(booster: lightgbm.Booster, X: pd.DataFrame | np.ndarray, *, min_rows: int = DIRECT_BELOW_ROWS) -> np.ndarray:
    """Exact TreeSHAP contributions of a LightGBM booster, in raw log-odds.

    Equal to ``booster.predict(X, pred_contrib=True)`` (and so to
    ``shap.TreeExplainer(booster).shap_values(X)`` with the base value appended) to
    floating-point rounding, several times faster on large inputs.

    Parameters
    ----------
    booster : lightgbm.Booster
        A trained single-output booster (binary or regression).
    X : pandas.DataFrame or numpy.ndarray
        Rows to explain, columns in the booster's feature order. Categorical columns
        are pandas ``category`` (mapped to the training levels as LightGBM does) or
        integer codes; NaN is a missing value.
    min_rows : int, default 2000
        Below this many rows LightGBM's ``pred_contrib`` is used directly: preparing
        the per-leaf tables costs more than it saves.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_rows, n_features + 1)``: one column per feature, then the base
        value (the tree ensemble's expected raw score). Each row sums to the raw
        margin ``booster.predict(X, raw_score=True)``.

    Raises
    ------
    ValueError
        If ``X`` does not have the booster's number of features or its categorical
        columns do not match the training ones.
    TypeError
        If ``X`` has string columns.

    See Also
    --------
    points_from_contributions : turn contributions into score points.

    Examples
    --------
    >>> import lightgbm as lgb, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(3000, 4))
    >>> y = (X[:, 0] + rng.normal(size=3000) > 0).astype(int)
    >>> booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 20)
    >>> contrib = tree_contributions(booster, X)
    >>> contrib.shape
    (3000, 5)
    >>> bool(np.allclose(contrib, booster.predict(X, pred_contrib=True), atol=1e-9))
    True
    """
    if not hasattr(booster, "pandas_categorical"):  # not a tree model: a scorecard's points table
        return np.asarray(booster.predict(X, pred_contrib=True), dtype=np.float64)
    n_features = booster.num_feature()
    matrix = _as_matrix(X, booster)
    if matrix.shape[1] != n_features:
        raise ValueError(f"X has {matrix.shape[1]} columns but the booster expects {n_features} features")
    if matrix.shape[0] < min_rows:
        return np.asarray(booster.predict(matrix, pred_contrib=True), dtype=np.float64)
    prepared = _prepared_for(booster)
    if isinstance(prepared, str):
        logger.info("tree_contributions: %s; using LightGBM's pred_contrib", prepared)
        return np.asarray(booster.predict(matrix, pred_contrib=True), dtype=np.float64)
    # feature-major copies: the kernel's inner loops run along rows
    Xt = np.ascontiguousarray(matrix.T)
    out = np.zeros((n_features + 1, matrix.shape[0]), dtype=np.float64)
    p = prepared
    Xc = _category_index(matrix, p.cat_slot)
    # numba's default threading layer must not be entered from two threads at once
    with _KERNEL_LOCK:
        _contrib_kernel(
            Xt, Xc, out, p.expected_value, p.node_offset, p.leaf_offset, p.split_feature, p.threshold,
            p.decision_type, p.cat_slot, p.lut_begin, p.lut_len, p.lut, p.uf_offset, p.uf_feature, p.uf_zero,
            p.cond_offset, p.cond_node, p.cond_left, p.leaf_value, p.table_offset, p.tables, p.weights,
            p.max_nodes, p.max_depth, BLOCK_ROWS,
        )
    return np.ascontiguousarray(out.T)
