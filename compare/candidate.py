"""python -m compare.candidate FILE.py: your own backprop, checked against Keras layer by layer.

FILE.py is your implementation, in one of the lecture's two layouts (``--layout``; detected
when left out, and reported):

- **columns** (the "deep network, step by step" assignments): W[l] (n_l, n_{l-1}), b[l]
  (n_l, 1), X (n_0, m), Y (n_L, m).  Required: ``L_model_forward(X, parameters) -> (AL, caches)``
  and ``L_model_backward(AL, Y, caches) -> grads`` (keys dA{l-1}, dW{l}, db{l}).  Optional:
  ``compute_cost(AL, Y)``; ``linear_forward``, ``linear_activation_forward``,
  ``linear_backward``, ``linear_activation_backward``; ``sigmoid``/``relu``/``tanh`` with their
  ``*_backward``.  dA and dZ carry no 1/m there, dW and db do (the lecture's summary slide),
  and the cost sums its output units where Keras averages them.
- **rows** (Keras's layout): a module-level object, or a class made with no arguments, with
  ``set_weights(list)``, ``predict(X)`` and ``loss_and_gradients(X, y) -> (loss, grads)``
  (grads in Keras's order), and optionally ``intermediates(X, y) -> {"Z1", "A1", "dA1", ...}``
  (Keras's scale: dA and dZ carry the 1/m).

The reference is a Keras model (float64 unless ``--dtype``) built from ``--layers``,
``--hidden-activation`` and ``--output-activation`` (sigmoid with binary cross-entropy, or
softmax with categorical cross-entropy), or your own saved one (``--model``), run layer by
layer (``keras_ref.intermediates``).  Its weights go to the candidate in its layout.  Keras
starts biases at zero, which would hide a forgotten bias, so everything runs twice: with
Keras's initial weights (or your model's), then with biases drawn from N(0, 0.5^2).

**Shadow mode.**  Each per-layer function your file has is also called alone, on Keras's own
inputs for that layer, so that one wrong layer does not make every later one look wrong.  A
cache your forward function made is passed only to your backward function.  Every check is
then walked in data-flow order, per quantity from the most specific function to the whole
pass, and the first that fails is named: the layer, the quantity, the function, the
lecture's equation and the kind of mismatch (``compare.diagnosis``).  A function that raises,
returns the wrong shape or key, or NaN gets its own line.  Exit 0 when everything agrees, 1
when something does not, 2 when the file cannot be loaded or a flag is wrong.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import os
import sys
import time
import traceback
from dataclasses import dataclass

import numpy as np

import compare  # starts the clock
import keras_ref
from compare.cli import (
    command_parser, add_device_arguments, add_output_arguments, count,
    list_of, positive_int,
)
from compare.core import Outcome, as_bad_input, errors, first_divergence, judge, run_command
from compare.diagnosis import HINTS, classify, describe_divergence, n_out
from compare.report import Table
from scratch import tolerances
from scratch.intermediates import EQUATIONS

PROG = "compare.candidate"
LAYOUTS = ("columns", "rows")
ROWS_METHODS = ("set_weights", "predict", "loss_and_gradients")
#: The output activations the layouts have, each with its loss.
HEADS = {"sigmoid": "binary_crossentropy", "softmax": "categorical_crossentropy"}
#: The lecture's equations in the columns layout (its "summary of gradient descent" slide).
COLUMN_EQUATIONS = {
    "Z": "Z[l] = W[l] A[l-1] + b[l]",
    "dA": "dA[l] = W[l+1]^T dZ[l+1]",
    "dW": "dW[l] = 1/m dZ[l] A[l-1]^T",
    "db": "db[l] = 1/m np.sum(dZ[l], axis=1, keepdims=True)",
    "dZ_logits": "dZ[L] = A[L] - Y",
}
#: The spread of the biases of the second run: non-zero, so that a forgotten bias shows.
BIAS_SCALE = 0.5


@dataclass(frozen=True)
class Config:
    path: str
    layout: str | None = None
    layers: tuple[int, ...] = (4, 6, 1)
    hidden_activation: str = "relu"
    output_activation: str = "sigmoid"
    loss: str = "binary_crossentropy"
    batch_size: int = 32
    seed: int = 0
    dtype: str = "float64"
    model: str | None = None


# --- the candidate ---------------------------------------------------------------------------------

def load_candidate(path: str):
    """The user's module, run as the user asked (it is their own code, handed to this command)."""
    if not os.path.isfile(path):
        raise ValueError(f"no candidate file at {path}")
    spec = importlib.util.spec_from_file_location("candidate", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:  # a file that calls exit() has not been checked: not exit 0
        raise ValueError(f"{path} could not be loaded: {type(e).__name__}: {e}") from None
    return module


def rows_object(module):
    """The module-level object, or an instance of the class, that has the rows protocol's methods."""
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, type(module)):
            continue
        if all(callable(getattr(value, m, None)) for m in ROWS_METHODS):
            if isinstance(value, type):
                try:
                    return value()
                except (Exception, SystemExit) as e:
                    raise ValueError(f"class {name} could not be made with no arguments: {type(e).__name__}: {e}")
            return value
    return None


