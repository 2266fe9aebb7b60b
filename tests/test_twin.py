"""compare.twin: the twin of a user's Keras model, from the model itself or from its file."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module", params=["float32", "float64"])
def report(request, tmp_path_factory):
    """tests/twin_check.py under one floatx(), in a process of its own (Keras's global state)."""
    out = tmp_path_factory.mktemp(f"twin_{request.param}")
    result = subprocess.run([sys.executable, os.path.join(HERE, "twin_check.py"), request.param, str(out)],
                            capture_output=True, text=True, timeout=600, cwd=os.path.dirname(HERE))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_every_model_and_its_twin_agree_on_outputs_gradients_and_20_steps(report):
    assert len(report["cases"]) == 9  # 4 recipes x 2 dtypes, and a loss by name in floatx's own dtype
    for case, c in report["cases"].items():
        for leg in ("predict", "output", "loss", "gradients"):
            assert c[leg] <= c["tolerance"], (case, leg, c[leg], c["tolerance"])
        assert c["steps"] <= c["steps_tolerance"], (case, c["steps"], c["steps_tolerance"])
        assert c["iterations_before"] == 8 and c["iterations"] == [28, 28], case  # the optimizer's state came along


def test_the_quirks_are_derived_from_the_model_and_keras_state(report):
    floatx = report["floatx"]
    for case, c in report["cases"].items():
        if c["dtype"] == "float64":
            # the learning-rate variable is created in floatx(); the compiled loss casts to the floatx of compile()
            assert ("learning_rate" in c["quirks"]) == (floatx == "float32"), case
            assert ("loss_value_floatx" in c["quirks"]) == (floatx == "float32"), case
        assert "crossed_logits" in c["quirks"] and "leaky_relu_slope" in c["quirks"]


def test_saved_files_give_the_same_twin(report):
    """from_keras(path) loads a file under its own dtype's floatx(), as it was trained (a loss
    saved by name is rebuilt in the floatx() of the loading moment).  Where that is the live
    model's floatx too, the file's twin is the live one's, with the optimizer's step count;
    across dtypes it is the twin of the model as Keras reloads it, the same weights in the same
    dtype (its derived quirks may differ: the reloaded optimizer's variables follow floatx())."""
    for case, c in report["cases"].items():
        assert c["files_refused"] == {}, case
        assert c["files_weights_agree"] == {"keras": True, "h5": True}, case
        assert c["files_dtype"] == {"keras": c["dtype"], "h5": c["dtype"]}, case
        if c["dtype"] == report["floatx"]:
            assert c["files_agree"] == {"keras": True, "h5": True}, case
            # an .h5 file's optimizer comes back built for no variables (Keras cannot train it): no state
            assert c["files_state"] == {"keras": 8, "h5": False}, case


def test_negative_controls_are_reported(report):
    floatx, controls = report["floatx"], report["controls"]
    for dtype in ("float32", "float64"):
        moved = controls[f"perturbed/{dtype}"]
        assert moved["output"] > moved["tolerance"] and moved["gradients"] > moved["tolerance"]
        assert moved["steps"] > moved["steps_tolerance"]
    flipped = controls["flipped/float64"]
    if floatx == "float64":  # the case: a float64 learning rate taken for float32 drifts
        assert flipped["steps"] > 1e3 * flipped["steps_tolerance"]
    else:  # the float32 variable's value is read as it is, so the rounding is already in it
        assert flipped["steps"] <= flipped["steps_tolerance"]


# --- refusals: each names what is unsupported, before anything runs --------------------------------

@pytest.fixture(scope="module")
def keras():
    from keras_ref import quiet
    return quiet.keras()


def test_unsupported_models_are_refused_by_name(keras):
    from compare import twin
    conv = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                             keras.layers.Dense(1)])
    conv.compile(loss="mse")
    with pytest.raises(ValueError, match=r"unsupported layer 'Conv2D \(conv2d.*\)'; supported: Dense, Activation"):
        twin.from_keras(conv)
    inputs = keras.Input((4,))
    a, b = keras.layers.Dense(3)(inputs), keras.layers.Dense(3)(inputs)
    branching = keras.Model(inputs, keras.layers.Add()([a, b]))
    with pytest.raises(ValueError, match="unsupported layer 'Add|branches at layer"):
        twin.from_keras(branching)
    hard_silu = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="hard_silu")])
    hard_silu.compile(loss="mse")
    with pytest.raises(ValueError, match="unsupported activation 'hard_silu' in layer .*; supported: sigmoid, tanh"):
        twin.from_keras(hard_silu)
    bare = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="is not compiled.*supported binary_crossentropy"):
        twin.from_keras(bare)
    assert twin.from_keras(bare, loss="mean_squared_error").loss.name == "mean_squared_error"
    bare.compile(loss="mse", optimizer=keras.optimizers.Adam(clipnorm=1.0, use_ema=True))
    with pytest.raises(ValueError, match="unsupported optimizer setting use_ema True; supported: learning_rate "
                                         r"\(a constant\), beta_1, beta_2, epsilon, amsgrad, weight_decay, clipnorm"):
        twin.from_keras(bare)
    bare.compile(loss=keras.losses.BinaryCrossentropy(reduction="sum"))
    with pytest.raises(ValueError, match="unsupported loss reduction 'sum'"):
        twin.from_keras(bare)


