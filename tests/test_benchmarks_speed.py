"""Smoke tests of ``python -m benchmarks.speed``: its measurements, report and command line.

They check that the benchmark runs and reports what it measured, not how fast anything is.
"""

import dataclasses
import importlib.util
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from benchmarks.contenders import make_fixed_mlp
from benchmarks.speed import FIGURES, main, markdown, report_rows, summarise
from benchmarks.speed_measure import CASE_A, SIZES, TIMINGS, measure_memory, measure_timings

SMOKE = SIZES["smoke"]


def _meta():
    return {
        "load_start": 0.5,
        "load_end": 0.7,
        "env": {"skml_version": "9.9", "keras_version": "3.0", "cpu_count": 2},
        "sklearn_blas_threads": "tensorflow: a 1, b default, bulk 1",
    }


def test_sizes_are_frozen_and_smoke_leaves_the_full_size_alone():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMOKE.bulk_rows = 1
    assert SIZES["full"].a == CASE_A and CASE_A.n_samples == 2400 and CASE_A.epochs == 50
    assert SIZES["full"].bulk_rows == 100_000 and SIZES["quick"].a == CASE_A
    assert SMOKE.a.n_samples < 200 and SMOKE.timeout_s is not None
    assert SIZES["full"].timeout_s is None


def test_fixed_mlp_contenders_train_the_same_network():
    skml = make_fixed_mlp("skml", hidden_units=7, epochs=3, batch_size=16, random_state=2)
    assert skml.network.hidden_layer_sizes == (7,)
    assert skml.network.dropout == 0.0 and skml.network.l2 == 0.0
    assert not skml.early_stopping and skml.epochs == 3 and skml.batch_size == 16
    sk = make_fixed_mlp("sklearn", hidden_units=7, epochs=3, batch_size=16, random_state=2)
    assert sk.hidden_layer_sizes == (7,) and sk.alpha == 0.0 and sk.max_iter == 3
    assert sk.n_iter_no_change > sk.max_iter  # every epoch runs
    pytest.importorskip("scikeras")
    ke = make_fixed_mlp("scikeras", hidden_units=7, epochs=3, batch_size=16)
    assert ke.model__hidden_units == 7 and ke.epochs == 3 and ke.random_state is None
    tabm = make_fixed_mlp("skml-tabm", hidden_units=7, epochs=3, batch_size=16, random_state=2)
    assert type(tabm.network).__name__ == "TabM" and tabm.network.k == 8
    assert tabm.network.hidden_layer_sizes == (7,) and tabm.network.dropout == 0.0
    assert tabm.get_params(deep=False).keys() == skml.get_params(deep=False).keys()
    assert {k: v for k, v in tabm.get_params(deep=False).items() if k != "network"} == {
        k: v for k, v in skml.get_params(deep=False).items() if k != "network"
    }
    embedded = make_fixed_mlp("skml-embedded", hidden_units=7, epochs=3, batch_size=16)
    assert embedded.network.embedding == "auto" and embedded.network.hidden_layer_sizes == (7,)
    assert skml.network.embedding is None  # the plain network: the others' architecture
    ensemble = make_fixed_mlp("skml-ensemble", hidden_units=7, epochs=3, batch_size=16)
    assert type(ensemble.network).__name__ == "Ensemble" and ensemble.network.k == 5
    assert ensemble.network.network.get_params() == skml.network.get_params()
    with pytest.raises(ValueError, match="Unknown library 'torch'"):
        make_fixed_mlp("torch", hidden_units=7, epochs=3, batch_size=16)


