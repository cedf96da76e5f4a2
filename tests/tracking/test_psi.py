"""PSI: zero for the same distribution, large for a shifted one, robust at the edges."""

from __future__ import annotations

import numpy as np
import pytest

from riskml.tracking import psi


def test_psi_is_zero_for_identical_samples_and_small_for_the_same_distribution():
    rng = np.random.default_rng(1)
    ref = rng.normal(600, 40, 20_000)
    assert psi(ref, ref) == pytest.approx(0.0, abs=1e-12)
    assert psi(ref, rng.normal(600, 40, 20_000)) < 0.01


def test_psi_flags_a_shifted_score_distribution():
    rng = np.random.default_rng(2)
    ref = rng.normal(600, 40, 20_000)
    assert 0.1 < psi(ref, ref + 15) < psi(ref, ref + 40)
    assert psi(ref, ref + 40) > 0.25


def test_psi_counts_values_outside_the_reference_range_and_ignores_nan():
    ref = np.linspace(0, 1, 1000)
    actual = np.concatenate([np.full(500, 5.0), np.linspace(0, 1, 500), [np.nan] * 10])
    assert psi(ref, actual) > 1.0
    assert np.isfinite(psi(ref, actual))


def test_psi_handles_heavily_tied_scores():
    ref = np.repeat([500.0, 600.0], [900, 100])
    assert psi(ref, ref) == pytest.approx(0.0, abs=1e-12)
    assert psi(ref, np.repeat([500.0, 600.0], [100, 900])) > 1.0


def test_psi_rejects_bad_input_with_a_clear_message():
    with pytest.raises(ValueError, match="bins must be >= 2"):
        psi([1.0, 2.0], [1.0, 2.0], bins=1)
    with pytest.raises(ValueError, match="finite values"):
        psi([np.nan], [1.0])
