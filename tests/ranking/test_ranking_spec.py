"""Ranking's spec: the blind-spot, selection and plan sections of ``experiments/monitor.yaml``."""

from __future__ import annotations

import pytest

from riskml import SpecError
from riskml.monitor._spec import MonitorSpec, load_monitor_spec
from riskml.ranking._spec import RankingSpec, load_ranking_spec

RANKING_ONLY = {
    "blind_spots": {"lookback": "2y", "touch_sources": [{"source": "penalties"}]},
    "selection": {"observed_sources": [{"source": "inspections"}]},
    "plan": {"rates": {"A": 0.1}},
}


def test_ranking_reads_the_same_sections_of_the_monitor_file_as_monitoring():
    ranking, monitoring = load_ranking_spec(), load_monitor_spec()
    assert ranking.blind_spots == monitoring.blind_spots
    assert ranking.selection == monitoring.selection
    assert ranking.plan == monitoring.plan


def test_a_monitor_spec_is_a_ranking_spec_and_passes_through_unchanged():
    monitoring = load_monitor_spec()
    assert isinstance(monitoring, RankingSpec)
    assert load_ranking_spec(monitoring) is monitoring


def test_a_mapping_with_only_the_ranking_sections_is_a_ranking_spec_and_a_monitor_spec():
    assert load_ranking_spec(RANKING_ONLY).blind_spots.lookback_days == 730
    assert isinstance(load_monitor_spec(RANKING_ONLY), MonitorSpec)


@pytest.mark.parametrize("load", [load_ranking_spec, load_monitor_spec])
def test_both_loaders_refuse_an_undeclared_touch_source_naming_the_key(load):
    bad = {**RANKING_ONLY, "blind_spots": {"touch_sources": [{"source": "visits"}]}}
    with pytest.raises(SpecError, match=r"blind_spots\.touch_sources\.0\.source"):
        load(bad)


def test_monitoring_sections_are_validated_by_the_monitor_loader():
    bad = {**RANKING_ONLY, "thresholds": {"score_psi": -1}}
    with pytest.raises(SpecError, match=r"thresholds\.score_psi"):
        load_monitor_spec(bad)
    # ranking does not read the thresholds: they are monitoring's to check
    assert load_ranking_spec(bad).plan.rates == {"A": 0.1}
