"""python -m compare.signal: why initialisation matters, layer by layer, on both sides.

A deep dense network (10 hidden layers of 64 units by default) gets each init mode's
weights from Keras, and the scratch network a copy.  For each init mode x hidden activation,
one batch goes forward and back, and the standard deviation of every hidden layer's
activations A(l) and of every kernel's gradient dW(l) is measured on both sides; the two
must agree.  The table and a PNG show what the lecture claims: with ``zero`` and the small
fixed-scale modes the signal dies out with depth, He keeps it through ReLU, Glorot through
tanh.  Exit 0 when both sides agree everywhere, 1 when not, 2 on bad input.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

import compare  # starts the clock
import keras_ref
import scratch
from compare.cases import make_batch
from compare.cli import (
    command_parser, add_device_arguments, add_output_arguments, check_new_file, count, list_of, positive_float, positive_int,
)
from compare.core import Outcome, compare_named, run_command
from compare.report import Table
from compare.transfer import keras_to_scratch
from keras_ref import quiet
from scratch import tolerances

PROG = "compare.signal"


@dataclass(frozen=True)
class Config:
    depth: int = 10
    width: int = 64
    inputs: int = 64
    batch_size: int = 256
    init_modes: tuple[str, ...] = keras_ref.INIT_MODES
    activations: tuple[str, ...] = ("sigmoid", "tanh", "relu", "leaky_relu")
    dtype: str = "float64"
    seed: int = 0
    tol: float | None = None  # None: derived, see tolerance()

    @property
    def layers(self) -> list[int]:
        return [self.inputs] + [self.width] * self.depth + [1]

    def tolerance(self) -> float:
        """``--tol``, else N eps: the network's roundings (``scratch.tolerances.network_terms``) plus
        log2(m width) for the std itself, which NumPy sums pairwise on both sides."""
        if self.tol is not None:
            return self.tol
        n = tolerances.network_terms(self.layers, self.batch_size) + math.ceil(math.log2(self.batch_size * self.width))
        return tolerances.sums(self.dtype, n)


def layer_stds(model, net, X, Y) -> dict[str, dict[str, list[float]]]:
    """Per hidden layer: std of A(l) and of dW(l), from Keras and from scratch."""
    keras = quiet.keras()
    hidden = keras.Model(model.inputs, [layer.output for layer in model.layers[1:-1]])
    k_acts = [np.asarray(a) for a in hidden(keras.ops.convert_to_tensor(X), training=False)]
    _, _, k_grads = keras_ref.output_loss_and_gradients(model, X, Y)
    _, caches = net.forward(X)
    s_grads = net.loss_and_gradients(X, Y)[1]
    return {
        "keras": {"activation_std": [float(a.std()) for a in k_acts],
                  "gradient_std": [float(g.std()) for g in k_grads[0:-2:2]]},
        "scratch": {"activation_std": [float(c["A"].std()) for c in caches[:-1]],
                    "gradient_std": [float(g.std()) for g in s_grads[0:-2:2]]},
    }


def run(config: Config) -> list[dict]:
    X, Y = make_batch(config.layers, "binary_crossentropy", config.batch_size, config.seed)
    X, Y = X.astype(config.dtype), Y.astype(config.dtype)
    results = []
    for activation in config.activations:
        model = keras_ref.build_model(config.layers, hidden_activation=activation, seed=config.seed,
                                      dtype=config.dtype)
        net = scratch.Network(config.layers, hidden_activation=activation, dtype=config.dtype)
        for init_mode in config.init_modes:
            model.set_weights(keras_ref.initial_weights(config.layers, init_mode, config.seed, config.dtype))
            keras_to_scratch(model, net)
            stds = layer_stds(model, net, X, Y)
            # judged layer by layer (max_rel): a deep layer's std is orders of magnitude below the first's
            agreement = compare_named(stds["keras"], stds["scratch"], config.tolerance(), measure="max_rel")
            results.append({"init_mode": init_mode, "activation": activation, **stds, "agreement": agreement,
                            "passed": all(e["passed"] for e in agreement.values())})
    return results


def render(results: list[dict], depth: int) -> str:
    mid = depth // 2
    table = Table(["init_mode", "activation", "std A1", f"std A{mid}", f"std A{depth}", "std dW1", f"std dW{mid}",
                   f"std dW{depth}", "A ratio last/first", "scratch vs keras", "verdict"])
    for r in results:
        a, g = r["scratch"]["activation_std"], r["scratch"]["gradient_std"]
        ratio = a[-1] / a[0] if a[0] > 0 else 0.0
        worst = max(e["max_rel"] for e in r["agreement"].values())
        table.add(r["init_mode"], r["activation"], f"{a[0]:.2e}", f"{a[mid - 1]:.2e}", f"{a[-1]:.2e}",
                  f"{g[0]:.2e}", f"{g[mid - 1]:.2e}", f"{g[-1]:.2e}", f"{ratio:.2e}", f"{worst:.1e}",
                  "ok" if r["passed"] else "FAIL")
    return table.render()


def plot(results: list[dict], config: Config, path: str) -> None:
    """Two rows of panels (activation std, gradient std) per hidden activation; one line per init mode."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    acts = list(config.activations)
    fig, axes = plt.subplots(2, len(acts), figsize=(4 * len(acts), 7), squeeze=False, sharex=True)
    layers = np.arange(1, config.depth + 1)
    for col, act in enumerate(acts):
        for r in (r for r in results if r["activation"] == act):
            for row, key in enumerate(("activation_std", "gradient_std")):
                values = np.maximum(np.array(r["scratch"][key]), 2e-12)  # log scale: 0 is drawn at the floor
                label = r["init_mode"] + (" (0, at the floor)" if not np.any(r["scratch"][key]) else "")
                axes[row][col].semilogy(layers, values, marker="o", markersize=3, label=label)
        axes[0][col].set_title(f"hidden {act}")
        axes[1][col].set_xlabel("hidden layer")
    axes[0][0].set_ylabel("std of activations A(l)")
    axes[1][0].set_ylabel("std of gradients dW(l)")
    for ax in axes.flat:
        ax.set_ylim(1e-12, 1e2)
        ax.grid(True, which="major", alpha=0.3)
    for col in range(len(acts)):
        axes[0][col].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"Signal through {config.depth} hidden layers of {config.width} units, by init mode "
                 f"(scratch; Keras agrees)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    d = Config()
    p = command_parser(PROG, __doc__)
    p.add_argument("--depth", type=positive_int, default=d.depth, help="hidden layers")
    p.add_argument("--width", type=positive_int, default=d.width, help="units per hidden layer")
    p.add_argument("--batch-size", type=positive_int, default=d.batch_size)
    p.add_argument("--init-modes", type=list_of("init mode", keras_ref.INIT_MODES), default=d.init_modes)
    p.add_argument("--activations", type=list_of("activation", keras_ref.HIDDEN_ACTIVATIONS), default=d.activations)
    p.add_argument("--dtype", choices=keras_ref.DTYPES, default=d.dtype)
    p.add_argument("--tol", type=positive_float, default=None,
                   help="largest relative difference between the two sides' stds (default: N eps, see Config.tolerance)")
    p.add_argument("--seed", type=count, default=d.seed)
    p.add_argument("--plot", metavar="PATH", default="signal.png", help="the PNG to write ('none' for no plot)")
    add_device_arguments(p)
    add_output_arguments(p)
    return p


