"""Script-mode training: a softmax regression on the CSV files of the training channel (label first),
fitted by gradient descent with numpy. The toolkit passes hyperparameters as --name value arguments and
the locations as SM_* variables."""

from __future__ import annotations

import argparse
import glob
import json
import os

import numpy as np


def read_channel(path):
    files = sorted(glob.glob(os.path.join(path, "*.csv")))
    if not files:
        raise ValueError(f"no CSV files in the training channel {path}")
    labels, rows = [], []
    for name in files:
        with open(name) as f:
            for line in f:
                if line.strip():
                    label, *features = line.strip().split(",")
                    labels.append(label)
                    rows.append([float(x) for x in features])
    return np.asarray(labels), np.asarray(rows)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--learning_rate", type=float, default=0.1)
    parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAINING"])
    # SageMaker may add hyperparameters of its own (automatic model tuning's objective metric).
    args, _ = parser.parse_known_args()

    labels, x = read_channel(args.train)
    classes = np.unique(labels)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    onehot = (labels[:, None] == classes[None, :]).astype(float)
    weights = np.zeros((z.shape[1], len(classes)))
    for epoch in range(args.epochs):
        logits = z @ weights
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        weights -= args.learning_rate * z.T @ (p - onehot) / len(z)
        if epoch % 100 == 0:
            print(f"epoch {epoch}: accuracy {(p.argmax(axis=1) == onehot.argmax(axis=1)).mean():.3f}", flush=True)

    with open(os.path.join(args.model_dir, "model.json"), "w") as f:
        json.dump(
            {"classes": classes.tolist(), "mean": mean.tolist(), "scale": scale.tolist(), "weights": weights.tolist()},
            f,
        )


if __name__ == "__main__":
    main()
