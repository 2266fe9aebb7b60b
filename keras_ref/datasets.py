"""Real data sets that ship inside scikit-learn, so that training and sweeps work offline.

Each comes split into training and validation examples (stratified, seeded) and normalised
as the lecture's "(Inputs) Normalization" slide asks: every feature minus its training mean,
divided by its training standard deviation.  Targets are (m, 1) of 0/1 for two classes and
one-hot (m, k) for more, which suits binary and categorical cross-entropy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: name -> scikit-learn loader, in order of size.
DATASETS = {
    "iris": "load_iris",
    "wine": "load_wine",
    "breast_cancer": "load_breast_cancer",
    "digits": "load_digits",
}


@dataclass
class Split:
    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    classes: int

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.y_train.shape[1]

    @property
    def output_activation(self) -> str:
        return "sigmoid" if self.classes == 2 else "softmax"

    @property
    def loss(self) -> str:
        return "binary_crossentropy" if self.classes == 2 else "categorical_crossentropy"


def normalize(X_train: np.ndarray, X_val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(X - mean) / std with the training set's statistics; constant features are only centred."""
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std[std == 0] = 1.0
    return (X_train - mean) / std, (X_val - mean) / std


def targets(labels: np.ndarray, classes: int) -> np.ndarray:
    """(m, 1) 0/1 targets for two classes, one-hot (m, classes) for more."""
    if classes == 2:
        return labels.reshape(-1, 1).astype(np.float64)
    return np.eye(classes)[labels]


def split(name: str, X: np.ndarray, labels: np.ndarray, seed: int = 0, validation_fraction: float = 0.2) -> Split:
    """Stratified, seeded training/validation split of (X, integer labels 0..k-1), normalised and
    rounded to float32.

    The rounding makes the float32 and float64 runs see the same numbers, and it is the
    cast that ``model.fit`` applies to float64 arrays anyway.
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be between 0 and 1, got {validation_fraction!r}")
    classes = int(labels.max()) + 1
    if classes < 2:
        raise ValueError(f"{name}: the target has a single class; a classifier needs at least two")
    rng = np.random.default_rng(seed)
    val = np.zeros(len(X), dtype=bool)
    for c in range(classes):  # stratified: the same fraction of every class
        members = rng.permutation(np.flatnonzero(labels == c))
        val[members[:round(validation_fraction * len(members))]] = True
    if val.all() or not val.any():
        raise ValueError(f"{name}: too few examples ({len(X)}) for a training and a validation split")
    X_train, X_val = normalize(X[~val], X[val])
    f32 = lambda a: a.astype(np.float32).astype(np.float64)
    return Split(name, f32(X_train), targets(labels[~val], classes), f32(X_val), targets(labels[val], classes), classes)


def load(name: str, seed: int = 0, validation_fraction: float = 0.2) -> Split:
    """The built-in data set ``name``, split and normalised (see ``split``)."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}")
    import sklearn.datasets
    bunch = getattr(sklearn.datasets, DATASETS[name])()
    return split(name, bunch.data.astype(np.float64), bunch.target.astype(int), seed, validation_fraction)


def load_csv(path: str, target: str, seed: int = 0, validation_fraction: float = 0.2) -> Split:
    """A CSV table with a header row: every column but ``target`` is a numeric feature, and
    ``target`` holds the class of each row (any labels; sorted, they become 0..k-1)."""
    import csv
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror}") from None
    if len(rows) < 2:
        raise ValueError(f"{path} has no data rows under its header")
    header = [h.strip() for h in rows[0]]
    if target not in header:
        raise ValueError(f"{path} has no column {target!r}; its columns: {', '.join(header)}")
    t = header.index(target)
    features = [h for i, h in enumerate(header) if i != t]
    if not features:
        raise ValueError(f"{path} has no feature columns besides {target!r}")
    data, labels = [], []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{path} line {line} has {len(row)} fields, the header has {len(header)}")
        values = []
        for i, cell in enumerate(row):
            if i == t:
                continue
            try:
                values.append(float(cell))
            except ValueError:
                raise ValueError(f"{path} line {line}: feature {header[i]!r} is not numeric: {cell!r}") from None
        data.append(values)
        labels.append(row[t].strip())
    X = np.array(data, dtype=np.float64)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{path} has NaN or inf among its features")
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    return split(path, X, np.array([index[c] for c in labels]), seed, validation_fraction)