def test_a_lambda_file_is_refused_before_keras_reads_it(keras, tmp_path):
    """A Lambda stores bytecode that runs when Keras rebuilds the model unsafely: its file is
    refused from its config alone, and the code never runs."""
    from compare import twin
    marker = tmp_path / "ran"
    code = f"lambda x: (open({str(marker)!r}, 'w').write('ran'), x)[1]"
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(eval(code)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    path = tmp_path / "lambda.keras"
    model.save(path)
    marker.unlink()  # building the model ran it once; from here on nothing may
    with pytest.raises(ValueError, match="unsupported layer or object 'Lambda'"):
        twin.from_keras(str(path))
    assert not marker.exists()


@pytest.mark.parametrize("content, message", [
    (None, "no model file at"),
    (b"not a model at all", "neither a .keras nor an .h5"),
    ("zip-without-config", "no readable config.json"),
])
def test_files_that_are_not_models_are_refused(tmp_path, content, message):
    from compare import twin
    path = tmp_path / "m.keras"
    if content == "zip-without-config":
        import zipfile
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("other.txt", "x")
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        twin.from_keras(str(path))


def test_a_twin_goes_back_to_keras(keras):
    import scratch
    from compare import twin
    net = scratch.Network([4, 6, 3], hidden_activation="leaky_relu", output_activation="softmax",
                          loss="categorical_crossentropy", seed=0, optimizer=scratch.SGD(0.1, momentum=0.9))
    model = twin.to_keras(net)
    X = np.random.default_rng(0).standard_normal((16, 4)).astype("float32")
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), net.get_weights()))
    from compare.core import errors
    from scratch import tolerances
    assert errors(model.predict(X, verbose=0), net.predict(X))["rel_diff"] <= tolerances.network("float32", [4, 6, 3], 16)
    again = twin.from_keras(model)  # and back: the same network, computing the same bits
    Y = np.eye(3, dtype="float32")[np.random.default_rng(1).integers(0, 3, 16)]
    (J1, g1), (J2, g2) = again.loss_and_gradients(X, Y), net.loss_and_gradients(X, Y)
    assert J1 == J2 and all(np.array_equal(a, b) for a, b in zip(g1, g2))
    assert [layer.activation.config for layer in again.layers] == [{"negative_slope": 0.01}, {}]
    assert again.optimizer.get_config() == {**net.optimizer.get_config(), "learning_rate": float(np.float32(0.1))}


@pytest.mark.parametrize("make", [
    lambda k: k.layers.ReLU(), lambda k: k.layers.ReLU(max_value=6), lambda k: k.layers.ReLU(negative_slope=0.1),
    lambda k: k.layers.ReLU(threshold=0.5), lambda k: k.layers.ReLU(max_value=1.5),
    lambda k: k.layers.ReLU(negative_slope=0.1, max_value=6), lambda k: k.layers.ReLU(0.9, 0.1, 0.3),
    lambda k: k.layers.LeakyReLU(), lambda k: k.layers.LeakyReLU(negative_slope=0.05)])
def test_activation_layers_twin_as_keras_computes_them(keras, make):
    """ReLU, LeakyReLU and Softmax layers; Softmax attaches its logits as the activation does."""
    import keras_ref
    from compare import twin
    from compare.core import errors
    from scratch import tolerances
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 4)).astype("float32")
    Y = np.eye(3, dtype="float32")[rng.integers(0, 3, 32)]
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6), make(keras), keras.layers.Dense(3),
                              keras.layers.Softmax()])
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    net = twin.from_keras(model)
    _, k_loss, k_grads = keras_ref.output_loss_and_gradients(model, X, Y)
    s_loss, s_grads = net.loss_and_gradients(X, Y)
    tol = tolerances.of_network(net, 32)
    assert errors(float(k_loss), s_loss)["rel_diff"] <= tol
    for a, b, m in zip(k_grads, s_grads, net.gradient_magnitudes(Y)):
        assert errors(a, b)["rel_diff"] <= tolerances.gradients(tol, a, b, m)
    # negative control: the same layers with the lecture's leaky slope in place of Keras's
    other = scratch_with_slope(net, 0.01)
    if other is not None:
        assert errors(k_grads[0], other.loss_and_gradients(X, Y)[1][0])["rel_diff"] > 100 * tol


