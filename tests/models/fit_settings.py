"""Backtest and LightGBM settings that keep the models tests' fits small and fast."""

from __future__ import annotations

# one thread: the fits are tiny, and on a busy machine OpenMP threads spin
# (the toy panels are too short for fraud's four calibration quarters: no per-target override)
FAST_BACKTEST = {"test_dates": "last 2", "min_train_dates": 2, "num_threads": 1,
                 "calibration": {"early_stopping_rounds": 10}, "top_k": [50, 0.1], "targets": {"fraud": {}}}
FAST_PARAMS = {"n_estimators": 60, "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 40}
