"""python -m compare.gradients: outputs, loss and gradients, scratch vs Keras, case by case.

For every init mode x hidden activation x dtype, Keras draws the weights, the scratch
network receives a copy, and both evaluate one fixed-seed batch.  The outputs, the loss and
each gradient tensor are compared (max absolute error, max relative error and the lecture's
||g1 - g2|| / (||g1|| + ||g2||)), and the scratch gradients are checked against central
finite differences in float64.  Exit 0 when every case agrees, 1 when any does not, 2 on
bad input.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np

import compare  # starts the clock
import keras_ref
import scratch
from scratch import tolerances
from scratch.intermediates import bump
from compare.cli import (
    command_parser, add_compat_arguments, add_output_arguments, describe_quirks, list_of,
    add_device_arguments, config_from, count, positive_float,
)
from compare.core import Outcome, compare_named, failures, run_command
from compare.diagnosis import describe_divergence, diagnose, render_layers
from compare.cases import make_batch
from compare.finite_differences import central_differences
from compare.report import Table, describe_failure, versions, weight_names
from compare.transfer import keras_to_scratch

PROG = "compare.gradients"
DEFAULT_LAYERS = (4, 6, 1)
DEFAULT_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")


@dataclass(frozen=True)
class Config:
    layers: tuple[int, ...] = DEFAULT_LAYERS
    activations: tuple[str, ...] = DEFAULT_ACTIVATIONS
    init_modes: tuple[str, ...] = keras_ref.INIT_MODES
    dtypes: tuple[str, ...] = ("float32", "float64")
    output_activation: str = "sigmoid"
    loss: str = "binary_crossentropy"
    batch_size: int = 32
    l2: float = 0.0
    seed: int = 0
    tol_float32: float | None = None  # None: scratch.tolerances.network for these sizes
    tol_float64: float | None = None
    fd_tol: float | None = None  # None: scratch.tolerances.finite_differences per tensor
    fd_step: float = 1e-5
    keras_compat: frozenset = frozenset(scratch.keras_compat.QUIRKS)
    perturb: str | None = None

    def tolerance(self, dtype: str) -> float:
        """The flag's value, else N eps for this network and batch (``scratch.tolerances.network``)."""
        given = self.tol_float64 if dtype == "float64" else self.tol_float32
        return given if given is not None else tolerances.network(dtype, self.layers, self.batch_size, self.l2 > 0)

    def fd_tolerances(self, backprop: dict, fd: dict, cost: float) -> dict[str, float]:
        """Per gradient tensor: the flag's value, else ``scratch.tolerances.finite_differences``
        with the cost J good to N eps (``tolerances.network``) in float64."""
        if self.fd_tol is not None:
            return {k: self.fd_tol for k in backprop}
        f_error = tolerances.network("float64", self.layers, self.batch_size, self.l2 > 0) * abs(cost)
        return {k: tolerances.finite_differences(self.fd_step, np.size(g), np.linalg.norm(g) + np.linalg.norm(fd[k]),
                                                 f_error=f_error)
                for k, g in backprop.items()}


def perturbed(values: dict, key: str) -> dict:
    """A copy of ``values`` with one element of ``values[key]`` moved by 1e-3 (||v|| + 1)
    (``scratch.intermediates.bump``, which moves the per-layer quantities the same way).

    The negative control: a deliberately wrong quantity that the comparison must report.
    """
    values = dict(values)
    values[key] = np.array(values[key], dtype=np.float64, copy=True)
    bump(values[key])
    return values


def named(output, loss, grads, n_layers) -> dict:
    return {"output": output, "loss": loss, **dict(zip(weight_names(n_layers, "d"), grads))}


