"""Imbalance variants of skml on the MULAN standard splits: ``python -m benchmarks.imbalance``.

One row per data set and variant: hamming loss and macro-F1 (mean ± std over seeds) of the
default classifier with threshold 0.5, with ``class_weight="balanced"``, the focal and asymmetric
losses, F1-tuned thresholds, and ML-ROS or MLSMOTE applied to the training split before fitting.
Features are standardised; the resamplers see standardised features too.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, hamming_loss
from sklearn.preprocessing import StandardScaler

from skml import KerasMultiLabelClassifier
from skml.datasets import load_emotions, load_scene, load_yeast
from skml.resampling import MLROS, MLSMOTE

DATASETS = {"yeast": load_yeast, "emotions": load_emotions, "scene": load_scene}

#: name -> (classifier parameters, resampler factory or None)
VARIANTS = {
    "threshold 0.5": ({}, None),
    'class_weight="balanced"': ({"class_weight": "balanced"}, None),
    "focal": ({"loss": "focal"}, None),
    "asymmetric": ({"loss": "asymmetric"}, None),
    'threshold="f1"': ({"threshold": "f1"}, None),
    'threshold="f1", threshold_cv=5': ({"threshold": "f1", "threshold_cv": 5}, None),
    "ML-ROS": ({}, lambda seed: MLROS(random_state=seed)),
    "MLSMOTE": ({}, lambda seed: MLSMOTE(random_state=seed)),
    'asymmetric + "f1"': ({"loss": "asymmetric", "threshold": "f1"}, None),
    'MLSMOTE + "f1"': ({"threshold": "f1"}, lambda seed: MLSMOTE(random_state=seed)),
}


def run_one(name, dataset, seed):
    """Fit one variant on one data set's standard split; return its scores."""
    load = DATASETS[dataset]
    X_train, y_train = load(subset="train", return_X_y=True)
    X_test, y_test = load(subset="test", return_X_y=True)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    params, resampler = VARIANTS[name]
    start = time.perf_counter()
    if resampler is not None:
        X_train, y_train = resampler(seed).fit_resample(X_train, y_train)
    clf = KerasMultiLabelClassifier(random_state=seed, **params).fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    y_pred = clf.predict(X_test)
    return {
        "dataset": dataset,
        "variant": name,
        "seed": seed,
        "hamming_loss": hamming_loss(y_test, y_pred),
        "f1_macro": f1_score(y_test, y_pred, average="macro", zero_division=0),
        "n_train": len(y_train),
        "fit_seconds": fit_seconds,
    }


def markdown(frame):
    """One table: a row per variant, hamming loss and macro-F1 per data set."""
    summary = frame.groupby(["dataset", "variant"], sort=False)[["hamming_loss", "f1_macro"]]
    mean, std = summary.mean(), summary.std().fillna(0.0)
    datasets = list(dict.fromkeys(frame["dataset"]))
    header = (
        "| variant | " + " | ".join(f"{d} hamming ↓ | {d} macro-F1 ↑" for d in datasets) + " |"
    )
    lines = [header, "|---|" + "---:|---:|" * len(datasets)]
    for variant in dict.fromkeys(frame["variant"]):
        cells = []
        for d in datasets:
            m, s = mean.loc[(d, variant)], std.loc[(d, variant)]
            cells.append(f"{m.hamming_loss:.3f} ± {s.hamming_loss:.3f}")
            cells.append(f"{m.f1_macro:.3f} ± {s.f1_macro:.3f}")
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    """Run every variant on every data set and write ``imbalance.md`` and ``imbalance.csv``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.imbalance", description=__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per variant (default 3)")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    rows = []
    for dataset in args.datasets.split(","):
        for name in VARIANTS:
            for seed in range(args.seeds):
                rows.append(run_one(name, dataset, seed))
    frame = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "imbalance.csv", index=False)
    table = markdown(frame)
    (args.out / "imbalance.md").write_text(table + "\n")
    print(table)
    return frame


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
