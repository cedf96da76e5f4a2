"""Population stability index (PSI) between two score distributions.

PSI compares how a reference ("expected") and a new ("actual") sample fall into the
same bins: ``sum((a - e) * ln(a / e))`` over bins of the expected distribution's
quantiles. Common reading: < 0.1 stable, 0.1-0.25 some shift, > 0.25 a large shift.

The sum is Jeffreys' divergence of the two bin distributions, ``KL(a, e) + KL(e, a)``,
taken from scipy's ``rel_entr``. The binning (quantiles of the expected sample, open
ends, a floor for empty bins) is riskml's: no well-kept library offers PSI of two raw
samples (optbinning computes it only inside a fitted scorecard's monitoring).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import rel_entr

__all__ = ["psi"]

# Floor for empty bins, so a bin present on one side only gives a large but finite term.
_EPS = 1e-4


def psi(expected: ArrayLike, actual: ArrayLike, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected``.

    Bin edges are the quantiles of ``expected`` (ties merged), open at both ends, so
    values outside the expected range still count. NaNs are ignored.

    Parameters
    ----------
    expected : array-like of float
        Reference sample (e.g. the champion's scores).
    actual : array-like of float
        New sample (e.g. the challenger's scores on the same entities and date).
    bins : int, default 10
        Number of quantile bins.

    Returns
    -------
    float
        PSI, >= 0; 0 for identical distributions.

    Raises
    ------
    ValueError
        If ``bins < 2`` or either sample has no finite value.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(600, 40, 5000)
    >>> round(psi(ref, ref), 6)
    0.0
    >>> psi(ref, rng.normal(600, 40, 5000)) < 0.01
    True
    >>> psi(ref, rng.normal(650, 40, 5000)) > 0.25
    True
    """
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    e = np.asarray(expected, dtype="float64").ravel()
    a = np.asarray(actual, dtype="float64").ravel()
    e = e[np.isfinite(e)]
    a = a[np.isfinite(a)]
    if e.size == 0 or a.size == 0:
        raise ValueError(f"psi needs finite values on both sides; got {e.size} expected and {a.size} actual")
    inner = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)[1:-1]))
    e_share = np.bincount(np.searchsorted(inner, e, side="right"), minlength=inner.size + 1) / e.size
    a_share = np.bincount(np.searchsorted(inner, a, side="right"), minlength=inner.size + 1) / a.size
    e_share = np.maximum(e_share, _EPS)
    a_share = np.maximum(a_share, _EPS)
    return float(np.sum(rel_entr(a_share, e_share) + rel_entr(e_share, a_share)))
