"""Run in a subprocess by tests/test_twin.py, one per floatx: Keras keeps floatx and its name
caches for the whole process, so each setting gets a process of its own.

usage: twin_check.py FLOATX OUT_DIR -> prints one JSON object of findings; the test asserts on them.

Users' models, built the ways users build them (Sequential and functional, string and object
losses, SGD/RMSprop/Adam, L2, Activation layers, Keras's leaky_relu and keras_ref's), trained
a little, saved to .keras and .h5, then twinned from the live model and from each file.  For
each: inference outputs, training-mode loss and gradients, and 20 train_on_batch steps after
which all of get_weights() and the optimizer's slots are compared.
"""
import json
import os
import sys

floatx, out_dir = sys.argv[1], sys.argv[2]

from keras_ref import quiet  # noqa: E402

quiet.tensorflow()
import keras  # noqa: E402
import numpy as np  # noqa: E402

keras.config.set_floatx(floatx)

import keras_ref  # noqa: E402
from compare import twin  # noqa: E402
from compare.core import errors  # noqa: E402
from scratch import tolerances  # noqa: E402


def models(dtype):
    """name -> (model, X, Y): each compiled, and trained for two epochs (its optimizer has state)."""
    keras.utils.set_random_seed(0)  # the same initial weights on every run
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 4)).astype("float32").astype(dtype)
    Y2 = rng.integers(0, 2, (32, 1)).astype(dtype)
    Y3 = np.eye(3, dtype=dtype)[rng.integers(0, 3, 32)]
    made = {}
    regularized = floatx == dtype  # Keras cannot fit a float64 model with L2 under a float32 floatx
    made["sequential_leaky_l2_adam"] = (keras.Sequential([
        keras.Input((4,), dtype=dtype),
        keras.layers.Dense(6, activation="leaky_relu", dtype=dtype,
                           kernel_regularizer=keras.regularizers.L2(0.01) if regularized else None),
        keras.layers.Activation("tanh", dtype=dtype),
        keras.layers.Dense(1, activation="sigmoid", dtype=dtype)]),
        keras.losses.BinaryCrossentropy(dtype=dtype), keras.optimizers.Adam(0.01), X, Y2)
    inputs = keras.Input((4,), dtype=dtype)
    hidden = keras.layers.Dense(5, activation="relu", dtype=dtype)(inputs)
    made["functional_softmax_sgd_momentum"] = (
        keras.Model(inputs, keras.layers.Dense(3, activation="softmax", dtype=dtype)(hidden)),
        keras.losses.CategoricalCrossentropy(dtype=dtype), keras.optimizers.SGD(0.05, momentum=0.9), X, Y3)
    made["lecture_keras_ref_leaky_rmsprop"] = (
        keras_ref.build_model([4, 6, 1], hidden_activation="leaky_relu", output_activation="linear",
                              loss="mean_squared_error", seed=0, dtype=dtype),
        keras.losses.MeanSquaredError(dtype=dtype), keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
        X, Y2)
    made["batchnorm_dropout_layernorm_adam"] = (keras.Sequential([
        keras.Input((4,), dtype=dtype), keras.layers.Dense(6, activation="relu", dtype=dtype),
        keras.layers.BatchNormalization(dtype=dtype), keras.layers.Dropout(0.25, dtype=dtype),
        keras.layers.Dense(5, dtype=dtype), keras.layers.LayerNormalization(dtype=dtype),
        keras.layers.Activation("tanh", dtype=dtype), keras.layers.Dense(1, activation="sigmoid", dtype=dtype)]),
        keras.losses.BinaryCrossentropy(dtype=dtype), keras.optimizers.Adam(0.01), X, Y2)
    if dtype == floatx:  # a loss by name runs in floatx(): the twin matches only where that is the model's dtype
        made["loss_by_name_adam"] = (keras.Sequential([
            keras.Input((4,), dtype=dtype), keras.layers.Dense(3, activation="tanh", dtype=dtype),
            keras.layers.Dense(1, activation="sigmoid", dtype=dtype)]),
            "binary_crossentropy", keras.optimizers.Adam(), X, Y2)
    for name, (model, loss, optimizer, X, Y) in made.items():
        model.compile(loss=loss, optimizer=optimizer)
        model.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        made[name] = (model, X, Y)
    return made