def run_case(config: Config, model, net, twin, init_mode: str, dtype: str, X, Y) -> dict:
    """One case: Keras's weights into scratch, then both sides and finite differences compared."""
    n_layers = len(config.layers) - 1
    model.set_weights(keras_ref.initial_weights(config.layers, init_mode, config.seed, dtype))
    keras_to_scratch(model, net)
    if config.perturb in weight_names(n_layers):
        weights = dict(zip(weight_names(n_layers), net.get_weights()))
        net.set_weights(list(perturbed(weights, config.perturb).values()))

    k_out, k_loss, k_grads = keras_ref.output_loss_and_gradients(model, X, Y)
    s_loss, s_grads = net.loss_and_gradients(X, Y)
    magnitudes = dict(zip(weight_names(n_layers, "d"), net.gradient_magnitudes(Y)))
    keras_side = named(k_out, k_loss, k_grads, n_layers)
    scratch_side = named(net.predict(X), s_loss, s_grads, n_layers)

    if twin is not net:
        twin.set_weights(net.get_weights())
    twin_cost, twin_grads = twin.loss_and_gradients(X, Y)
    backprop = dict(zip(weight_names(n_layers, "d"), twin_grads))
    if config.perturb in scratch_side:
        scratch_side = perturbed(scratch_side, config.perturb)
        if config.perturb in backprop:
            backprop = perturbed(backprop, config.perturb)
    fd_grads, kinks = central_differences(twin, X, Y, config.fd_step)
    names = weight_names(n_layers, "d")
    # entries whose stencil straddles a ReLU kink have no derivative to check: left out
    fd = {k: np.where(kink, 0.0, g) for k, g, kink in zip(names, fd_grads, kinks)}
    backprop = {k: np.where(kink, 0.0, backprop[k]) for k, kink in zip(names, kinks)}

    quantities = compare_named(keras_side, scratch_side, config.tolerance(dtype), magnitudes)
    finite = compare_named(fd, backprop, config.fd_tolerances(backprop, fd, twin_cost))
    for k, kink in zip(names, kinks):
        finite[k]["kink_entries"] = int(kink.sum())
    by_layer = layer_by_layer_diagnosis(config, model, net, X, Y, dtype)
    return {
        "init_mode": init_mode,
        "activation": net.activations[0].name if n_layers > 1 else "-",
        "dtype": dtype,
        "tolerance": config.tolerance(dtype),
        "passed": not failures(quantities) and not failures(finite) and by_layer["first_divergence"] is None,
        "quantities": quantities,
        "finite_differences": finite,
        "layers": by_layer["rows"],
        "first_divergence": by_layer["first_divergence"],
        "_values": by_layer["values"],  # for the HTML page; not in the JSON
    }


def layer_by_layer_diagnosis(config: Config, model, net, X, Y, dtype: str) -> dict:
    """Every Z, A, dA, dZ and gradient of both sides, layer by layer, and the first that diverges
    (``compare.diagnosis``).  ``--perturb`` of a per-layer quantity moves it inside the twin's pass."""
    n_layers = len(config.layers) - 1
    perturb = None if config.perturb in weight_names(n_layers) else {"output": f"A{n_layers}"}.get(
        config.perturb, config.perturb)
    return diagnose(model, net, X, Y, config.tolerance(dtype), perturb)


def run(config: Config) -> list[dict]:
    """Every case of the matrix, one Keras model (one trace) per hidden activation and dtype."""
    X32, Y32 = make_batch(config.layers, config.loss, config.batch_size, config.seed)
    results = []
    for dtype in config.dtypes:
        X, Y = X32.astype(dtype), Y32.astype(dtype)
        for activation in config.activations:
            spec = dict(hidden_activation=activation, output_activation=config.output_activation,
                        loss=config.loss, l2=config.l2)
            model = keras_ref.build_model(config.layers, seed=config.seed, dtype=dtype, **spec)
            net = scratch.Network(config.layers, dtype=dtype, keras_compat=config.keras_compat, **spec)
            twin = net if dtype == "float64" else scratch.Network(
                config.layers, dtype="float64", keras_compat=config.keras_compat, **spec)
            for init_mode in config.init_modes:
                results.append(run_case(config, model, net, twin, init_mode, dtype, X, Y))
    order = {name: i for i, name in enumerate(config.init_modes)}
    act_order = {name: i for i, name in enumerate(config.activations)}
    return sorted(results, key=lambda r: (order[r["init_mode"]], act_order.get(r["activation"], 0), r["dtype"]))


def render(results: list[dict]) -> str:
    table = Table(["init_mode", "activation", "dtype", "output", "loss", "worst grad", "fin. diff", "verdict"])
    for r in results:
        q = r["quantities"]
        grads = {k: e for k, e in q.items() if k.startswith("d")}
        worst = max(grads, key=lambda k: grads[k]["rel_diff"])
        fd_worst = max(e["rel_diff"] for e in r["finite_differences"].values())
        kinks = sum(e["kink_entries"] for e in r["finite_differences"].values())
        table.add(r["init_mode"], r["activation"], r["dtype"],
                  f"{q['output']['rel_diff']:.1e}", f"{q['loss']['rel_diff']:.1e}",
                  f"{grads[worst]['rel_diff']:.1e} {worst}",
                  f"{fd_worst:.1e}" + (f" ({kinks} at kinks)" if kinks else ""),
                  "ok" if r["passed"] else "FAIL")
    return table.render()


def describe_tolerance(config: Config) -> str:
    n = tolerances.network_terms(config.layers, config.batch_size, config.l2 > 0)
    derived = config.tol_float64 is None and config.tol_float32 is None
    return ((f"{n} eps: " if derived else "")
            + f"{config.tolerance('float64'):.1e} in float64, {config.tolerance('float32'):.1e} in float32")


def describe_fd_tolerance(config: Config) -> str:
    if config.fd_tol is not None:
        return f"{config.fd_tol:g}"
    return f"sqrt(size) (h^2 + N eps |J| / h) / norm, h = {config.fd_step:g}"