def detect_layout(module, given: str | None) -> str:
    columns = all(callable(getattr(module, f, None)) for f in ("L_model_forward", "L_model_backward"))
    rows = rows_object(module) is not None if not columns or given == "rows" else False
    found = "columns" if columns else "rows" if rows else None
    if given is not None and given != found and not (given == "rows" and rows):
        needs = ("L_model_forward and L_model_backward" if given == "columns"
                 else "an object or class with " + ", ".join(ROWS_METHODS))
        raise ValueError(f"--layout {given}: the file has no {needs}")
    if found is None:
        raise ValueError("the file follows neither layout: columns needs L_model_forward and L_model_backward, "
                         "rows an object or class with " + ", ".join(ROWS_METHODS))
    return given or found


# --- checks ----------------------------------------------------------------------------------------

class Checks:
    """Every comparison of one run, each with its quantity, layer, function and verdict."""

    def __init__(self, m: int, widths, tol: float, magnitudes: dict, equations: dict | None = None):
        self.rows, self.m, self.widths, self.tol, self.magnitudes = [], m, widths, tol, magnitudes
        self.equations = {**EQUATIONS, **(equations or {})}

    def add(self, quantity: str, layer: int, function: str, reference, produce, stem: str | None = None,
            transposed_weight=None):
        """Compare ``produce()`` (the candidate's value; it may raise) with ``reference``.
        ``transposed_weight``: what a dA_prev comes to with W where W^T belongs, a mistake no
        shape check catches on a square layer; a candidate equal to it is of kind ``transpose``."""
        row = {"quantity": quantity, "layer": layer, "function": function, "_reference": reference,
               "pass": "loss" if quantity == "cost" else "forward" if quantity[0] in "ZA" else "backward",
               "equation": self.equations[stem or quantity.rstrip("0123456789")]}
        a = np.asarray(reference, dtype=np.float64)
        try:
            value = produce()
        except (Exception, SystemExit) as e:  # whatever the candidate does is reported, exit() included
            where = traceback.extract_tb(e.__traceback__)[-1]
            self.rows.append(row | {"passed": False, "kind": "raised", "factor": None,
                                    "hint": f"{function} raised {type(e).__name__}: {e} (line {where.lineno} of "
                                            f"{os.path.basename(where.filename)}); expected {quantity} of shape "
                                            f"{a.shape}"})
            return
        if isinstance(value, KeyError):  # a missing key, reported by the caller's produce
            self.rows.append(row | {"passed": False, "kind": "missing", "factor": None, "hint": str(value.args[0])})
            return
        try:
            b = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as e:
            self.rows.append(row | {"passed": False, "kind": "other", "factor": None,
                                    "hint": f"{function} returned {type(value).__name__}, not an array: {e}"})
            return
        row["_candidate"] = b
        if b.shape != a.shape or not np.isfinite(b).all():  # nothing to measure: how it differs is all there is
            self.rows.append(row | {"passed": False, **classify(a, b, self.tol, self.m, n_out(self.widths, layer))})
            return
        row |= judge(a, b, self.tol, self.magnitudes.get(quantity))
        if not row["passed"]:
            row |= classify(a, b, row["tolerance"], self.m, n_out(self.widths, layer))
            if transposed_weight is not None and errors(transposed_weight, b)["rel_diff"] <= max(row["tolerance"], 1e-6):
                row |= {"kind": "transpose", "factor": None, "hint": HINTS["transpose"]}
        self.rows.append(row)

    def first_divergence(self) -> dict | None:
        return first_divergence(self.rows)


