"""Statistics over a sweep's repeated executions: numbers in, dicts out, no TensorFlow.

A trial run ``n`` times gives ``n`` values of one quantity (its best validation loss, say).

``summary``: mean ± t(0.975, n-1) · s / √n, with s the sample standard deviation (n - 1 in
its denominator) and t Student's quantile (``scipy.stats.t``).  With one value there is no
spread, so s and the interval are ``None``, never 0.

``holm``: Holm's step-down adjustment of m p-values.  With p sorted, p(1) <= ... <= p(m),
p_holm(i) = max over j <= i of min(1, (m - j + 1) · p(j)).  scipy has no Holm:
``scipy.stats.false_discovery_control`` is Benjamini-Hochberg (or -Yekutieli), which bounds
the false discovery rate, not the chance of any false "worse".

``compare_to_best``: every other trial's values against those of the trial with the lowest
mean, by Welch's two-sided t-test (``scipy.stats.ttest_ind(equal_var=False)``).  A trial is
"worse" when its adjusted p is below alpha, else "tied with best".  The best is chosen by the
same values it is then tested against, so Holm over only those k - 1 comparisons would favour
"worse" (measured: with 8 trials drawn alike, "worse" somewhere in 10 % of sweeps of 10
executions, for a promised 5 %).  So the p-values are Holm-adjusted over all k (k - 1) / 2
pairs, fixed before the data chose the best: the chance of any false "worse" then stays
under alpha whichever trial comes out best (docs/sweeps.md).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

ALPHA = 0.05
CONFIDENCE = 0.95
#: The groups of ``compare_to_best``; "-" where a trial cannot be tested.
GROUPS = ("best", "tied with best", "worse", "-")


def _values(values: Sequence[float], name: str = "values") -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"{name} must be a flat list of numbers, got shape {x.shape}")
    return x


def _check_level(level: float, name: str) -> None:
    if not 0 < level < 1:
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {level!r}")


def summary(values: Sequence[float]) -> dict:
    """n, mean, std and the 95 % Student-t confidence interval of ``values`` (one per execution).

    ``{"n", "mean", "std", "ci95": [low, high], "note"}``; ``std`` and ``ci95`` are ``None``
    with one value, everything but ``n`` is ``None`` with none or with a value that is not
    finite (a diverged execution), and ``note`` then says why.
    """
    from scipy import stats
    x = _values(values)
    out = {"n": int(x.size), "mean": None, "std": None, "ci95": None, "note": None}
    if x.size == 0:
        return {**out, "note": "no executions"}
    if not np.all(np.isfinite(x)):
        return {**out, "note": f"{int(np.sum(~np.isfinite(x)))} of {x.size} values not finite"}
    out["mean"] = float(np.mean(x))
    if x.size == 1:
        return {**out, "note": "one execution: no spread to measure"}
    s = float(np.std(x, ddof=1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, x.size - 1)) * s / math.sqrt(x.size)
    return {**out, "std": s, "ci95": [out["mean"] - half, out["mean"] + half]}


def welch(a: Sequence[float], b: Sequence[float]) -> dict:
    """Welch's two-sided t-test of ``a`` against ``b``: ``{"t", "p", "note"}``.

    t = (mean(a) - mean(b)) / √(s_a²/n_a + s_b²/n_b).  ``t`` and ``p`` are ``None`` when a
    sample has fewer than two values, a value is not finite, or both samples are constant and
    equal (t = 0/0); ``t`` alone is ``None`` when both are constant and unequal (t infinite, p 0).
    """
    from scipy import stats
    a, b = _values(a, "a"), _values(b, "b")
    if min(a.size, b.size) < 2:
        return {"t": None, "p": None, "note": f"{min(a.size, b.size)} execution(s): a test needs at least 2 per trial"}
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return {"t": None, "p": None, "note": "a value is not finite"}
    if np.all(a == a[0]) and np.all(b == b[0]):  # no spread: scipy warns, and gives NaN or ±∞ (no JSON for either)
        if a[0] == b[0]:
            return {"t": None, "p": None, "note": "both samples constant and equal: no spread to test"}
        return {"t": None, "p": 0.0, "note": "both samples constant and unequal: t infinite"}
    result = stats.ttest_ind(a, b, equal_var=False)
    return {"t": float(result.statistic), "p": float(result.pvalue), "note": None}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's adjusted p-values, in the order given (see the module's docstring)."""
    p = _values(pvalues, "p-values")
    bad = [v for v in p if not 0 <= v <= 1]
    if bad:
        raise ValueError(f"p-values must lie in [0, 1], got {bad[0]!r}")
    m, adjusted, running = p.size, np.empty(p.size), 0.0
    for rank, i in enumerate(np.argsort(p, kind="stable")):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return [float(v) for v in adjusted]


def compare_to_best(samples: Mapping[str, Sequence[float]], alpha: float = ALPHA) -> dict:
    """Which trials are indistinguishable from the best: lower values are better.

    ``samples``: each trial's values, one per execution.  The best is the trial with the
    lowest finite mean (the first given on a tie).  Returns ``{"best", "alpha", "comparable",
    "note", "trials": {label: {"t", "p", "p_holm", "group"}}}``: ``comparable`` is False, and
    ``note`` says why, when not one trial could be tested against the best.
    """
    _check_level(alpha, "alpha")
    means = {k: summary(v)["mean"] for k, v in samples.items()}
    finite = [k for k, m in means.items() if m is not None]
    best = min(finite, key=lambda k: means[k]) if finite else None
    trials = {k: {"t": None, "p": None, "p_holm": None, "group": "best" if k == best else "-"} for k in samples}
    names = list(samples)
    pairs = {}  # every pair once, tested whenever both sides can be
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            test = welch(samples[a], samples[b])
            if test["p"] is not None:
                pairs[a, b] = test
    adjusted = dict(zip(pairs, holm([t["p"] for t in pairs.values()])))
    tested = {}
    for k in names:
        pair = (k, best) if (k, best) in pairs else (best, k)
        if k == best or pair not in pairs:
            continue
        sign = 1 if pair[0] == k else -1  # t of this trial against the best
        trials[k]["t"] = None if pairs[pair]["t"] is None else sign * pairs[pair]["t"]
        trials[k]["p"], trials[k]["p_holm"] = pairs[pair]["p"], adjusted[pair]
        trials[k]["group"] = "worse" if adjusted[pair] < alpha else "tied with best"
        tested[k] = adjusted[pair]
    note = None
    if not tested:
        fewest = min((len(v) for v in samples.values()), default=0)
        note = (f"{fewest} execution(s) per trial: a t-test needs at least 2 per trial, so this sweep "
                f"cannot tell the trials apart" if fewest < 2 else "no trial could be tested against the best")
    return {"best": best, "alpha": alpha, "comparable": bool(tested), "note": note, "trials": trials}
