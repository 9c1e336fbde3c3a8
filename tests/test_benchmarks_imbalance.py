"""Smoke tests of ``python -m benchmarks.imbalance`` and of the resampling step it uses."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_multilabel_classification
from sklearn.tree import DecisionTreeClassifier

from benchmarks.contenders import CONTENDERS
from benchmarks.estimators import Resampled, Scaler
from benchmarks.imbalance import VARIANTS, main, markdown
from skml.networks import MLP
from skml.resampling import MLROS, MLSMOTE


def test_variants_are_the_skml_contender_with_other_parameters():
    default = VARIANTS["default"].factory(4)[-1].get_params(deep=False)
    skml = CONTENDERS["skml"].factory(4)[-1].get_params(deep=False)
    assert default.pop("network").get_params() == MLP().get_params()
    assert skml.pop("network") is None
    assert default == skml
    tuned = VARIANTS["f1-cv5"].factory(0)
    assert isinstance(tuned[0], Scaler)
    assert tuned[-1].threshold == "f1" and tuned[-1].threshold_cv == 5
    assert VARIANTS["focal"].factory(0)[-1].loss == "focal"
    assert VARIANTS["default"].factory(0, quick=True)[-1].epochs == 5
    smote = VARIANTS["mlsmote-f1"].factory(3)[-1]
    assert isinstance(smote, Resampled) and isinstance(smote.sampler, MLSMOTE)
    assert smote.sampler.random_state == 3 and smote.estimator.random_state == 3
    assert smote.estimator.threshold == "f1"
    # The "f1" variants tune as the estimator does by default (out of fold), but one.
    assert smote.estimator.threshold_cv is None
    assert VARIANTS["f1"].factory(0)[-1].threshold_cv is None
    assert VARIANTS["f1-validation"].factory(0)[-1].threshold_cv == "validation"
    balanced = VARIANTS["balanced-f1"].factory(0)[-1]
    assert balanced.class_weight == "balanced" and balanced.threshold == "f1"
    assert VARIANTS["balanced"].description == 'class_weight="balanced"'
    # Every variant runs one MLP, tuned or not (the default network of "f1" is 5 of them).
    for variant in VARIANTS.values():
        classifier = variant.factory(0)[-1]
        network = getattr(classifier, "estimator", classifier).network
        assert isinstance(network, MLP) and network.get_params() == MLP().get_params()


def test_resampled_fits_its_classifier_on_the_resampled_rows():
    X, y = make_multilabel_classification(n_samples=80, n_features=6, n_classes=4, random_state=0)
    model = Resampled(MLROS(percentage=50, random_state=0), DecisionTreeClassifier(random_state=0))
    model.fit(X, y)
    assert model.n_samples_fit_ > len(X)
    X_fit, _ = MLROS(percentage=50, random_state=0).fit_resample(X, y)
    assert model.n_samples_fit_ == len(X_fit)
    assert model.predict(X).shape == y.shape
    assert_array_equal(model.predict(X), y)  # a full tree fits its own rows
    assert len(model.predict_proba(X)) == y.shape[1]  # the tree's one array per label
    with pytest.raises(Exception, match="fit_resample"):
        Resampled(DecisionTreeClassifier(), DecisionTreeClassifier()).fit(X, y)


def test_markdown_puts_a_variant_per_row_and_a_dataset_per_column_pair():
    frame = pd.DataFrame(
        {
            "dataset": ["yeast", "yeast", "yeast", "scene"],
            "protocol": "split",
            "method": ["default", "default", "mlros", "default"],
            "fold": 0,
            "seed": [0, 1, 0, 0],
            "hamming_loss": [0.2, 0.4, 0.25, 0.1],
            "f1_macro": [0.5, 0.7, 0.55, 0.8],
            "f1_micro": 0.5,
            "f1_samples": 0.5,
            "subset_accuracy": 0.1,
            "fit_seconds": 1.0,
            "predict_seconds": 0.1,
        }
    )
    table = markdown(frame).splitlines()
    assert table[0] == (
        "| variant | yeast hamming ↓ | yeast macro-F1 ↑ | scene hamming ↓ | scene macro-F1 ↑ |"
    )
    assert table[2].startswith("| threshold 0.5 | 0.300 ± 0.141 | 0.600 ± 0.141 | 0.100 ± 0.000")
    assert table[3] == "| ML-ROS | 0.250 ± 0.000 | 0.550 ± 0.000 |  |  |"  # not run on scene


def test_unknown_variant_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--variants", "default,smote"])
    assert "unknown variant(s) smote" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_run_writes_the_table_and_the_rows(tmp_path, capsys):
    argv = ["--quick", "--datasets", "emotions", "--variants", "default,mlsmote-f1"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    table = (tmp_path / "imbalance.md").read_text()
    assert table in printed
    assert "| threshold 0.5 |" in table and '| MLSMOTE + "f1" |' in table
    frame = pd.read_csv(tmp_path / "imbalance.csv")
    assert list(frame.method) == ["default", "mlsmote-f1"]
    assert (frame.dataset == "emotions").all() and (frame.seed == 0).all()
    assert (frame.n_train == 200).all() and (frame.n_test == 100).all()
    assert frame.n_fit.tolist()[0] == 200 and frame.n_fit.tolist()[1] > 200  # MLSMOTE added
    for metric in ("hamming_loss", "f1_macro"):
        assert frame[metric].between(0, 1).all(), metric
    assert (frame.fit_seconds > 0).all()
    assert frame.f1_macro.max() > 0.3  # learnt something in 5 epochs, not all-zero output
    for column in ("skml_version", "sklearn_version", "keras_version", "keras_backend"):
        assert frame[column].notna().all(), column
    assert np.isfinite(frame.predict_seconds).all()