def _key(grads, key: str, function: str):
    """grads[key], or a KeyError that says what was expected."""
    if not isinstance(grads, dict):
        return KeyError(f"{function} returned {type(grads).__name__}, expected a dict with keys such as {key!r}")
    if key not in grads:
        return KeyError(f"{function} returned no {key!r}; its keys: {', '.join(map(str, grads)) or 'none'}")
    return grads[key]


# --- the reference ----------------------------------------------------------------------------------

def reference_run(config: Config, model, X, Y, with_biases: bool, rng, base=None) -> tuple[list, dict, dict]:
    """(weights in Keras's order, Keras's quantities, the twin's magnitudes), with ``base`` (your
    model's weights) or Keras's initial ones, or with their biases drawn from N(0, BIAS_SCALE^2)."""
    import scratch
    from keras_ref.intermediates import layer_by_layer as keras_pass
    from scratch.intermediates import layer_by_layer as twin_pass
    weights = [w.copy() for w in base] if base is not None else keras_ref.initial_weights(
        list(config.layers), "glorot_uniform", config.seed, config.dtype)
    if with_biases:
        weights = [w if w.ndim == 2 else rng.normal(0, BIAS_SCALE, w.shape).astype(config.dtype) for w in weights]
    model.set_weights(weights)
    values = keras_pass(model, X, Y, input_gradient=True)
    twin = scratch.Network(list(config.layers), hidden_activation=config.hidden_activation,
                           output_activation=config.output_activation, loss=config.loss, dtype=config.dtype)
    twin.set_weights(weights)
    return weights, values, twin_pass(twin, X, Y).magnitudes


def columns(values: dict, magnitudes: dict, m: int, n_out: int) -> tuple[dict, dict]:
    """Keras's quantities in the columns layout: transposed, b as (n, 1), dA and dZ without the
    1/m, and the cost summed over the n_out output units.  (Keras's binary cross-entropy takes
    their mean; the lecture's cost, and the assignments', sums them: J = -1/m sum_i sum_k ...,
    so in this layout the loss and every gradient are n_out times Keras's.)"""
    def convert(name, v):
        stem = name.rstrip("0123456789")
        v = np.asarray(v)
        if stem == "loss":
            return n_out * v
        if stem == "db":
            return n_out * v[:, None]
        if stem in ("dA", "dZ"):
            return n_out * m * v.T
        return (n_out * v.T if stem == "dW" else v.T) if v.ndim == 2 else v
    return ({n: convert(n, v) for n, v in values.items()}, {n: convert(n, v) for n, v in magnitudes.items()})


# --- the two layouts --------------------------------------------------------------------------------

