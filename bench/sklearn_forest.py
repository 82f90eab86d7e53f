#!/usr/bin/env python3
# Prewarm — predictive power management for Slurm.
# SPDX-License-Identifier: Apache-2.0
"""scikit-learn side of bench/train-vs-sklearn: same matrix, split, target and metrics as `prewarm forest-bench`.

Prints one JSON line: train_s, accuracy, predict_us, rows, features (+ details).
"""
import argparse
import json
import math
import time

import numpy as np
from sklearn.ensemble import RandomForestRegressor


def load(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
    if header[-1].strip() != "runtime_s":
        raise SystemExit(f"{path}: last column must be runtime_s, found {header[-1]!r}")
    data = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=np.float64)
    if data.ndim == 1:
        data = data.reshape(1, -1)
    return header, data


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--matrix", required=True)
    p.add_argument("--trees", type=int, default=100)
    p.add_argument("--max-depth", type=int, default=20)
    p.add_argument("--max-features", type=int, default=0, help="0 = columns // 3 (as prewarm)")
    p.add_argument("--min-samples-leaf", type=int, default=5)
    p.add_argument("--train-fraction", type=float, default=0.7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--predict-rows", type=int, default=300,
                   help="test rows timed for single-row predict (sklearn's per-call overhead is large)")
    a = p.parse_args()

    header, data = load(a.matrix)
    x = data[:, :-1].astype(np.float32)
    runtime = np.maximum(data[:, -1], 1.0)
    y = np.log(runtime)
    rows, features = x.shape
    n_train = int(rows * a.train_fraction)
    max_features = a.max_features if a.max_features > 0 else max(1, features // 3)
    model = RandomForestRegressor(
        n_estimators=a.trees,
        max_depth=a.max_depth if a.max_depth > 0 else None,
        max_features=min(max_features, features),
        min_samples_leaf=a.min_samples_leaf,
        n_jobs=a.threads,
        random_state=a.seed,
    )
    t0 = time.perf_counter()
    model.fit(x[:n_train], y[:n_train])
    train_s = time.perf_counter() - t0

    xt = x[n_train:]
    predicted = np.exp(model.predict(xt))
    actual = runtime[n_train:]
    accuracy = float(np.mean(np.minimum(actual, predicted) / np.maximum(actual, predicted)))

    # Single-row latency: one predict call per row, as a scheduler would; n_jobs=1 avoids the thread-pool
    # start-up per call (the faster of sklearn's options for one row).
    model.set_params(n_jobs=1)
    timed = xt[: max(1, min(a.predict_rows, len(xt)))]
    model.predict(timed[:1])
    t0 = time.perf_counter()
    for i in range(len(timed)):
        model.predict(timed[i:i + 1])
    predict_us = (time.perf_counter() - t0) / len(timed) * 1e6
    nodes = int(sum(e.tree_.node_count for e in model.estimators_))
    print(json.dumps({
        "train_s": round(train_s, 4), "accuracy": round(accuracy, 5), "predict_us": round(predict_us, 3),
        "rows": rows, "features": features, "train_rows": n_train, "test_rows": rows - n_train,
        "trees": a.trees, "nodes": nodes, "max_features": max_features,
    }))


if __name__ == "__main__":
    main()
