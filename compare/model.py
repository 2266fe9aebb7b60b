"""python -m compare.model PATH: your Keras model and its NumPy twin, proven to agree.

Loads the model from a ``.keras`` or ``.h5`` file (its config checked first, then
``safe_mode=True``), builds its twin with ``compare.twin.from_keras``, and compares three
legs on one batch:

1. inference: ``model.predict`` against ``twin.predict``;
2. training mode: the loss, the regularisation penalties and every gradient, as ``fit``
   computes them;
3. training steps: ``--steps`` calls of ``model.train_on_batch`` with the model's own compiled
   optimizer against the twin's steps, comparing every weight and optimizer slot after each,
   and naming the first step that drifts.

Tolerances are derived from the dtype's epsilon and the network's size
(``scratch.tolerances``).  Data: ``--data`` names a built-in data set or a CSV file (with
``--target``); by default a fixed-seed batch shaped to the model's input, with labels that
suit its loss.  ``--save-twin FILE.npz`` writes the twin as it was loaded, which
``scratch.load`` reads back with NumPy alone.  Exit 0 when everything agrees, 1 when anything
does not, 2 on bad input.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

import compare  # starts the clock
from compare.cli import command_parser, add_device_arguments, add_output_arguments, check_new_file, count
from compare.cli import positive_float, positive_int
from compare.core import Drift, Outcome, as_bad_input, compare_named, failures, run_command
from compare.diagnosis import describe_divergence, diagnose, render_layers
from compare.report import Table, describe_failure
from keras_ref import datasets
from scratch import tolerances

PROG = "compare.model"
PERTURBATION = 1000  # tolerances


@dataclass(frozen=True)
class Config:
    path: str
    data: str | None = None
    target: str | None = None
    batch_size: int = 32
    steps: int = 20
    seed: int = 0
    loss: str | None = None
    tol_float32: float | None = None
    tol_float64: float | None = None
    perturb: str | None = None


def batch(config: Config, model, net) -> tuple[np.ndarray, np.ndarray, str]:
    """(X, Y, what they are): ``--data``'s first ``--batch-size`` training examples, or a fixed-seed batch."""
    n_in, n_out = net.widths[0], net.widths[-1]
    if config.data is None:
        from compare.cases import make_batch
        X, Y = make_batch((n_in, n_out), net.loss.name, config.batch_size, config.seed)
        return X, Y, f"a fixed-seed batch of {config.batch_size} (seed {config.seed})"
    if config.target is not None or config.data.endswith(".csv"):
        if config.target is None:
            raise ValueError(f"--data {config.data} is a CSV file: name its class column with --target")
        split = datasets.load_csv(config.data, config.target, seed=config.seed)
    else:
        split = datasets.load(config.data, seed=config.seed)
    if split.n_features != n_in:
        raise ValueError(f"{split.name} has {split.n_features} features, the model takes {n_in} inputs")
    if net.loss.name == "mean_squared_error":
        raise ValueError("the model's loss is mean_squared_error; --data gives class labels (use the default batch)")
    if split.n_outputs != n_out:
        raise ValueError(f"{split.name} has {split.classes} classes, as targets of width {split.n_outputs}; "
                         f"the model's {net.loss.name} output has {n_out} units")
    m = min(config.batch_size, len(split.X_train))
    return split.X_train[:m], split.y_train[:m], f"the first {m} training examples of {split.name}"


def perturbed(net, key: str, names: list[str], tol: float) -> None:
    """The negative control: every element of the twin's weight ``key`` moved by 1000 tolerances
    of its scale, 1000 tol (max |w| + 1), far past what rounding can do."""
    weights = net.get_weights()
    w = weights[names.index(key)]
    w += PERTURBATION * tol * (np.abs(w).max() + 1)
    net.set_weights(weights)


def tolerance(config: Config, net, m: int, steps: int | None = None) -> float:
    """The flag's value, else N eps for this network and batch, grown by sqrt(k) after k steps."""
    given = config.tol_float64 if net.dtype == "float64" else config.tol_float32
    return given if given is not None else tolerances.of_network(net, m, steps)


