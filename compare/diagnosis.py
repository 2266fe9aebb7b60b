"""Where two training passes part: every quantity compared layer by layer, in data-flow order,
and the first divergence named with its layer, pass, equation and kind.

The reference is Keras's pass (``keras_ref.intermediates``), the candidate the twin's
(``scratch.intermediates``).  Each quantity is judged at the network's tolerance; a backward
quantity's tolerance is raised where its terms cancel (``scratch.tolerances.gradients``, from
the candidate's magnitudes), as the final gradients' are.  Everything upstream of the first
divergence agrees, so it names where to look.  Its ``kind`` says how it differs:

- ``shape``: another shape (``transpose`` when it is the transposed shape);
- ``nonfinite``: NaN or inf where the reference is finite;
- ``transpose``: a square quantity equal to the reference's transpose;
- ``sign``: the reference with its sign flipped;
- ``factor``: the reference times a constant (``factor`` = candidate / reference), with whether
  that constant is m (the batch), n_out (the layer's width) or 2, or their inverses;
- ``kinks``: equal except where the layer's Z sits on a kink of its activation (ReLU at 0),
  where only the one-sided derivative chosen differs;
- ``other``.
"""
from __future__ import annotations

import numpy as np

from compare.core import UNJUDGED, first_divergence, judge
from compare.report import Table

HINTS = {
    "shape": "expected shape {expected}, got {got}",
    "transpose": "the transpose of what it should be: W where W^T belongs (or the reverse); on a square "
                 "layer no shape check catches it",
    "nonfinite": "NaN or inf where the reference is finite: a log(0), a division by zero or an overflow",
    "sign": "the sign is flipped: e.g. Y - A where A - Y belongs",
    "factor": "off by a constant factor of {factor:.6g}{named}",
    "kinks": "differs only where Z sits on a kink of the activation (ReLU at 0): the one-sided derivative "
             "taken there differs, which no equation fixes",
    "other": "the values differ: check this equation",
}


