"""python -m compare.training: whole training runs, scratch vs Keras, step by step.

Part 1 (steps): for each optimizer x batch size x dtype, both sides start from Keras's
weights and take the same steps on the same batches (Keras through ``train_on_batch``,
which runs ``fit``'s own train step).  After every step the loss, every weight tensor and
every optimizer slot are compared; the report gives the worst relative difference over the
run and the first step, if any, at which a quantity drifts past tolerance.

Part 2 (real data): ``scratch.fit`` and ``model.fit`` train on data sets that ship with
scikit-learn (breast cancer with a sigmoid output, iris with the lecture's three-class
softmax), epoch by epoch on the same shuffled batches.  Their histories, final weights and
accuracies are compared.

Exit 0 when everything agrees, 1 when anything does not, 2 on bad input.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np

import keras_ref
import scratch
from scratch import tolerances
from compare.cli import (
    command_parser, add_compat_arguments, add_output_arguments, describe_quirks, list_of,
    add_device_arguments, config_from, count, positive_float, positive_int,
)
from compare.cases import fit_on_scratch_batches
from compare.core import NOISE_FACTOR, Drift, Outcome, compare_named, run_command
from compare.report import Table, versions, weight_names
from compare.transfer import keras_to_scratch
from compare.twin import KERAS_SLOTS, OPTIMIZERS as TWIN_OPTIMIZERS
from keras_ref import datasets, quiet
from scratch.training import batch_indices

PROG = "compare.training"
PERTURBATION = 1e-3

#: Optimizer settings by name: the same keywords on both sides (Keras's spelling).
OPTIMIZERS = {
    "sgd": ("sgd", {"learning_rate": 0.01}),
    "sgd_momentum": ("sgd", {"learning_rate": 0.01, "momentum": 0.9}),
    "sgd_nesterov": ("sgd", {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}),
    "rmsprop": ("rmsprop", {"learning_rate": 0.001}),
    "rmsprop_centered": ("rmsprop", {"learning_rate": 0.001, "momentum": 0.5, "centered": True}),
    "adam": ("adam", {"learning_rate": 0.001}),
    "adam_amsgrad": ("adam", {"learning_rate": 0.001, "amsgrad": True}),
    "adamw": ("adamw", {"learning_rate": 0.001, "weight_decay": 0.004}),
    "adagrad": ("adagrad", {"learning_rate": 0.01}),
    "sgd_clipnorm": ("sgd", {"learning_rate": 0.01, "momentum": 0.9, "clipnorm": 0.1}),  # clips W2, b2 (W1, b1 at batch 1)
}
#: The Keras class of each kind, in ``keras.optimizers`` (the twin's map, read the other way).
KERAS_OPTIMIZERS = {kind: class_name for class_name, kind in TWIN_OPTIMIZERS.items()}


@dataclass(frozen=True)
class Config:
    layers: tuple[int, ...] = (4, 6, 1)
    hidden_activation: str = "sigmoid"
    init_mode: str = "glorot_uniform"
    optimizers: tuple[str, ...] = ("sgd", "sgd_momentum", "rmsprop", "adam")
    batch_sizes: tuple[int, ...] = (1, 16, 64)
    examples: int = 64
    steps: int = 200
    dtypes: tuple[str, ...] = ("float32", "float64")
    learning_rate: float | None = None
    l2: float = 0.0
    seed: int = 0
    tol_float32: float | None = None  # None: scratch.tolerances.training, growing with the steps
    tol_float64: float | None = None
    datasets: tuple[str, ...] = ("breast_cancer", "iris")
    epochs: int = 20
    fit_batch_size: int = 32
    fit_optimizer: str = "adam"
    keras_compat: frozenset = frozenset(scratch.keras_compat.QUIRKS)
    perturb_step: int | None = None

    def tolerance(self, dtype: str, layers, batch_size: int, steps: int) -> float:
        """The flag's value, else sqrt(k) N eps after k steps of this network and batch size
        (``scratch.tolerances.training``)."""
        given = self.tol_float64 if dtype == "float64" else self.tol_float32
        return given if given is not None else tolerances.training(dtype, layers, batch_size, steps, self.l2 > 0)


def make_optimizers(name: str, learning_rate: float | None):
    """(scratch optimizer, Keras optimizer) with identical settings."""
    kind, kwargs = OPTIMIZERS[name]
    if learning_rate is not None:
        kwargs = kwargs | {"learning_rate": learning_rate}
    keras_optimizer = getattr(quiet.keras().optimizers, KERAS_OPTIMIZERS[kind])
    return scratch.optimizers.OPTIMIZERS[kind](**kwargs), keras_optimizer(**kwargs)


def keras_slots(optimizer, kind: str, n_params: int) -> dict[str, list[np.ndarray]]:
    """Keras's optimizer slots under the scratch names, ``{kind: [one array per parameter]}``."""
    out = {}
    for name, attribute in KERAS_SLOTS[kind].items():
        variables = getattr(optimizer, attribute, None)
        if variables and len(variables) == n_params:
            out[name] = [np.asarray(v) for v in variables]
    return out