def layer_quantities(net, X, Y) -> list[str]:
    """The per-layer quantities a twin's pass has (Z1, A1, dA1, ...), from a copy of it (the pass
    moves BatchNormalization's statistics and draws Dropout masks)."""
    import scratch
    from scratch.intermediates import layer_by_layer
    copy = scratch.Network.from_config(net.get_config())
    copy.set_weights(net.get_weights())
    return [n for n in layer_by_layer(copy, X, Y).values if not n.startswith(("xhat", "mask"))]


def named_weights(model) -> list[str]:
    return [v.path for v in model.weights]


def run(config: Config, model, net, X, Y) -> dict:
    """The three legs, each as named quantities compared in data-flow order.  Before each of
    Keras's training passes, the masks its Dropout layers will draw are replayed on the twin."""
    import keras_ref
    from compare import twin
    names, trainable = named_weights(model), [v.path for v in model.trainable_weights]
    tol = tolerance(config, net, len(X))

    inference = compare_named({"output": model.predict(X, verbose=0)}, {"output": net.predict(X)}, tol)
    twin.replay(net, twin.dropout_masks(model, net, len(X)))
    k_out, k_loss, k_grads = keras_ref.output_loss_and_gradients(model, X, Y)
    s_loss, s_grads = net.loss_and_gradients(X, Y)
    magnitudes = {f"grad/{n}": m for n, m in zip(trainable, net.gradient_magnitudes(Y))}
    k_penalty = float(sum(float(np.asarray(p)) for p in model.losses)) if model.losses else 0.0
    s_penalty = float(sum(p for p in (layer.regularization_loss() for layer in net.layers) if p is not None))
    s_out = net.layers[-1].cache["A"]  # the training-mode output of the pass just taken
    keras_side = {"output": k_out, "loss": float(k_loss), "penalties": k_penalty,
                  **{f"grad/{n}": g for n, g in zip(trainable, k_grads)}}
    twin_side = {"output": s_out, "loss": s_loss, "penalties": s_penalty,
                 **{f"grad/{n}": g for n, g in zip(trainable, s_grads)}}
    training = compare_named(keras_side, twin_side, tol, magnitudes)
    twin.replay(net, twin.dropout_masks(model, net, len(X)))
    by_layer = diagnose(model, net, X, Y, tol, config.perturb if config.perturb not in names else None)

    drift = Drift(lambda k: tolerance(config, net, len(X), k))
    error = None
    for step in range(1, config.steps + 1):
        twin.replay(net, twin.dropout_masks(model, net, len(X)))
        k_step_loss = float(model.train_on_batch(X, Y, return_dict=True)["loss"])
        try:
            s_step_loss = net.train_on_batch(X, Y)
        except FloatingPointError as e:
            error = f"twin: {e}"
            break
        drift.update(step, state(model, k_step_loss, names), state_of_twin(net, s_step_loss, names, trainable))
    steps = drift.report() | {"steps": config.steps, "error": error}
    steps["passed"] = steps["passed"] and error is None
    return {"tolerance": tol, "inference": inference, "training": training, "layers": by_layer["rows"],
            "first_divergence": by_layer["first_divergence"], "training_steps": steps,
            "_values": by_layer["values"]}  # for the HTML page; not in the JSON


def state(model, loss: float, names: list[str]) -> dict:
    """The loss, every weight (moving statistics included) and every optimizer slot of the Keras side, named."""
    from compare.twin import KERAS_SLOTS, OPTIMIZERS
    out = {"loss": loss, **{n: np.asarray(w) for n, w in zip(names, model.get_weights())}}
    kind = OPTIMIZERS[type(model.optimizer).__name__]
    trainable = [v.path for v in model.trainable_weights]
    for slot, attribute in KERAS_SLOTS[kind].items():
        for n, v in zip(trainable, getattr(model.optimizer, attribute, None) or []):
            out[f"{slot}/{n}"] = np.asarray(v)
    return out


def state_of_twin(net, loss: float, names: list[str], trainable: list[str]) -> dict:
    out = {"loss": loss, **dict(zip(names, net.get_weights()))}
    _, slots = net.optimizer_state()
    for slot, flat in slots.items():
        out |= {f"{slot}/{n}": v for n, v in zip(trainable, net.unflatten(flat))}
    return out


