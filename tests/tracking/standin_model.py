"""A small RiskModel with the shared contract, for tracking tests before the real one lands.

It wraps a real LightGBM booster, Platt calibration on the raw margin and the PDO grade
policy of ``models/credit.yaml``; it saves as a LightGBM text file plus JSON/Parquet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from riskml.grading import GradePolicy


@dataclass(frozen=True)
class StandInRiskModel:
    target: str
    features: tuple[str, ...]
    categories: dict[str, list[str]]
    spec_hash: str
    booster: lgb.Booster
    calib_a: float
    calib_b: float
    rules: dict[str, Any]  # the scorecard, grades and overrides this stand-in scores with
    catalog: pd.DataFrame
    model_spec: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def policy(self) -> GradePolicy:
        """The grade policy of the model spec (the real model's ``policy``)."""
        return GradePolicy.from_model_spec(self.model_spec)

    def check_panel(self, frame: pd.DataFrame, spec_hash: str | None = None) -> None:
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise ValueError(f"panel lacks model features {missing}")
        if spec_hash is not None and spec_hash != self.spec_hash:
            raise ValueError(f"panel spec hash {spec_hash} != model spec hash {self.spec_hash}")

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        self.check_panel(frame)
        cols = {}
        for f in self.features:
            if f in self.categories:
                cols[f] = pd.Categorical(frame[f].astype("str").where(frame[f].notna()), categories=self.categories[f])
            else:
                cols[f] = frame[f].astype("float64").to_numpy()
        return pd.DataFrame(cols, index=frame.index)

    def raw_margin(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(self.matrix(frame), raw_score=True))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        logit = self.calib_a * self.raw_margin(frame) + self.calib_b
        return 1.0 / (1.0 + np.exp(-logit))

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        logit = self.calib_a * self.raw_margin(frame) + self.calib_b
        factor = self.rules["pdo"] / np.log(2)
        offset = self.rules["base_score"] - factor * np.log(self.rules["base_odds"])
        score = offset - factor * logit
        names = [g["grade"] for g in self.rules["grades"]]
        mins = np.array([g["min_score"] for g in self.rules["grades"][:-1]])
        idx = np.searchsorted(-mins, -score, side="right")
        by_score = np.array(names, dtype=object)[idx]
        grade = by_score.copy()
        override = np.full(len(frame), "", dtype=object)
        for rule in self.rules["overrides"]:
            hit = frame[rule["feature"]].to_numpy(dtype="float64") >= rule["min"]
            cap = names.index(rule["grade_at_most"])
            worse = hit & (np.array([names.index(g) for g in grade]) < cap)
            grade[worse] = rule["grade_at_most"]
            override[worse] = rule["name"]
        upper = np.concatenate([[np.nan], mins])[idx]
        return pd.DataFrame({
            "entity_id": frame["entity_id"].to_numpy(), "as_of": frame["as_of"].to_numpy(),
            "probability": 1.0 / (1.0 + np.exp(-logit)), "score": score,
            "grade_by_score": by_score.astype(str), "grade": grade.astype(str), "override": override.astype(str),
            "points_to_next_grade": upper - score,
        })

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(directory / "booster.txt"))
        meta = {k: getattr(self, k) for k in ("target", "features", "categories", "spec_hash", "calib_a", "calib_b",
                                               "rules", "model_spec", "metadata")}
        (directory / "model.json").write_text(json.dumps(meta, sort_keys=True, default=str), encoding="utf-8")
        self.catalog.to_parquet(directory / "catalog.parquet")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> StandInRiskModel:
        directory = Path(directory)
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        meta["features"] = tuple(meta["features"])
        return cls(booster=lgb.Booster(model_file=str(directory / "booster.txt")),
                   catalog=pd.read_parquet(directory / "catalog.parquet"), **meta)