def slot_views(net: scratch.Network, optimizer) -> dict[str, list[np.ndarray]]:
    """A scratch optimizer's slots per parameter: it keeps one flat slot for the network's flat buffer."""
    return {kind: net.unflatten(flat) for kind, (flat,) in optimizer.slots.items()}


def hidden_spread(weights: list[np.ndarray]) -> float:
    """Largest difference between two units of one hidden layer, relative to the layer's largest
    parameter: max_j |column_j - column_0| / max |Theta_l|.

    Zero init keeps the units identical up to rounding: they see the same sums, which BLAS
    kernels may add up in other orders for other columns.  See ``tolerances.symmetry``.
    """
    spread = 0.0
    for W, b in zip(weights[0:-2:2], weights[1:-2:2]):
        units = np.vstack([W, b[None, :]])
        scale = float(np.abs(units).max())
        if not np.isfinite(scale):  # a diverged run
            return float("nan")
        if scale > 0:
            spread = max(spread, float(np.abs(units - units[:, :1]).max()) / scale)
    return spread


def layer_parameters(arrays: list[np.ndarray], n_layers: int) -> dict[str, np.ndarray]:
    """``{"Theta1": [W1 rows; b1], ...}``: each layer's kernel and bias as one matrix, the lecture's Theta(l).

    The drift is judged per layer, not per tensor: a one-unit bias whose value passes near 0
    makes its own relative difference meaningless (in float32, 1e-8 apart reads as 1e-3).
    """
    return {f"Theta{l + 1}": np.vstack([arrays[2 * l], arrays[2 * l + 1][None, :]]) for l in range(n_layers)}


def named_state(weights, slots, loss, n_layers) -> dict:
    state = {"loss": loss, **layer_parameters(weights, n_layers)}
    for kind, arrays in slots.items():
        state |= {f"{kind}/{k}": a for k, a in layer_parameters(arrays, n_layers).items()}
    return state


def run_steps_case(config: Config, model, name: str, batch_size: int, dtype: str, X, Y) -> dict:
    """Both sides take ``config.steps`` steps on the same batches; compared after each."""
    n_layers = len(config.layers) - 1
    kind = OPTIMIZERS[name][0]
    s_opt, k_opt = make_optimizers(name, config.learning_rate)
    keras_ref.compile_model(model, "binary_crossentropy", dtype, optimizer=k_opt, metrics=())
    model.set_weights(keras_ref.initial_weights(config.layers, config.init_mode, config.seed, dtype))
    net = scratch.Network(config.layers, hidden_activation=config.hidden_activation, l2=config.l2,
                          dtype=dtype, keras_compat=config.keras_compat)
    keras_to_scratch(model, net)
    twin = twin_opt = None
    if dtype == "float32":  # float32's own rounding of this run, measured against float64
        twin = scratch.Network(config.layers, hidden_activation=config.hidden_activation, l2=config.l2,
                               dtype="float64", keras_compat=config.keras_compat)
        twin.set_weights(net.get_weights())
        twin_opt = make_optimizers(name, config.learning_rate)[0]
    rng = np.random.default_rng(config.seed)
    drift = Drift(lambda k: config.tolerance(dtype, config.layers, batch_size, k))
    step, error, noise = 0, None, None
    while step < config.steps and error is None:
        for idx in batch_indices(len(X), batch_size, True, rng):
            step += 1
            k_loss = float(np.asarray(model.train_on_batch(X[idx], Y[idx])))
            try:
                s_loss = net.train_on_batch(X[idx], Y[idx], s_opt)
                t_loss = twin.train_on_batch(X[idx], Y[idx], twin_opt) if twin else None
            except FloatingPointError as e:
                error = f"scratch: {e}"
                break
            if step == config.perturb_step:  # the negative control: one wrong update on the scratch side
                nudge = PERTURBATION * (np.linalg.norm(net.W[0]) + 1)
                for side in (net, twin) if twin else (net,):
                    side.W[0].flat[0] += nudge
            scratch_state = named_state(net.get_weights(), slot_views(net, s_opt), s_loss, n_layers)
            if twin:  # the largest float32-vs-float64 difference of each quantity so far
                twin_state = named_state(twin.get_weights(), slot_views(twin, twin_opt), t_loss, n_layers)
                noise = {k: max(noise.get(k, 0.0) if noise else 0.0,
                                float(np.linalg.norm(np.asarray(scratch_state[k], float) - twin_state[k])))
                         for k in scratch_state}
            drift.update(step,
                         named_state(model.get_weights(), keras_slots(k_opt, kind, 2 * n_layers), k_loss, n_layers),
                         scratch_state, noise)
            if step == config.steps:
                break
    result = drift.report() | {
        "optimizer": name, "batch_size": batch_size, "dtype": dtype, "steps": step,
        "tolerance": drift.tol(step), "error": error,
        "hidden_spread": {"keras": hidden_spread(model.get_weights()), "scratch": hidden_spread(net.get_weights()),
                          "bound": tolerances.symmetry(dtype, step)},
    }
    result["passed"] = result["passed"] and error is None
    return result