def render(result: dict) -> str:
    table = Table(["leg", "quantity", "max abs", "rel diff", "tolerance", "verdict"])
    for leg in ("inference", "training"):
        for key, e in result[leg].items():
            table.add(leg, key, f"{e['max_abs']:.1e}", f"{e['rel_diff']:.1e}",
                      f"{e.get('tolerance', result['tolerance']):.1e}",
                      "ok" if e["passed"] else "FAIL")
    s = result["training_steps"]
    worst = max(s["worst"], key=lambda k: s["worst"][k]["drift"]) if s["worst"] else None
    table.add("training steps", f"{s['steps']} steps, worst {worst}",
              f"{s['worst'][worst]['max_abs']:.1e}" if worst else "-",
              f"{s['worst'][worst]['drift']:.1e}" if worst else "-", "sqrt(k) N eps",
              "ok" if s["passed"] else (f"FAIL from step {s['first_drift_step']}" if s["first_drift_step"]
                                        else "FAIL"))
    return table.render()


def describe_failures(result: dict) -> list[str]:
    lines = [f"FAIL {leg} " + describe_failure(key, result[leg][key], "twin vs keras")
             for leg in ("inference", "training") for key in failures(result[leg])]
    s = result["training_steps"]
    if result["first_divergence"] is not None:
        lines.append("FIRST DIVERGENCE layer by layer: " + describe_divergence(result["first_divergence"]))
    if s["first_drift_step"] is not None:
        lines.append(f"FAIL training steps: first drift at step {s['first_drift_step']} in "
                     f"{', '.join(s['first_drift_keys'])}")
    if s["error"]:
        lines.append(f"FAIL training steps: {s['error']}")
    return lines


# --- command line ------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = command_parser(PROG, __doc__)
    p.add_argument("path", help="the model: a .keras file (or a legacy .h5)")
    p.add_argument("--data", default=None,
                   help=f"a built-in data set ({', '.join(datasets.DATASETS)}) or a CSV file with --target; "
                        "default: a fixed-seed batch shaped to the model")
    p.add_argument("--target", default=None, help="the CSV's class column")
    p.add_argument("--batch-size", type=positive_int, default=32, help="examples in the compared batch")
    p.add_argument("--steps", type=count, default=20, help="train_on_batch steps compared after each")
    p.add_argument("--seed", type=count, default=0, help="seed of the default batch and of the data split")
    p.add_argument("--loss", default=None,
                   help="the loss of a model saved uncompiled (it is then compiled with it and Adam)")
    p.add_argument("--tol-float32", type=positive_float, default=None,
                   help="a fixed tolerance instead of N eps (docs/tolerances.md)")
    p.add_argument("--tol-float64", type=positive_float, default=None, help="as --tol-float32")
    p.add_argument("--perturb", metavar="KEY", default=None,
                   help="negative control: shift this twin weight (a Keras path such as dense/kernel) by "
                        "1000 tolerances, or move one per-layer quantity of its pass (Z1, A1, dA1, dZ1, dW1, ...); "
                        "the run must then fail")
    p.add_argument("--save-twin", metavar="FILE.npz", default=None,
                   help="write the twin, as loaded, for scratch.load (no pickle, no TensorFlow)")
    p.add_argument("--floatx", choices=("auto", "float32", "float64"), default="auto",
                   help="Keras's floatx() while the model loads and trains; auto: the dtype of its layers "
                        "(a loss saved by name is rebuilt in floatx())")
    add_device_arguments(p)
    add_output_arguments(p, detail="print the per-layer table: each Z, A, dA, dZ and gradient, both sides",
                         html="the model, the three legs, and layer by layer each equation beside both sides' values")
    return p


def prepare(args, parser) -> Config:
    if args.save_twin:
        check_new_file(args.save_twin, "--save-twin", args.overwrite, parser)
    if not os.path.isfile(args.path):
        raise ValueError(f"no model file at {args.path}")
    return Config(args.path, args.data, args.target, args.batch_size, args.steps, args.seed, args.loss,
                  args.tol_float32, args.tol_float64, args.perturb)