def slots(optimizer, net):
    kind = net.optimizer.name
    keras_side = {k: np.concatenate([np.asarray(v).ravel() for v in getattr(optimizer, a)])
                  for k, a in twin.KERAS_SLOTS[kind].items() if k in net.optimizer._slot_names()}
    return keras_side, net.optimizer_state()[1]


def check(model, net, X, Y, steps=20):
    """Worst rel diffs per leg, and each leg's tolerance (scratch.tolerances)."""
    tol = tolerances.of_network(net, len(X))
    predicted = errors(model.predict(X, verbose=0), net.predict(X))["rel_diff"]
    twin.replay(net, twin.dropout_masks(model, net, len(X)))  # the masks Keras is about to draw
    k_out, k_loss, k_grads = keras_ref.output_loss_and_gradients(model, X, Y)
    s_loss, s_grads = net.loss_and_gradients(X, Y)
    magnitudes = net.gradient_magnitudes(Y)  # a gradient's tolerance is raised where its terms cancel
    found = {
        "predict": predicted,
        "output": errors(k_out, net.layers[-1].cache["A"])["rel_diff"],  # training mode
        "loss": errors(float(k_loss), s_loss)["rel_diff"],
        # each gradient's rel diff, measured against its own tolerance and expressed on tol's scale
        "gradients": max(errors(a, b)["rel_diff"] / tolerances.gradients(tol, a, b, m) * tol
                         for a, b, m in zip(k_grads, s_grads, magnitudes)),
        "tolerance": tol,
    }
    worst = 0.0
    for _ in range(steps):
        twin.replay(net, twin.dropout_masks(model, net, len(X)))
        model.train_on_batch(X, Y)
        net.train_on_batch(X, Y)
        k_slots, s_slots = slots(model.optimizer, net)
        worst = max([worst] + [errors(a, b)["rel_diff"] for a, b in zip(model.get_weights(), net.get_weights())]
                    + [errors(k_slots[k], s_slots[k])["rel_diff"] for k in k_slots])
    found |= {"steps": worst, "steps_tolerance": tolerances.of_network(net, len(X), steps),
              "iterations": [int(model.optimizer.iterations.numpy()), net.optimizer.iterations]}
    return found


report = {"floatx": floatx, "cases": {}}
for dtype in ("float32", "float64"):
    for name, (model, X, Y) in models(dtype).items():
        case = f"{name}/{dtype}"
        net = twin.from_keras(model)
        entry = {"quirks": sorted(net.quirks), "dtype": net.dtype, "layers": net.layer_sizes,
                 "optimizer": net.optimizer.get_config(), "iterations_before": net.optimizer.iterations}
        paths = {ext: os.path.join(out_dir, f"{name}_{dtype}.{ext}") for ext in ("keras", "h5")}
        model.save(paths["keras"])
        model.save(paths["h5"])
        from_files, entry["files_refused"] = {}, {}
        for ext, p in paths.items():
            try:
                from_files[ext] = twin.from_keras(p)
            except ValueError as e:
                entry["files_refused"][ext] = str(e)
        entry["files_weights_agree"] = {ext: bool(all(np.array_equal(a, b) for a, b in
                                                      zip(f.get_weights(), net.get_weights())))
                                        for ext, f in from_files.items()}
        entry["files_dtype"] = {ext: f.dtype for ext, f in from_files.items()}
        entry["files_agree"] = {ext: bool(all(np.array_equal(a, b) for a, b in zip(f.get_weights(), net.get_weights()))
                                          and f.get_config() == net.get_config())
                                for ext, f in from_files.items()}
        entry["files_state"] = {ext: f.optimizer_state() is not None and f.optimizer.iterations for ext, f in
                                from_files.items()}
        entry |= check(model, net, X, Y)
        report["cases"][case] = entry
    # negative controls, on fresh models of the first recipe: the twin's output kernel scaled by
    # 1 + 1000 times the dtype's tolerance, and the learning-rate quirk flipped from what was derived
    for control in ("perturbed", "flipped"):
        model, X, Y = next(iter(models(dtype).values()))
        net = twin.from_keras(model)
        if control == "perturbed":
            w = net.get_weights()
            w[-2] *= 1 + 1000 * tolerances.network(dtype, net.layer_sizes, len(X), True)  # the output kernel
            net.set_weights(w)
        else:
            net.quirks = net.quirks ^ {"learning_rate"}
        report["controls"] = report.get("controls", {}) | {f"{control}/{dtype}": check(model, net, X, Y)}
print(json.dumps(report))
