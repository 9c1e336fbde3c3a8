"""Smoke tests of the memory benchmarks: ``benchmarks.sparse_memory`` and ``benchmarks.memory``."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from benchmarks import memory, sparse_memory
from benchmarks._rss import RssSampler, status_kib


def test_sparse_data_look_like_tf_idf_rows_with_learnable_labels():
    X, Y = sparse_memory.make_data(500, 400, 0.02, n_labels=4, seed=0)
    assert X.format == "csr" and X.dtype == np.float32 and X.indices.dtype == np.int32
    assert X.shape == (500, 400) and Y.shape == (500, 4) and Y.dtype == np.int8
    assert 0.5 * 500 * 400 * 0.02 < X.nnz <= 500 * 400 * 0.02 * 1.5
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    assert_allclose(norms[norms > 0], 1.0, rtol=1e-5)
    assert ((Y.mean(axis=0) > 0.05) & (Y.mean(axis=0) < 0.4)).all()
    assert sparse_memory.sparse_bytes(X) == X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def test_rss_sampler_records_the_peak_of_each_phase():
    if status_kib("VmRSS") is None:
        pytest.skip("no /proc/self/status")
    with RssSampler(interval=0.01) as sampler:
        sampler.phase = "a"
        block = np.ones(8 * 1024**2 // 8)  # 8 MiB, touched
        sampler.sample()
        sampler.phase = None
    del block
    assert set(sampler.peaks) == {"a"} and sampler.peaks["a"] > 8 * 1024
    assert sampler.samples >= 1


@pytest.mark.slow
def test_sparse_memory_smoke_run(tmp_path, capsys):
    argv = ["--n-samples", "2000", "--n-features", "500", "--density", "0.01"]
    assert sparse_memory.main([*argv, "--n-labels", "5", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "sparse_memory.json").read_text())
    assert result["n_samples"] == 2000 and result["n_labels"] == 5
    assert 5_000 < result["nnz"] < 15_000
    assert result["sparse_bytes"] == 8 * result["nnz"] + 4 * 2001  # float32 + int32, indptr
    assert result["epochs_run"] == 1 and result["fit_s"] > 0 and result["predict_s"] > 0
    if result["baseline_kib"] is not None:  # /proc is there
        assert result["peak_kib"] >= result["baseline_kib"] > 0
        ratio = result["peak_kib"] * 1024 / result["sparse_bytes"]
        assert result["peak_ratio"] == pytest.approx(ratio)
    assert 0 <= result["in_sample_macro_roc_auc"] <= 1
    assert result["env"]["skml_version"]
    report = (tmp_path / "sparse_memory.md").read_text()
    assert report in capsys.readouterr().out
    assert "KerasMultiLabelClassifier(network=MLP(hidden_layer_sizes=(64,)), epochs=1" in report
    assert "| non-zeros | " + f"{result['nnz']:,}" + " |" in report
    assert "Criterion: peak resident memory below 3x" in report


@pytest.mark.slow
def test_memory_smoke_run(tmp_path, capsys):
    argv = ["--fits", "3", "--configs", "2", "--distinct", "2", "--out", str(tmp_path)]
    assert memory.main(argv) == 0
    result = json.loads((tmp_path / "memory.json").read_text())
    assert result["n_fits"] == 3 and len(result["rss_mib"]) == 3
    if result["baseline_mib"] is not None:
        assert all(rss > 0 for rss in result["rss_mib"])
        assert result["final_mib"] == result["rss_mib"][-1]
        assert result["after_first_round_mib"] == result["rss_mib"][1]
        expected = result["final_mib"] - result["after_first_round_mib"]
        assert result["per_fit_mib"] == pytest.approx(expected)
    report = (tmp_path / "memory.md").read_text()
    assert report in capsys.readouterr().out
    assert "| 2 configurations cycled (grid search) | 3 |" in report


def test_memory_refuses_settings_without_a_warm_up(capsys):
    with pytest.raises(SystemExit):
        memory.main(["--fits", "2", "--configs", "4"])
    assert "--fits >= --configs" in capsys.readouterr().err