def execute(config: Config, args, device_name: str) -> Outcome:
    from compare.twin import loaded
    with contextlib.ExitStack() as stack:
        with as_bad_input():  # the file, the data and --perturb, checked against each other
            model, net, floatx = stack.enter_context(loaded(config.path, config.loss, args.floatx))
            X, Y, described = batch(config, model, net)
            names = named_weights(model)
            if config.perturb is not None and config.perturb not in names:
                quantities = layer_quantities(net, X, Y)
                if config.perturb not in quantities:
                    raise ValueError(f"unknown --perturb {config.perturb!r}; valid: {', '.join(names + quantities)}")
        start = net.optimizer.iterations
        # fit and train_on_batch cast float arrays to floatx(): both sides get the batch as Keras sees it
        X = X.astype(floatx).astype(net.dtype)
        Y = Y.astype(floatx).astype(net.dtype)
        if args.save_twin:  # the twin as loaded; in place under its name only once the run has ended
            partial = f"{args.save_twin}.{os.getpid()}.partial"
            net.save(partial, overwrite=True)
            stack.callback(lambda: os.path.exists(partial) and os.remove(partial))
        if config.perturb in names:
            perturbed(net, config.perturb, names, tolerance(config, net, len(X)))
        result = run(config, model, net, X, Y)
        if args.save_twin:
            os.replace(partial, args.save_twin)
    passed = (not failures(result["inference"]) and not failures(result["training"])
              and result["first_divergence"] is None and result["training_steps"]["passed"])
    lines = [f"{PROG}: {config.path}: {' -> '.join(map(str, net.widths))} "
             f"({', '.join(type(l).__name__ for l in net.layers)}), {net.dtype}, loss {net.loss.name}, optimizer "
             f"{net.optimizer.name} at step {start}; quirks derived: {', '.join(sorted(net.quirks))}; loaded under "
             f"floatx() {floatx}",
             f"data: {described}; device {device_name}; {time.perf_counter() - compare.STARTED:.1f} s wall with "
             f"TensorFlow's import" + (f"; twin saved to {args.save_twin}" if args.save_twin else ""),
             render(result)]
    if args.detail:
        lines += ["\nlayer by layer, in training mode (twin vs keras):",
                  render_layers(result["layers"], result["first_divergence"])]
    lines += describe_failures(result)
    lines.append("the twin agrees" if passed else "the twin does not agree")
    return Outcome(passed, config, lines, {"quirks": sorted(net.quirks), "twin": net.get_config(), **result},
                   lambda path: write_html(path, config, net, result, passed, described))


def main(argv=None) -> int:
    return run_command(PROG, build_parser, argv, execute, prepare)


def write_html(path: str, config: Config, net, result: dict, passed: bool, described: str) -> None:
    """The page: verdict, the model's layers, the legs, then layer by layer each equation beside
    both sides' values, the first divergence highlighted, with a plot of every error."""
    from compare import html
    legs = [(f"{leg} {key}", e) for leg in ("inference", "training") for key, e in result[leg].items()]
    steps = result["training_steps"]
    body = [html.verdict(passed, "the twin agrees" if passed else "the twin does not agree"),
            f"<p>{html.esc(os.path.basename(config.path))}: {html.esc(net.dtype)}, loss {html.esc(net.loss.name)}, "
            f"optimizer {html.esc(net.optimizer.name)}; data: {html.esc(described)}; quirks derived: "
            f"{html.esc(', '.join(sorted(net.quirks)))}</p>", html.stack(net),
            "<h2>Inference and training mode</h2><table><tr><th>quantity</th><th>rel diff</th><th>tolerance</th>"
            "<th>verdict</th></tr>"]
    for name, e in legs:
        body.append(f'<tr class="{"" if e["passed"] else "bad"}"><td>{html.esc(name)}</td><td>{e["rel_diff"]:.1e}'
                    f'</td><td>{e.get("tolerance", result["tolerance"]):.1e}</td>'
                    f'<td>{"ok" if e["passed"] else "FAIL"}</td></tr>')
    body.append(f"</table><p>{steps['steps']} training steps: "
                + ("every weight, statistic and slot within its tolerance after each" if steps["passed"] else
                   f"first drift at step {steps['first_drift_step']}") + "</p>")
    body += ["<h2>Layer by layer, in training mode</h2>", html.hint(result["first_divergence"]),
             html.error_plot(result["layers"]),
             html.layer_table(result["layers"], result["first_divergence"], result["_values"])]
    html.write(path, f"{PROG}: {os.path.basename(config.path)}", "".join(body))


if __name__ == "__main__":
    sys.exit(main())