def test_markdown_and_rows_report_medians_ratios_and_targets():
    result = {
        "samples": {
            "fit_a_cold_s": {
                "skml": [1.0, 3.0, 2.0],
                "sklearn": [1.0, 1.0, 1.0],
                "skml-tabm": [5.0, 4.0, 3.0],
                "skml-embedded": [6.0, 6.0, 7.0],
                "skml-ensemble": [10.0, 11.0, 9.0],
            },
            "latency_1row_ms": {"skml": [0.5, 0.7], "sklearn": [0.1]},
            "bulk_rows_per_s": {"skml": [100.0], "sklearn": [400.0], "scikeras": [50.0]},
        }
    }
    summary = summarise(result)
    assert summary["fit_a_cold_s"]["median"] == {
        "skml": 2.0,
        "sklearn": 1.0,
        "skml-tabm": 4.0,
        "skml-embedded": 6.0,
        "skml-ensemble": 10.0,
    }
    assert summary["fit_a_cold_s"]["ratio"] == 2.0  # the plain network's, which the target bounds
    table = markdown({"tensorflow": summary}, _meta())
    fit = "| fit (a), s | 1 |  | 2 | 2 | 4 | 4 | 6 | 6 | 10 | 10 | <= 1.5x sklearn: NOT met |"
    assert fit in table
    latency = (
        "| predict_proba of 1 row, ms | 0.1 |  | 0.6 | 6 |  |  |  |  |  |  | <= 1.0 ms: met |"
    )
    assert latency in table
    assert ">= 1.0x sklearn: NOT met" in table and "| 50 |" in table
    assert "Versions: skml 9.9, keras 3.0." in table
    rows = report_rows({"tensorflow": summary}, _meta())
    assert len(rows) == 10
    skml_fit = [r for r in rows if r["figure"] == "fit_a_cold_s" and r["contender"] == "skml"]
    assert skml_fit[0]["median"] == 2.0 and skml_fit[0]["skml_over_sklearn"] == 2.0
    assert skml_fit[0]["skml_version"] == "9.9" and skml_fit[0]["unit"] == "s"


@pytest.mark.slow
def test_measurements_in_process_on_the_smoke_size():
    log = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = measure_timings(("skml", "sklearn"), SMOKE, log=log.append)
        memory = measure_memory("sklearn", SMOKE)
    samples = result["samples"]
    assert result["backend"] == "tensorflow"
    assert set(samples) == set(TIMINGS)
    assert set(result["sklearn_blas_threads"]) == {"a", "b", "bulk"}
    for figure in ("fit_a_cold_s", "fit_b_s", "bulk_rows_per_s"):
        assert {name: len(v) for name, v in samples[figure].items()} == {"skml": 1, "sklearn": 1}
    assert list(samples["fit_a_warm_s"]) == ["skml"]  # the second fit: skml's trace reuse
    assert len(samples["latency_1row_ms"]["skml"]) == SMOKE.latency_calls
    assert all(v > 0 for d in samples.values() for values in d.values() for v in values)
    assert any(line.startswith("fit_b_s repeat 1/1") for line in log)
    assert memory["peak_rss_mb"] >= memory["before_fit_mb"] > 0


@pytest.mark.slow
def test_command_line_smoke_run_writes_the_reports(tmp_path, capsys):
    assert main(["--smoke", "--no-jax", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    table = (tmp_path / "speed.md").read_text()
    assert table in printed
    for label, _ in FIGURES.values():
        assert f"| {label} |" in table
    frame = pd.read_csv(tmp_path / "speed.csv")
    assert set(frame.process_backend) == {"tensorflow"}
    contenders = {"skml", "sklearn", "skml-tabm", "skml-embedded", "skml-ensemble"}
    if importlib.util.find_spec("scikeras") is not None:
        contenders.add("scikeras")
    measured = frame.groupby("figure").contender.apply(set)
    assert set(measured.index) == set(FIGURES)
    for figure in ("fit_a_cold_s", "fit_b_s", "bulk_rows_per_s", "peak_rss_mb"):
        assert measured[figure] == contenders, figure
    assert measured["fit_a_warm_s"] == {"skml"}
    assert measured["import_s"] == {"skml", "sklearn"}
    assert (frame["median"] >= 0).all()  # a tiny fit may add no memory above the peak before it
    assert (frame.loc[frame.figure != "fit_rss_mb", "median"] > 0).all()
    assert frame["skml_version"].notna().all() and frame["keras_version"].notna().all()
    data = json.loads((tmp_path / "speed.json").read_text())
    assert data["meta"]["size"] == "smoke"
    samples = data["results"]["tensorflow"]["samples"]
    assert np.isclose(
        data["summaries"]["tensorflow"]["fit_b_s"]["median"]["skml"],
        np.median(samples["fit_b_s"]["skml"]),
    )
    assert samples["peak_rss_mb"]["skml"][0] > samples["fit_rss_mb"]["skml"][0] >= 0