def _close(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    norms = np.linalg.norm(a) + np.linalg.norm(b)
    return bool(norms == 0 or np.linalg.norm(a - b) <= tol * norms)


def _named_factor(c: float, m: int, n_out: int) -> str:
    for value, what in ((m, "m, the batch size"), (n_out, "n_out, the layer's width"), (2, "2")):
        if value > 1 and np.isclose(c, value, rtol=1e-6):
            return f" = {what}: the equation's 1/{'m' if value == m else value} is missing"
        if value > 1 and np.isclose(c, 1 / value, rtol=1e-6):
            return f" = 1/({what}): divided by it once too often"
    return ""


def classify(reference, candidate, tol: float, m: int, n_out: int, kink_mask=None) -> dict:
    """How ``candidate`` differs from ``reference``: ``{"kind", "factor", "hint"}``."""
    a, b = np.asarray(reference, dtype=np.float64), np.asarray(candidate, dtype=np.float64)
    loose = max(tol, 1e-6)  # a learner's factor comes with their own rounding, not ours
    if a.shape != b.shape:
        if a.ndim == 2 and b.shape == a.T.shape:
            return {"kind": "transpose", "factor": None, "hint": HINTS["transpose"]}
        return {"kind": "shape", "factor": None, "hint": HINTS["shape"].format(expected=a.shape, got=b.shape)}
    if not np.isfinite(b).all() and np.isfinite(a).all():
        return {"kind": "nonfinite", "factor": None, "hint": HINTS["nonfinite"]}
    if a.ndim == 2 and a.shape[0] == a.shape[1] > 1 and _close(a.T, b, loose) and not _close(a, b, loose):
        return {"kind": "transpose", "factor": None, "hint": HINTS["transpose"]}
    if _close(-a, b, loose):
        return {"kind": "sign", "factor": -1.0, "hint": HINTS["sign"]}
    aa = float(np.vdot(a, a))
    if aa > 0:
        c = float(np.vdot(a, b)) / aa
        # one number is always some multiple of another: a scalar's factor counts only when it has a name
        if c != 0 and _close(c * a, b, loose) and (a.size > 1 or _named_factor(c, m, n_out)):
            return {"kind": "factor", "factor": c,
                    "hint": HINTS["factor"].format(factor=c, named=_named_factor(c, m, n_out))}
    if kink_mask is not None and kink_mask.shape == a.shape and kink_mask.any():
        if _close(np.where(kink_mask, 0, a), np.where(kink_mask, 0, b), loose):
            return {"kind": "kinks", "factor": None, "hint": HINTS["kinks"]}
    return {"kind": "other", "factor": None, "hint": HINTS["other"]}


def compare_passes(reference: dict, candidate, tol: float, m: int, widths: list[int], kinks: dict | None = None) -> dict:
    """``{"rows": [...], "first_divergence": {...} or None, "values": {"keras": ..., "twin": ...}}``.

    ``candidate`` is a ``scratch.intermediates.Pass``; its names set the order.  Each quantity is
    judged by ``compare.core.judge``, and a failing one gets its ``kind`` (``classify``).  A
    quantity the reference lacks is a failure of kind ``missing``; one only the reference has
    (dA0) is left out.  ``widths`` are the layers' output widths (``net.widths``); ``kinks``
    maps a layer to where its activation has kinks.
    """
    rows = []
    for name, where in candidate.where.items():
        row = where.as_dict() | {"function": None}
        if name not in reference:  # Keras's pass lacks a quantity it should have: a failure, not a skip
            rows.append(row | UNJUDGED | {"tolerance": tol, "passed": False, "kind": "missing", "factor": None,
                                          "hint": f"Keras's side has no {name}"})
            continue
        a, b = np.asarray(reference[name]), np.asarray(candidate.values[name])
        row |= judge(a, b, tol, candidate.magnitudes.get(name))
        if not row["passed"]:
            layer = where.layer
            z = candidate.values.get(f"Z{layer}")
            mask = None
            if kinks and layer in kinks and z is not None and name[:2] in ("dZ", "dA"):
                mask = np.isin(z, kinks[layer])
            row |= classify(a, b, row["tolerance"], m, n_out(widths, layer), mask)
        rows.append(row)
    return {"rows": rows, "first_divergence": first_divergence(rows),
            "values": {"keras": reference, "twin": candidate.values}}


def n_out(widths: list[int], layer: int) -> int:
    """A layer's output width (the network's output width for the loss, layer 0)."""
    return widths[layer] if 0 < layer < len(widths) else widths[-1]


def describe_divergence(first: dict) -> str:
    """One line: where, the equation, the kind and the hint."""
    where = f"layer {first['layer']}, " if first["layer"] else ""
    function = f" in {first['function']}" if first.get("function") else ""
    return (f"{where}{first['quantity']} ({first['pass']}){function}: {first['equation']}; "
            f"{first['kind']}: {first['hint']}")


def render_layers(rows: list[dict], first: dict | None) -> str:
    """The per-layer table: every quantity in data-flow order, the first divergence marked."""
    table = Table(["layer", "pass", "quantity", "max abs", "rel diff", "tolerance", "verdict"])
    for r in rows:
        verdict = "ok" if r["passed"] else "DIFFERS"
        if first is not None and r["quantity"] == first["quantity"]:
            verdict = f"FIRST DIVERGENCE ({first['kind']})"
        table.add(r["layer"] or "-", r["pass"], r["quantity"], f"{r['max_abs']:.1e}", f"{r['rel_diff']:.1e}",
                  f"{r['tolerance']:.1e}", verdict)
    return table.render()


def diagnose(model, net, X, Y, tol: float, perturb: str | None = None) -> dict:
    """Keras's pass and the twin's on (X, Y), compared (``compare_passes``).  ``perturb`` moves
    one of the twin's quantities where it is made (``scratch.intermediates.layer_by_layer``).
    Both passes run in training mode, with its side effects on each side alike: a
    BatchNormalization's moving statistics move once, and Dropout draws masks (replay Keras's
    on the twin first: ``compare.twin.replay``)."""
    from keras_ref.intermediates import layer_by_layer as keras_pass
    from scratch.intermediates import layer_by_layer as twin_pass
    reference = keras_pass(model, X, Y)
    candidate = twin_pass(net, X, Y, perturb=perturb)
    kinks = {l: layer.activation.kinks for l, layer in enumerate(net.layers, 1)
             if getattr(layer, "activation", None) is not None and layer.activation.kink}
    return compare_passes(reference, candidate, tol, len(X), net.widths, kinks)