def check_columns(module, config: Config, weights: list, ref: dict, X, Y, checks: Checks) -> None:
    """Shadow mode, then the whole pass, each check in data-flow order."""
    L = len(config.layers) - 1
    W = {l: weights[2 * l - 2].T for l in range(1, L + 1)}
    b = {l: weights[2 * l - 1][:, None] for l in range(1, L + 1)}
    params = {f"{p}{l}": (W if p == "W" else b)[l].copy() for l in range(1, L + 1) for p in "Wb"}
    act = {l: config.output_activation if l == L else config.hidden_activation for l in range(1, L + 1)}
    A = {0: X.T, **{l: ref[f"A{l}"] for l in range(1, L + 1)}}
    has = {name: callable(getattr(module, name, None)) for name in (
        "linear_forward", "linear_activation_forward", "linear_backward", "linear_activation_backward",
        "compute_cost", "sigmoid", "relu", "tanh", "softmax", "sigmoid_backward", "relu_backward", "tanh_backward",
        "softmax_backward")}
    dA = dict(ref)
    if f"dA{L}" not in ref:  # the assignments' dAL: the loss's derivative, per example
        AL, Yc = ref[f"A{L}"], Y.T
        dA[f"dA{L}"] = -Yc / AL if config.loss == "categorical_crossentropy" else -(Yc / AL - (1 - Yc) / (1 - AL))
    whole = {}

    def run_whole():
        if "AL" not in whole:
            whole["AL"], whole["caches"] = module.L_model_forward(X.T.copy(), {k: v.copy() for k, v in params.items()})
        return whole

    def backward_whole():
        if "grads" not in whole:
            run_whole()
            whole["grads"] = module.L_model_backward(whole["AL"], Y.T.copy(), whole["caches"])
        return whole["grads"]

    for l in range(1, L + 1):  # forward
        if has["linear_forward"]:
            checks.add(f"Z{l}", l, "linear_forward", ref[f"Z{l}"],
                       lambda l=l: module.linear_forward(A[l - 1].copy(), W[l].copy(), b[l].copy())[0])
        if has[act[l]]:
            checks.add(f"A{l}", l, act[l], A[l], lambda l=l: getattr(module, act[l])(ref[f"Z{l}"].copy())[0])
        if has["linear_activation_forward"]:
            checks.add(f"A{l}", l, "linear_activation_forward", A[l], lambda l=l: module.linear_activation_forward(
                A[l - 1].copy(), W[l].copy(), b[l].copy(), act[l])[0])
    checks.add(f"A{L}", L, "L_model_forward", A[L], lambda: run_whole()["AL"])
    if has["compute_cost"]:
        checks.add("cost", 0, "compute_cost", ref["loss"], lambda: module.compute_cost(A[L].copy(), Y.T.copy()),
                   stem="loss")
    for l in range(L, 0, -1):  # backward
        backward = f"{act[l]}_backward"
        wrong_way = {f"dA{l - 1}": W[l] @ ref[f"dZ{l}"]} if W[l].shape[0] == W[l].shape[1] else {}
        if has[backward] and has[act[l]] and f"dA{l}" in dA:
            checks.add(f"dZ{l}", l, backward, ref[f"dZ{l}"], lambda l=l, f=backward: getattr(module, f)(
                dA[f"dA{l}"].copy(), getattr(module, act[l])(ref[f"Z{l}"].copy())[1]), stem="dZ")
        outputs = {"dA": (f"dA{l - 1}", "dA"), "dW": (f"dW{l}", "dW"), "db": (f"db{l}", "db")}
        if has["linear_backward"] and has["linear_forward"]:
            for i, key in enumerate(("dW", "db", "dA")):
                name, stem = outputs[key]
                index = {"dA": 0, "dW": 1, "db": 2}[key]
                checks.add(name, l - 1 if key == "dA" else l, "linear_backward", ref[name],
                           lambda l=l, index=index: module.linear_backward(
                               ref[f"dZ{l}"].copy(), module.linear_forward(A[l - 1].copy(), W[l].copy(),
                                                                           b[l].copy())[1])[index], stem=stem,
                           transposed_weight=wrong_way.get(name))
        if has["linear_activation_backward"] and has["linear_activation_forward"] and f"dA{l}" in dA:
            for key in ("dW", "db", "dA"):
                name, stem = outputs[key]
                index = {"dA": 0, "dW": 1, "db": 2}[key]
                checks.add(name, l - 1 if key == "dA" else l, "linear_activation_backward", ref[name],
                           lambda l=l, index=index: module.linear_activation_backward(
                               dA[f"dA{l}"].copy(), module.linear_activation_forward(
                                   A[l - 1].copy(), W[l].copy(), b[l].copy(), act[l])[1], act[l])[index], stem=stem,
                           transposed_weight=wrong_way.get(name))
        for key in ("dW", "db", "dA"):
            name, stem = outputs[key]
            checks.add(name, l - 1 if key == "dA" else l, "L_model_backward", ref[name],
                       lambda name=name: _key(backward_whole(), name, "L_model_backward"), stem=stem,
                       transposed_weight=wrong_way.get(name))


