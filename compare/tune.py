"""python -m compare.tune: the init-mode sweep, with the NumPy twin as an engine (``--engine scratch``).

The same command as ``python -m keras_ref.tune``, with every flag (see it for the sweep, its
results and resuming), plus ``--engine scratch``: keras-tuner's oracle still drives the
sweep and Keras still draws each execution's initial weights (its model is built with the
execution's seed, as the Keras engine builds it), but ``scratch.fit`` trains it.  Once the
sweep is done, the best trial's first execution is trained again with Keras, on the batches
the twin took, and the two curves and final weights must agree at float32's tolerance for
that many steps (``scratch.tolerances.training``); if they do not, the command says so and
exits 1.  It also reports that execution's time on both sides.  Exit 0 when every trial
completed and the check agrees, 1 otherwise, 2 on bad input.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import scratch
from keras_ref import tune
from scratch import tolerances

MODULE = "compare.tune"


class ScratchEngine:
    """scratch.fit, the NumPy twin, from Keras's initial weights (compare.tune; checked against Keras at the end).

    Each execution's twin is the lecture's network with the model's weights (Keras's draws
    for the execution's seed) and Adam with the trial's learning rate, trained one epoch at
    a time on ``numpy.random.default_rng(seed)``'s permutations.  keras-tuner's callbacks
    get what a fit would give them: the curve recorder every epoch's logs, and the best-epoch
    checkpoint the twin's weights of its best epoch (written into the Keras model).
    """
    name = "scratch"
    trains_the_model = False  # keras-tuner's model gives the initial weights; its compile would be wasted

    @staticmethod
    def refuse(args) -> str | None:
        if args.oracle == "hyperband":
            return ("hyperband continues trials from Keras checkpoints with Adam's state, which the twin does not "
                    "carry over; use --oracle grid, random or bayesian")
        if args.tensorboard:
            return "the twin writes no TensorBoard logs; leave out --tensorboard"
        return None

    def twin(self, hypermodel, values: dict, model) -> tuple[scratch.Network, scratch.optimizers.Optimizer]:
        """The twin of one execution's model, and its optimizer."""
        from compare.transfer import keras_to_scratch
        data = hypermodel.data
        net = scratch.Network(hypermodel.layers(values),
                              hidden_activation=values["activation"], output_activation=data.output_activation,
                              loss=data.loss, dtype="float32")
        keras_to_scratch(model, net)
        return net, scratch.Adam(learning_rate=values["learning_rate"])

    def train(self, net, optimizer, x, y, batch_size: int, seed: int, epochs: int, validation_data,
              on_epoch=None) -> dict:
        """``epochs`` epochs of ``scratch.fit`` on one generator of ``seed``: the history, and
        ``on_epoch(epoch, logs)`` after each."""
        rng = np.random.default_rng(seed)
        history: dict[str, list[float]] = {}
        for epoch in range(epochs):
            h = scratch.fit(net, x, y, epochs=1, batch_size=batch_size, optimizer=optimizer, seed=rng,
                            validation_data=validation_data, verbose=0)
            for k, v in h.items():
                history.setdefault(k, []).extend(v)
            if on_epoch is not None:
                on_epoch(epoch, {k: v[-1] for k, v in h.items()})
        return history

    def fit(self, hypermodel, hp, model, x, y, *, batch_size, seed, epochs=1, validation_data=None, callbacks=(),
            **kwargs):
        from keras_ref.quiet import keras
        from keras_tuner.src.engine.tuner_utils import SaveBestEpoch
        k = keras()
        net, optimizer = self.twin(hypermodel, hypermodel.values(hp), model)
        listening = [c for c in callbacks if not isinstance(c, (SaveBestEpoch, k.callbacks.TensorBoard))]
        best = {"val_loss": np.inf}
        for c in listening:
            c.on_train_begin()

        def on_epoch(epoch, logs):
            for c in listening:
                c.on_epoch_end(epoch, logs)
            if logs["val_loss"] < best["val_loss"]:
                best.update(logs, epoch=epoch, weights=net.get_weights())

        history = self.train(net, optimizer, np.asarray(x), np.asarray(y), batch_size, seed, epochs,
                             validation_data, on_epoch)
        # keras-tuner's checkpoint of the trial's best epoch, as a fit would leave it; written
        # before the curve recorder records the execution as finished (a rerun reuses it then)
        for c in callbacks:
            if isinstance(c, SaveBestEpoch) and "weights" in best:
                model.set_weights(best["weights"])
                c.set_model(model)
                c.on_epoch_end(best["epoch"], {k: v for k, v in best.items() if k not in ("weights", "epoch")})
                c.on_train_end()
        for c in listening:
            c.on_train_end()
        result = k.callbacks.History()
        result.history = history
        return result

    def after(self, hypermodel, rows: list[dict], args) -> tuple[list[str], dict, bool]:
        """The parity check: the best trial's first execution, trained again by the twin and by
        Keras on the twin's batches, compared curve for curve and weight for weight."""
        best = next((r for r in rows if r["status"] == "COMPLETED" and r["best_val_loss"] is not None), None)
        if best is None:
            return ["parity check: no completed trial to check"], {"name": self.name, "parity": None}, False
        report = parity(self, hypermodel, best, args)
        report["plot"] = plot_parity(report, os.path.join(args.out, "parity.png"))
        verdict = "agrees" if report["passed"] else "DOES NOT AGREE"
        lines = [f"parity check: trial {best['trial_id']} ({tune.describe(best['hyperparameters'], hypermodel.space)}),"
                 f" execution 0 (seed {report['seed']}), {report['steps']} steps, trained again by Keras on the "
                 f"twin's batches: {verdict} (worst relative difference {report['worst']:.1e} in "
                 f"{report['worst_key']}, tolerance {report['tolerance']:.1e})",
                 f"this execution took Keras {report['keras_seconds']:.2f} s (model.fit on the twin's batches) and the twin "
                 f"{report['scratch_seconds']:.3f} s: {report['speedup']:.0f}x; {report['plot']}"]
        if not report["passed"]:
            lines.append(f"FAIL the scratch engine's results do not follow Keras: {', '.join(report['failed'])} "
                         "differ; its sweep cannot be trusted")
        return lines, {"name": self.name, "parity": report}, report["passed"]