def describe_failures(results: list[dict]) -> list[str]:
    lines = []
    for r in results:
        case = f"{r['init_mode']}/{r['activation']}/{r['dtype']}"
        for key in failures(r["quantities"]):
            lines.append(f"FAIL {case} " + describe_failure(key, r["quantities"][key], "scratch vs keras"))
        for key in failures(r["finite_differences"]):
            lines.append(f"FAIL {case} " + describe_failure(key, r["finite_differences"][key],
                                                          "backprop vs finite differences"))
        if r["first_divergence"] is not None:
            lines.append(f"FIRST DIVERGENCE {case}: " + describe_divergence(r["first_divergence"]))
    return lines


def write_html(path: str, config: Config, results: list[dict], passed: int, device_name: str, info: dict) -> None:
    """The page: verdict, network, every case in a table, then each case layer by layer.  The
    first failing case (else the first case) shows both sides' values and a plot of its errors."""
    from compare import html
    detail = next((r for r in results if not r["passed"]), results[0])
    name = lambda r: f"{r['init_mode']}/{r['activation']}/{r['dtype']}"  # noqa: E731
    n_layers = len(config.layers) - 1
    body = [html.verdict(passed == len(results), f"{passed}/{len(results)} cases agree"),
            f"<p>{html.esc(describe_quirks(config.keras_compat))}; loss {html.esc(config.loss)}, batch "
            f"{config.batch_size}, seed {config.seed}; device {html.esc(device_name)}, TensorFlow "
            f"{html.esc(info['tensorflow'])}, Keras {html.esc(info['keras'])}"
            + (f"; perturbed {html.esc(config.perturb)}" if config.perturb else "") + "</p>",
            html.network(config.layers, ["hidden"] * (n_layers - 1) + [config.output_activation]),
            "<h2>Every case</h2><table><tr><th>case</th><th>output</th><th>loss</th><th>worst grad</th>"
            "<th>finite differences</th><th>first divergence</th><th>verdict</th></tr>"]
    for r in results:
        q = r["quantities"]
        worst = max((k for k in q if k.startswith("d")), key=lambda k: q[k]["rel_diff"])
        fd = max(r["finite_differences"].values(), key=lambda e: e["rel_diff"])["rel_diff"]
        first = r["first_divergence"]
        body.append(f'<tr class="{"" if r["passed"] else "bad"}"><td><a href="#{name(r)}">{name(r)}</a></td>'
                    f"<td>{q['output']['rel_diff']:.1e}</td><td>{q['loss']['rel_diff']:.1e}</td>"
                    f"<td>{q[worst]['rel_diff']:.1e} {worst}</td><td>{fd:.1e}</td>"
                    f"<td>{html.esc(first['quantity'] if first else '-')}</td>"
                    f"<td>{'ok' if r['passed'] else 'FAIL'}</td></tr>")
    body.append("</table>")
    for r in results:
        is_detail = r is detail
        body.append(f'<details id="{name(r)}"{" open" if is_detail or not r["passed"] else ""}>'
                    f"<summary><b>{name(r)}</b>: {'ok' if r['passed'] else 'FAIL'}</summary>")
        body.append(html.hint(r["first_divergence"]))
        if is_detail:
            body.append(html.error_plot(r["layers"]))
        body.append(html.layer_table(r["layers"], r["first_divergence"], r["_values"] if is_detail else None))
        body.append("<p>Backprop against central finite differences (float64):</p><table><tr><th>gradient</th>"
                    "<th>rel diff</th><th>tolerance</th><th>entries at kinks, left out</th><th>verdict</th></tr>")
        for k, e in r["finite_differences"].items():
            body.append(f"<tr><td>{k}</td><td>{e['rel_diff']:.1e}</td><td>{e.get('tolerance', 0):.1e}</td>"
                        f"<td>{e.get('kink_entries', 0)}</td><td>{'ok' if e['passed'] else 'FAIL'}</td></tr>")
        body.append("</table></details>")
    html.write(path, f"{PROG}: {'-'.join(map(str, config.layers))} network", "".join(body))