def check_rows(module, config: Config, weights: list, ref: dict, X, Y, checks: Checks) -> None:
    """predict, loss_and_gradients and (if present) intermediates, in Keras's layout and scale."""
    L = len(config.layers) - 1
    net = rows_object(module)
    net.set_weights([w.copy() for w in weights])
    if callable(getattr(net, "intermediates", None)):
        found = {}

        def intermediate(name):
            if "values" not in found:
                found["values"] = net.intermediates(X.copy(), Y.copy())
            return _key(found["values"], name, "intermediates")
        for name in ref:
            if name in ("loss", "dA0"):
                continue
            l = int(name.lstrip("ZAdWb"))
            wrong_way = None  # dA[l] = dZ[l+1] W[l+1]^T, with W where W^T belongs (square layers only)
            if name.startswith("dA") and l < L and weights[2 * l].shape[0] == weights[2 * l].shape[1]:
                wrong_way = ref[f"dZ{l + 1}"] @ weights[2 * l]
            checks.add(name, l, "intermediates", ref[name], lambda name=name: intermediate(name),
                       stem="dZ_logits" if name == f"dZ{L}" else None, transposed_weight=wrong_way)
    checks.add(f"A{L}", L, "predict", ref[f"A{L}"], lambda: net.predict(X.copy()))
    result = {}

    def loss_and_gradients():
        if "r" not in result:
            result["r"] = net.loss_and_gradients(X.copy(), Y.copy())
        return result["r"]
    checks.add("cost", 0, "loss_and_gradients", ref["loss"], lambda: loss_and_gradients()[0], stem="loss")
    for i, name in enumerate(f"d{p}{l}" for l in range(1, L + 1) for p in "Wb"):
        checks.add(name, int(name[2:]), "loss_and_gradients", ref[name], lambda i=i: loss_and_gradients()[1][i])


def run(config: Config, module, layout: str, model=None) -> list[dict]:
    """Both runs (Keras's initial weights, or your model's; then non-zero biases), each with its
    checks and verdict."""
    base = None if model is None else model.get_weights()
    if model is None:
        model = keras_ref.build_model(list(config.layers), hidden_activation=config.hidden_activation,
                                      output_activation=config.output_activation, loss=config.loss,
                                      seed=config.seed, dtype=config.dtype)
    from compare.cases import make_batch
    X, Y = make_batch(config.layers, config.loss, config.batch_size, config.seed)
    X, Y = X.astype(config.dtype), Y.astype(config.dtype)
    rng = np.random.default_rng(config.seed + 1)
    tol = tolerances.network(config.dtype, list(config.layers), len(X))
    runs = []
    for with_biases in (False, True):
        weights, values, magnitudes = reference_run(config, model, X, Y, with_biases, rng, base)
        checks = Checks(len(X), list(config.layers), tol, {}, COLUMN_EQUATIONS if layout == "columns" else None)
        if layout == "columns":
            # binary cross-entropy averages its output units where the layouts' cost sums them
            units = config.layers[-1] if config.loss == "binary_crossentropy" else 1
            ref, checks.magnitudes = columns(values, magnitudes, len(X), units)
            check_columns(module, config, weights, ref, X, Y, checks)
        else:
            checks.magnitudes = magnitudes
            check_rows(module, config, weights, values, X, Y, checks)
        first = "your model's weights" if base is not None else "Keras's initial weights (zero biases)"
        runs.append({"weights": first if not with_biases else
                     f"biases drawn from N(0, {BIAS_SCALE}^2), seed {config.seed + 1}",
                     "passed": all(r["passed"] for r in checks.rows), "checks": checks.rows,
                     "first_divergence": checks.first_divergence(), "tolerance": tol})
    return runs