def prepare(args, parser) -> tuple[Config, str | None]:
    """(config, the plot's path or None)."""
    plot_path = None if args.plot == "none" else args.plot
    if plot_path:
        check_new_file(plot_path, "--plot", args.overwrite, parser)
    return Config(depth=args.depth, width=args.width, batch_size=args.batch_size, init_modes=args.init_modes,
                  activations=args.activations, dtype=args.dtype, seed=args.seed, tol=args.tol), plot_path


def execute(prepared: tuple, args, device_name: str) -> Outcome:
    config, plot_path = prepared
    started = time.perf_counter()
    results = run(config)
    lines = [f"{PROG}: {config.depth} hidden layers of {config.width}, batch {config.batch_size}, {config.dtype}, "
             f"seed {config.seed}; device {device_name}", render(results, config.depth)]
    passed = sum(r["passed"] for r in results)
    if plot_path:
        plot(results, config, plot_path)
        lines.append(f"plot: {plot_path}")
    lines.append(f"{passed}/{len(results)} cases agree (relative error of every layer's std <= "
                 f"{config.tolerance():.1e}) in {time.perf_counter() - started:.1f} s")
    return Outcome(passed == len(results), config, lines, {"cases": results})


def main(argv=None) -> int:
    return run_command(PROG, build_parser, argv, execute, prepare)


if __name__ == "__main__":
    sys.exit(main())