def scratch_with_slope(net, slope):
    """The twin with every leaky_relu slope replaced (None when it has no leaky_relu)."""
    import scratch
    config = net.get_config()
    changed = False
    for spec in config["layers"][1:]:
        if spec["class_name"] in ("LeakyReLU", "ReLU") and spec["config"].get("negative_slope"):
            spec["config"]["negative_slope"] = slope
            changed = True
    if not changed:
        return None
    other = scratch.Network.from_config(config)
    other.set_weights(net.get_weights())
    return other


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_relu_with_every_setting_goes_to_keras_and_back(keras, dtype):
    """A threshold, a max_value and a slope together: to_keras makes Keras's ReLU with them, which
    computes what the twin does, and from_keras gives the same twin back, computing the same bits."""
    import scratch
    from compare import twin
    from compare.core import errors
    from scratch import tolerances
    relu = scratch.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.3, name="relu_all")
    net = scratch.Network(layers=[scratch.Input(4), scratch.Dense(6), relu, scratch.Dense(1)],
                          loss="mean_squared_error", seed=0, dtype=dtype)
    model = twin.to_keras(net)
    layer = model.get_layer("relu_all")
    assert (layer.max_value, layer.negative_slope, layer.threshold) == (1.5, 0.1, 0.3)
    X = np.random.default_rng(0).uniform(-2, 2, (16, 4)).astype(np.float32).astype(dtype)
    k_out = keras.ops.convert_to_numpy(model(keras.ops.convert_to_tensor(X)))
    assert errors(k_out, net.predict(X))["rel_diff"] <= tolerances.network(dtype, [4, 6, 1], 16)
    back = twin.from_keras(model)
    assert back.layers[1].get_config() == relu.get_config() and back.layers[1].activation.config == relu.activation.config
    assert np.array_equal(back.predict(X), net.predict(X))


def test_every_layer_kind_goes_to_keras_and_back(keras):
    """to_keras then from_keras: the same network, its moving statistics included, computing the same bits."""
    import scratch
    from compare import twin
    net = scratch.Network(layers=[scratch.Input(4), scratch.Dense(6), scratch.BatchNormalization(momentum=0.9),
                                  scratch.LeakyReLU(0.2), scratch.Dropout(0.3), scratch.Dense(5),
                                  scratch.LayerNormalization(epsilon=1e-5), scratch.Activation("tanh"),
                                  scratch.Dense(3), scratch.Softmax()],
                          loss="categorical_crossentropy", seed=0)
    X = np.random.default_rng(0).standard_normal((16, 4)).astype("float32")
    scratch.fit(net, X, np.eye(3, dtype="float32")[np.arange(16) % 3], epochs=1, batch_size=8, verbose=0)
    back = twin.from_keras(twin.to_keras(net))
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in net.layers]
    assert all(np.array_equal(a, b) for a, b in zip(back.get_weights(), net.get_weights()))
    assert np.array_equal(back.predict(X), net.predict(X))


@pytest.mark.parametrize("change, message", [
    (lambda c: c["config"]["layers"][1]["config"].update(
        activation={"module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization"}),
     "unsupported function 'keras.config.enable_unsafe_deserialization'"),
    (lambda c: c["config"]["layers"].append({"class_name": "Sequential", "config": {"layers": []}}),
     "unsupported model inside a model 'Sequential'"),
    (lambda c: c["config"]["layers"][1]["config"].update(activation={"config": {"nested": 1}}),
     None),  # a dict without a class is not a function reference: left to Keras's own checks
    (lambda c: c["config"]["layers"][1]["config"].update(activation="bent_identity"),
     "unsupported activation 'bent_identity'"),
])
def test_a_config_is_refused_anywhere_it_names_the_unsupported(keras, change, message):
    import copy
    from compare import twin
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu")])
    config = copy.deepcopy({"class_name": "Sequential", "config": model.get_config()})
    twin.check_file_config(config)  # the model as saved passes
    change(config)
    if message is None:
        twin.check_file_config(config)
    else:
        with pytest.raises(ValueError, match=message):
            twin.check_file_config(config)


def test_the_format_follows_the_name_as_keras_reads_it(tmp_path):
    """An .h5 name with a zip inside is read as HDF5, as Keras would, never as the zip."""
    import zipfile
    from compare import twin
    path = tmp_path / "model.h5"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", "{}")
    with pytest.raises(ValueError, match="neither a .keras nor an .h5"):
        twin.file_config(str(path))
    odd = tmp_path / "model.bin"
    odd.write_bytes(b"x")
    with pytest.raises(ValueError, match="ends in .keras, .h5 or .hdf5"):
        twin.file_config(str(odd))