def reference_config(config: Config, net, hidden_given: str | None) -> Config:
    """The config your model implies, from its twin ``net``: a chain of Dense layers with one
    hidden activation (relu, tanh or sigmoid) and one of HEADS with its loss, as the two layouts have."""
    from scratch.layers import Dense
    if not all(isinstance(layer, Dense) for layer in net.layers):
        raise ValueError(f"{config.model}: the reference model must be Dense layers only, got "
                         + ", ".join(type(layer).__name__ for layer in net.layers))
    for l, layer in enumerate(net.layers, 1):
        if not layer.use_bias or layer.kernel_regularizer is not None:
            raise ValueError(f"{config.model}: layer {l} has {'no bias' if not layer.use_bias else 'a regularizer'}; "
                             "the layouts' W[l], b[l] and cost have every bias and no penalty")
    if net.loss.config.get("from_logits") or net.loss.config.get("label_smoothing"):
        raise ValueError(f"{config.model}: its loss has settings {net.loss.config}; the layouts' cost is the plain "
                         "cross-entropy of the output")
    hidden = {layer.activation.name for layer in net.layers[:-1]}
    output = net.layers[-1].activation.name
    if len(hidden) > 1 or not hidden <= {"relu", "tanh", "sigmoid"} or HEADS.get(output) != net.loss.name:
        raise ValueError(f"{config.model}: the reference model must have one hidden activation of relu, tanh, "
                         f"sigmoid, and a sigmoid output with binary cross-entropy or a softmax with categorical "
                         f"cross-entropy; it has {sorted(hidden)}, {output}, {net.loss.name}")
    hidden_activation = hidden.pop() if hidden else config.hidden_activation
    if hidden_given is not None and hidden_given != hidden_activation:
        raise ValueError(f"--hidden-activation {hidden_given}, but the model's hidden layers use {hidden_activation}")
    return dataclasses.replace(config, layers=tuple(net.widths), hidden_activation=hidden_activation,
                               output_activation=output, loss=net.loss.name, dtype=net.dtype)


# --- report ------------------------------------------------------------------------------------------

def render(run_: dict) -> str:
    table = Table(["layer", "quantity", "function", "rel diff", "tolerance", "verdict"])
    first = run_["first_divergence"]
    for r in run_["checks"]:
        verdict = "ok" if r["passed"] else r["kind"].upper()
        if first is not None and (r["quantity"], r["function"]) == (first["quantity"], first["function"]):
            verdict = f"FIRST DIVERGENCE ({r['kind']})"
        table.add(r["layer"] or "-", r["quantity"], r["function"],
                  f"{r['rel_diff']:.1e}" if "rel_diff" in r else "-",
                  f"{r['tolerance']:.1e}" if "tolerance" in r else "-", verdict)
    return table.render()


def write_html(path: str, config: Config, layout: str, runs: list[dict], passed: bool) -> None:
    """The page: verdict, network, and per run the first divergence, a plot of every check's
    error, and every check with Keras's value beside yours."""
    from compare import html
    L = len(config.layers) - 1
    body = [html.verdict(passed, "your implementation agrees with Keras" if passed else
                         "your implementation does not agree with Keras"),
            f"<p>{html.esc(os.path.basename(config.path))}, layout {html.esc(layout)}; reference: Keras, "
            f"{html.esc(config.loss)}, {html.esc(config.dtype)}, batch {config.batch_size}, seed {config.seed}. "
            f"In the {layout} layout"
            + (": W[l] is (n_l, n_(l-1)), examples are columns, dA and dZ carry no 1/m." if layout == "columns"
               else ": W[l] is (n_(l-1), n_l), examples are rows, dA and dZ carry the 1/m.") + "</p>",
            html.network(config.layers, [config.hidden_activation] * (L - 1) + [config.output_activation])]
    for r in runs:
        body.append(f"<h2>With {html.esc(r['weights'])}: {sum(c['passed'] for c in r['checks'])}/"
                    f"{len(r['checks'])} checks agree</h2>")
        body.append(html.hint(r["first_divergence"]))
        body.append(html.error_plot(r["checks"]))
        body.append(html.layer_table(r["checks"], r["first_divergence"], sides=("keras", "yours")))
    html.write(path, f"{PROG}: {os.path.basename(config.path)}", "".join(body))