def parity(engine: ScratchEngine, hypermodel, row: dict, args, recorded: dict | None = None) -> dict:
    """Trial ``row``'s execution 0 again: the twin, then Keras on its batches, from the same model.

    Compared (``compare.core.compare_named``): the twin's rerun against Keras, curve for curve
    (loss and val_loss, every epoch) and the final weights; and the curve the sweep recorded
    against the rerun, so that a recorded result that is not the twin's own is caught too.
    ``recorded`` replaces the sweep's record (a negative control passes a moved one).
    """
    from compare.cases import fit_on_scratch_batches
    from compare.core import compare_named
    from compare.report import weight_names
    from keras_ref.sweep import execution_seed
    data = hypermodel.data
    values = {name: row["hyperparameters"].get(name, hypermodel.space[name][0]) for name in hypermodel.space}
    seed = execution_seed(hypermodel.seed, 0)
    model = hypermodel.model(values, seed)
    X, Y = data.X_train.astype("float32"), data.y_train.astype("float32")
    validation = (data.X_val.astype("float32"), data.y_val.astype("float32"))
    batch_size = values["batch_size"]

    net, optimizer = engine.twin(hypermodel, values, model)
    started = time.perf_counter()
    twin_history = engine.train(net, optimizer, X, Y, batch_size, seed, args.epochs, validation)
    scratch_seconds = time.perf_counter() - started
    started = time.perf_counter()
    keras_history = fit_on_scratch_batches(model, X, Y, args.epochs, batch_size, seed, validation)
    keras_seconds = time.perf_counter() - started

    layers = hypermodel.layers(values)
    steps = args.epochs * -(-len(X) // batch_size)
    # every step of every epoch, and sums as long as the longer of a batch and the validation set
    tol = tolerances.training("float32", layers, max(batch_size, len(validation[0])), steps)
    names = weight_names(len(layers) - 1)
    keras_side = {"loss": keras_history["loss"], "val_loss": keras_history["val_loss"],
                  **dict(zip(names, model.get_weights()))}
    twin_side = {"loss": twin_history["loss"], "val_loss": twin_history["val_loss"], **dict(zip(names, net.get_weights()))}
    against_keras = compare_named(keras_side, twin_side, tol)
    execution = (recorded or {}).get("val_loss") or row["execution_results"][0]["val_loss"]
    against_record = compare_named({"val_loss": twin_history["val_loss"]}, {"val_loss": execution}, tol)
    checks = {**against_keras, "recorded val_loss": against_record["val_loss"]}
    worst = max(checks, key=lambda k: checks[k]["rel_diff"])
    return {"trial_id": row["trial_id"], "execution": 0, "seed": seed, "steps": steps, "tolerance": tol,
            "checks": checks, "worst": checks[worst]["rel_diff"], "worst_key": worst,
            "failed": [k for k, e in checks.items() if not e["passed"]],
            "passed": all(e["passed"] for e in checks.values()),
            "curves": {"keras": keras_history["val_loss"], "twin": twin_history["val_loss"]},
            "keras_seconds": keras_seconds, "scratch_seconds": scratch_seconds,
            "speedup": keras_seconds / scratch_seconds if scratch_seconds > 0 else float("inf")}


def plot_parity(report: dict, path: str) -> str:
    """Keras's and the twin's validation curves of the checked execution, and their relative
    difference per epoch against the tolerance."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keras_curve, twin_curve = np.array(report["curves"]["keras"]), np.array(report["curves"]["twin"])
    epochs = np.arange(1, len(keras_curve) + 1)
    fig, (curves, gap) = plt.subplots(1, 2, figsize=(11, 4))
    curves.plot(epochs, keras_curve, "o-", label="Keras (model.fit on the twin's batches)")
    curves.plot(epochs, twin_curve, "x--", label="the twin (scratch.fit)")
    curves.set(xlabel="epoch", ylabel="validation loss", title=f"trial {report['trial_id']}, execution 0")
    curves.legend()
    diff = np.abs(keras_curve - twin_curve) / np.maximum(np.abs(keras_curve) + np.abs(twin_curve), 1e-300)
    gap.semilogy(epochs, np.maximum(diff, 1e-17), "o-", color="#27ae60" if report["passed"] else "#c0392b",
                 label="|keras - twin| / (|keras| + |twin|)")
    gap.axhline(report["tolerance"], color="#555", linestyle="--", label="tolerance (float32, these steps)")
    gap.set(xlabel="epoch", title="agrees" if report["passed"] else "DOES NOT AGREE")
    gap.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    return tune.main(argv, engines={"scratch": ScratchEngine}, module=MODULE)


if __name__ == "__main__":
    sys.exit(main())