# --- command line ------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    d = Config()
    p = command_parser(PROG, __doc__)
    p.add_argument("--layers", type=list_of("layer size", convert=int, noun="integer", repeats=True), default=d.layers,
                   help="layer sizes, inputs first, e.g. 4,6,1 (the lecture's network)")
    p.add_argument("--activations", type=list_of("activation", keras_ref.HIDDEN_ACTIVATIONS),
                   default=d.activations, help="hidden activations to test, or 'all'")
    p.add_argument("--init-modes", type=list_of("init mode", keras_ref.INIT_MODES),
                   default=d.init_modes, help="Keras init modes to test, or 'all'")
    p.add_argument("--dtypes", type=list_of("dtype", keras_ref.DTYPES), default=d.dtypes)
    p.add_argument("--output-activation", choices=keras_ref.OUTPUT_ACTIVATIONS, default=d.output_activation)
    p.add_argument("--loss", choices=keras_ref.LOSSES, default=d.loss)
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="examples in the fixed batch")
    p.add_argument("--l2", type=float, default=d.l2,
                   help="Keras's L2 factor on every kernel (the lecture's lambda / (2 m))")
    p.add_argument("--seed", type=count, default=d.seed, help="seed of the batch and of Keras's initializers")
    p.add_argument("--tol-float32", type=positive_float, default=d.tol_float32,
                   help="largest relative difference allowed in float32 (default: N eps, N the roundings "
                        "along the network's longest path, see scratch/tolerances.py)")
    p.add_argument("--tol-float64", type=positive_float, default=d.tol_float64,
                   help="largest relative difference allowed in float64 (default: N eps, as for float32)")
    p.add_argument("--fd-tol", type=positive_float, default=d.fd_tol,
                   help="largest relative difference between backprop and finite differences "
                        "(default: per tensor, sqrt(size) (h^2 + eps / h) / its norm)")
    p.add_argument("--fd-step", type=positive_float, default=d.fd_step, help="finite-difference step h")
    add_device_arguments(p)
    add_compat_arguments(p)
    p.add_argument("--perturb", metavar="KEY", default=None,
                   help="negative control: move one element of this scratch quantity (output, loss, "
                        "dW1, db1, ...), per-layer quantity (Z1, A1, dA1, dZ1, ...) or weight (W1, b1, ...); "
                        "the run must then fail, naming it as the first divergence")
    add_output_arguments(p, detail="print every case's per-layer table: each Z, A, dA, dZ and gradient, both sides",
                         html="the network, every case, and layer by layer the equations beside both sides' values")
    return p


def layer_quantities(config: Config) -> list[str]:
    """The names of the per-layer quantities of this network's pass (Z1, A1, ..., dZ1, dW1, ...),
    from a twin's pass on a batch of two: no TensorFlow needed."""
    from scratch.intermediates import layer_by_layer as twin_pass
    net = scratch.Network(config.layers, hidden_activation=config.activations[0],
                          output_activation=config.output_activation, loss=config.loss, dtype="float64")
    X, Y = make_batch(config.layers, config.loss, 2, 0)
    return [name for name in twin_pass(net, X, Y).values if not name.startswith(("xhat", "mask"))]


def prepare(args, parser) -> Config:
    config = Config(**config_from(args, Config))
    if config.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {config.batch_size}")
    n_layers = len(config.layers) - 1
    scratch.network.check_l2(config.l2)
    # the network itself (sizes, activations, loss), refused here by the twin, which needs no TensorFlow
    perturbable = ["output", "loss"] + weight_names(n_layers, "d") + weight_names(n_layers)
    perturbable += [name for name in layer_quantities(config) if name not in perturbable]
    if config.perturb is not None and config.perturb not in perturbable:
        parser.error(f"unknown --perturb {config.perturb!r}; valid: {', '.join(perturbable)}")
    return config


def execute(config: Config, args, device_name: str) -> Outcome:
    started = time.perf_counter()  # after TensorFlow's import
    results = run(config)
    elapsed = time.perf_counter() - started
    passed = sum(r["passed"] for r in results)
    info = versions()
    lines = [f"{PROG}: {'-'.join(map(str, config.layers))} network, output {config.output_activation}, "
             f"loss {config.loss}, batch {config.batch_size}, l2 {config.l2}, seed {config.seed}, "
             f"{describe_quirks(config.keras_compat)}" + (f", perturbed {config.perturb}" if config.perturb else ""),
             f"device {device_name}, TensorFlow {info['tensorflow']}, Keras {info['keras']}, "
             f"{len(results)} cases in {elapsed:.1f} s ({time.perf_counter() - compare.STARTED:.1f} s wall "
             f"with TensorFlow's import)",
             render(results)]
    if args.detail:
        for r in results:
            lines += [f"\n{r['init_mode']}/{r['activation']}/{r['dtype']}, layer by layer (twin vs keras):",
                      render_layers(r["layers"], r["first_divergence"])]
    lines += describe_failures(results)
    lines.append(f"{passed}/{len(results)} cases agree (relative difference <= {describe_tolerance(config)}; "
                 f"backprop vs finite differences <= {describe_fd_tolerance(config)})")
    return Outcome(passed == len(results), config, lines, {"cases": results},
                   lambda path: write_html(path, config, results, passed, device_name, info))


def main(argv=None) -> int:
    return run_command(PROG, build_parser, argv, execute, prepare)


if __name__ == "__main__":
    sys.exit(main())