def build_parser() -> argparse.ArgumentParser:
    d = Config(path="")
    p = command_parser(PROG, __doc__)
    p.add_argument("path", help="your implementation, a .py file")
    p.add_argument("--layout", choices=LAYOUTS, default=None, help="default: detected from the file")
    p.add_argument("--layers", type=list_of("layer size", convert=int, noun="integer", repeats=True), default=d.layers)
    p.add_argument("--hidden-activation", choices=("relu", "tanh", "sigmoid"), default=None,
                   help="the hidden layers' activation (default: the file's HIDDEN_ACTIVATION if it sets one, "
                        "else relu, as the assignments' L_model_forward)")
    p.add_argument("--output-activation", choices=tuple(HEADS), default=None,
                   help="the output layer's activation, with its loss (sigmoid: binary cross-entropy, softmax: "
                        "categorical cross-entropy); default: the file's OUTPUT_ACTIVATION if it sets one, else sigmoid")
    p.add_argument("--batch-size", type=positive_int, default=d.batch_size)
    p.add_argument("--seed", type=count, default=d.seed)
    p.add_argument("--dtype", choices=("float64", "float32"), default=d.dtype)
    p.add_argument("--model", metavar="PATH", default=None,
                   help="your own saved Keras model (Dense layers, one hidden activation, sigmoid output, binary "
                        "cross-entropy) as the reference: its layers, dtype and weights replace the flags")
    add_device_arguments(p)
    add_output_arguments(p, detail="print every check of both runs", html="every check, with Keras's and your values")
    return p


def prepare(args, parser) -> tuple[Config, object, str]:
    """(config, your module, its layout): the flags, then your file, loaded and checked."""
    if len(args.layers) < 2 or min(args.layers) < 1:
        parser.error(f"--layers needs at least two sizes, each >= 1, got {','.join(map(str, args.layers))}")
    module = load_candidate(args.path)
    layout = detect_layout(module, args.layout)
    hidden = args.hidden_activation or getattr(module, "HIDDEN_ACTIVATION", Config.hidden_activation)
    if hidden not in ("relu", "tanh", "sigmoid"):
        raise ValueError(f"the file's HIDDEN_ACTIVATION {hidden!r} is not one of relu, tanh, sigmoid")
    output = args.output_activation or getattr(module, "OUTPUT_ACTIVATION", Config.output_activation)
    if output not in HEADS:
        raise ValueError(f"the file's OUTPUT_ACTIVATION {output!r} is not one of {', '.join(HEADS)}")
    return (Config(args.path, args.layout, tuple(args.layers), hidden, output, HEADS[output],
                   args.batch_size, args.seed, args.dtype, args.model), module, layout)


def execute(prepared: tuple, args, device_name: str) -> Outcome:
    config, module, layout = prepared
    if config.model is None:
        runs = run(config, module, layout)
    else:
        from compare.twin import loaded
        with contextlib.ExitStack() as stack:
            with as_bad_input():  # your model file, and whether the layouts can express it
                model, net, _ = stack.enter_context(loaded(config.model))
                config = reference_config(config, net, args.hidden_activation)
            runs = run(config, module, layout, model)
    passed = all(r["passed"] for r in runs)
    lines = [f"{PROG}: {config.path}, layout {layout}{'' if config.layout else ' (detected)'}; reference: Keras "
             f"{'-'.join(map(str, config.layers))}, hidden {config.hidden_activation}, output "
             f"{config.output_activation}, {config.loss}, {config.dtype}, batch {config.batch_size}, seed "
             f"{config.seed}; {time.perf_counter() - compare.STARTED:.1f} s"]
    for r in runs:
        failed = sum(not c["passed"] for c in r["checks"])
        lines.append(f"\nwith {r['weights']}: {len(r['checks']) - failed}/{len(r['checks'])} checks agree "
                     f"(tolerance {r['tolerance']:.1e})")
        if args.detail or not r["passed"]:
            lines.append(render(r))
        if r["first_divergence"]:
            lines.append("FIRST DIVERGENCE: " + describe_divergence(r["first_divergence"]))
    lines.append("your implementation agrees with Keras" if passed else
                 "your implementation does not agree with Keras")
    return Outcome(passed, config, lines, {"layout": layout, "runs": runs},
                   lambda path: write_html(path, config, layout, runs, passed))


def main(argv=None) -> int:
    return run_command(PROG, build_parser, argv, execute, prepare)


if __name__ == "__main__":
    sys.exit(main())