def run_fit_case(config: Config, split: datasets.Split, dtype: str, hidden: int = 16) -> dict:
    """``scratch.fit`` and ``model.fit``, epoch by epoch on the same shuffled batches."""
    layers = [split.n_features, hidden, split.n_outputs]
    spec = dict(hidden_activation="relu", output_activation=split.output_activation, loss=split.loss, l2=config.l2)
    model = keras_ref.build_model(layers, init_mode=config.init_mode, seed=config.seed, dtype=dtype, **spec)
    s_opt, k_opt = make_optimizers(config.fit_optimizer, config.learning_rate)
    keras_ref.compile_model(model, split.loss, dtype, optimizer=k_opt)
    net = scratch.Network(layers, dtype=dtype, keras_compat=config.keras_compat, **spec)
    keras_to_scratch(model, net)
    X, Y = split.X_train.astype(dtype), split.y_train.astype(dtype)
    X_val, Y_val = split.X_val.astype(dtype), split.y_val.astype(dtype)

    batch_size = min(config.fit_batch_size, len(X))
    error = None
    try:
        s_hist = scratch.fit(net, X, Y, epochs=config.epochs, batch_size=batch_size, optimizer=s_opt,
                             seed=config.seed, validation_data=(X_val, Y_val), verbose=0)
    except FloatingPointError as e:
        s_hist, error = {}, f"scratch: {e}"
    k_hist = {} if error is not None else fit_on_scratch_batches(  # the same permutations scratch.fit drew
        model, X, Y, config.epochs, batch_size, config.seed, (X_val, Y_val))

    # every step of every epoch, and sums as long as the longer of a batch and the validation set
    steps = config.epochs * -(-len(X) // batch_size)
    tol = config.tolerance(dtype, layers, max(batch_size, len(X_val)), steps)
    n_layers = len(layers) - 1
    compared = {}
    if error is None:
        keras_side = {"loss": k_hist["loss"], "val_loss": k_hist["val_loss"],
                      **dict(zip(weight_names(n_layers), model.get_weights()))}
        scratch_side = {"loss": s_hist["loss"], "val_loss": s_hist["val_loss"],
                        **dict(zip(weight_names(n_layers), net.get_weights()))}
        compared = compare_named(keras_side, scratch_side, tol)
    accuracy = {}
    if error is None:
        for side, hist in (("keras", k_hist), ("scratch", s_hist)):
            accuracy[side] = {"train": hist["accuracy"][-1], "val": hist["val_accuracy"][-1]}
    return {
        "dataset": split.name, "dtype": dtype, "layers": layers, "epochs": config.epochs,
        "batch_size": batch_size, "optimizer": config.fit_optimizer, "tolerance": tol, "error": error,
        "compared": compared, "accuracy": accuracy,
        "passed": error is None and all(e["passed"] for e in compared.values()),
    }


def describe_tolerance(config: Config) -> str:
    parts = [f"{given:g} in {dtype}" if given is not None else f"sqrt(k) N eps in {dtype}"
             for dtype, given in (("float64", config.tol_float64), ("float32", config.tol_float32))]
    return ", ".join(parts) + f" (float32 steps also pass within {NOISE_FACTOR:g}x float32's own rounding)"


def run(config: Config, progress=print) -> tuple[list[dict], list[dict]]:
    X32, Y32 = _batch(config)
    steps = []
    for dtype in config.dtypes:
        X, Y = X32.astype(dtype), Y32.astype(dtype)
        model = keras_ref.build_model(config.layers, hidden_activation=config.hidden_activation,
                                      l2=config.l2, seed=config.seed, dtype=dtype)
        for name in config.optimizers:
            for batch_size in config.batch_sizes:
                steps.append(run_steps_case(config, model, name, batch_size, dtype, X, Y))
                progress(f"  steps {len(steps)}/{len(config.dtypes) * len(config.optimizers) * len(config.batch_sizes)}"
                         f": {name}, batch {batch_size}, {dtype}")
    fits = []
    for name in config.datasets:
        split = datasets.load(name, seed=config.seed)
        for dtype in config.dtypes:
            fits.append(run_fit_case(config, split, dtype))
            progress(f"  fit {len(fits)}/{len(config.datasets) * len(config.dtypes)}: {name}, {dtype}")
    return steps, fits


def _batch(config: Config):
    from compare.cases import make_batch
    return make_batch(config.layers, "binary_crossentropy", config.examples, config.seed)


def render_steps(results: list[dict]) -> str:
    table = Table(["optimizer", "batch", "dtype", "steps", "loss", "worst weight", "worst slot",
                   "first drift", "unit spread k/s", "verdict"])
    for r in results:
        w = {k: e for k, e in r["worst"].items() if "/" not in k and k != "loss"}
        s = {k: e for k, e in r["worst"].items() if "/" in k}
        worst_w = max(w, key=lambda k: w[k]["drift"]) if w else None
        worst_s = max(s, key=lambda k: s[k]["drift"]) if s else None
        table.add(r["optimizer"], r["batch_size"], r["dtype"], r["steps"],
                  f"{r['worst']['loss']['drift']:.1e}" if "loss" in r["worst"] else "-",
                  f"{w[worst_w]['drift']:.1e} {worst_w}" if worst_w else "-",
                  f"{s[worst_s]['drift']:.1e} {worst_s}" if worst_s else "-",
                  "-" if r["first_drift_step"] is None else f"step {r['first_drift_step']} {','.join(r['first_drift_keys'])}",
                  f"{r['hidden_spread']['keras']:.1e}/{r['hidden_spread']['scratch']:.1e}",
                  "ok" if r["passed"] else "FAIL")
    return table.render()


def render_fits(results: list[dict]) -> str:
    table = Table(["data set", "layers", "dtype", "epochs", "loss curve", "val_loss", "worst weight",
                   "val acc keras/scratch", "verdict"])
    for r in results:
        c = r["compared"]
        w = {k: e for k, e in c.items() if k not in ("loss", "val_loss")}
        worst = max(w, key=lambda k: w[k]["rel_diff"]) if w else None
        acc = r["accuracy"]
        table.add(r["dataset"], "-".join(map(str, r["layers"])), r["dtype"], r["epochs"],
                  f"{c['loss']['rel_diff']:.1e}" if c else "-", f"{c['val_loss']['rel_diff']:.1e}" if c else "-",
                  f"{w[worst]['rel_diff']:.1e} {worst}" if worst else "-",
                  f"{acc['keras']['val']:.3f}/{acc['scratch']['val']:.3f}" if acc else "-",
                  "ok" if r["passed"] else "FAIL")
    return table.render()


# --- command line ------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    d = Config()
    p = command_parser(PROG, __doc__)
    p.add_argument("--layers", type=list_of("layer size", convert=int, noun="integer", repeats=True), default=d.layers,
                   help="layer sizes of the step-by-step network (sigmoid output, binary cross-entropy)")
    p.add_argument("--hidden-activation", choices=keras_ref.HIDDEN_ACTIVATIONS, default=d.hidden_activation)
    p.add_argument("--init-mode", choices=keras_ref.INIT_MODES, default=d.init_mode,
                   help="Keras init mode of every run; 'zero' shows that hidden units stay identical")
    p.add_argument("--optimizers", type=list_of("optimizer", tuple(OPTIMIZERS)), default=d.optimizers,
                   help=f"optimizers to compare, or 'all' ({', '.join(OPTIMIZERS)})")
    p.add_argument("--batch-sizes", type=list_of("batch size", convert=int, noun="integer"), default=d.batch_sizes,
                   help="mini-batch sizes: 1 is stochastic, --examples is full-batch gradient descent")
    p.add_argument("--examples", type=positive_int, default=d.examples, help="examples in the fixed data set")
    p.add_argument("--steps", type=count, default=d.steps, help="optimizer steps per case")
    p.add_argument("--dtypes", type=list_of("dtype", keras_ref.DTYPES), default=d.dtypes)
    p.add_argument("--learning-rate", type=positive_float, default=None,
                   help="override every optimizer's learning rate (default: Keras's, 0.01 for SGD)")
    p.add_argument("--l2", type=float, default=d.l2, help="Keras's L2 factor on every kernel")
    p.add_argument("--seed", type=count, default=d.seed, help="seed of the data, the shuffles and the initializers")
    p.add_argument("--tol-float32", type=positive_float, default=d.tol_float32,
                   help="largest relative difference allowed in float32 (default: sqrt(k) N eps after k steps, "
                        "N the roundings along the network's longest path, see scratch/tolerances.py)")
    p.add_argument("--tol-float64", type=positive_float, default=d.tol_float64,
                   help="largest relative difference allowed in float64 (default: as for float32)")
    p.add_argument("--datasets", type=list_of("data set", tuple(datasets.DATASETS) + ("none",)),
                   default=d.datasets, help="real data sets for whole fit runs, or 'none'")
    p.add_argument("--epochs", type=count, default=d.epochs, help="epochs of each real-data fit")
    p.add_argument("--fit-batch-size", type=positive_int, default=d.fit_batch_size)
    p.add_argument("--fit-optimizer", choices=tuple(OPTIMIZERS), default=d.fit_optimizer)
    p.add_argument("--perturb-step", type=positive_int, default=None, metavar="N",
                   help="negative control: scratch's weights are nudged after step N; the run must "
                        "report a drift at step N")
    add_device_arguments(p)
    add_compat_arguments(p)
    add_output_arguments(p)
    return p


def prepare(args, parser) -> Config:
    if "none" in args.datasets and args.datasets != ("none",):
        parser.error("--datasets none cannot be combined with data set names")
    config = Config(**config_from(args, Config, datasets=tuple(d for d in args.datasets if d != "none")))
    for b in config.batch_sizes:
        if not 1 <= b <= config.examples:
            parser.error(f"batch size {b} must be from 1 to --examples ({config.examples})")
    scratch.network.check_layer_sizes(config.layers)
    scratch.network.check_l2(config.l2)
    if config.layers[-1] != 1:
        raise ValueError(f"the step-by-step network has one sigmoid output; --layers ends in {config.layers[-1]}")
    return config


def execute(config: Config, args, device_name: str) -> Outcome:
    started = time.perf_counter()
    info = versions()
    # the header first, with the progress of a long run on stderr below it
    print(f"{PROG}: {'-'.join(map(str, config.layers))} network ({config.hidden_activation}), "
          f"init {config.init_mode}, {config.steps} steps on {config.examples} examples, "
          f"l2 {config.l2}, seed {config.seed}, {describe_quirks(config.keras_compat)}"
          + (f", perturbed after step {config.perturb_step}" if config.perturb_step else "")
          + f"\ndevice {device_name}, TensorFlow {info['tensorflow']}, Keras {info['keras']}", flush=True)
    steps, fits = run(config, progress=lambda line: print(line, file=sys.stderr, flush=True))
    cases = steps + fits
    passed = sum(r["passed"] for r in cases)
    lines = [render_steps(steps)]
    if fits:
        lines += ["", render_fits(fits)]
    for r in cases:
        if r["error"]:
            lines.append(f"FAIL {r.get('optimizer', r.get('dataset'))}/{r['dtype']}: {r['error']}")
    for r in steps:
        if r["first_drift_step"] is not None:
            key = r["first_drift_keys"][0]
            e = r["worst"][key]
            lines.append(f"FAIL {r['optimizer']}/batch {r['batch_size']}/{r['dtype']}: first drift at step "
                         f"{r['first_drift_step']} in {', '.join(r['first_drift_keys'])}; worst {key}: max abs "
                         f"{e['max_abs']:.3g}, drift {e['drift']:.3g} at step {e['step']} (scratch vs keras)")
    lines.append(f"{passed}/{len(cases)} runs agree (drift <= {describe_tolerance(config)}, "
                 f"after every step) in {time.perf_counter() - started:.1f} s")
    return Outcome(passed == len(cases), config, lines, {"steps": steps, "fits": fits})


def main(argv=None) -> int:
    return run_command(PROG, build_parser, argv, execute, prepare)


if __name__ == "__main__":
    sys.exit(main())
