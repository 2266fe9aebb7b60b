"""python -m compare.model PATH as users run it: their saved model, its twin, and every refusal."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from compare import model as cmd


@pytest.fixture(scope="module")
def keras():
    from keras_ref import quiet
    return quiet.keras()


@pytest.fixture(scope="module")
def saved(keras, tmp_path_factory):
    """A user's model: 30-16-8-1 on breast cancer with L2, BatchNormalization and Dropout, trained 3
    epochs of Adam, saved."""
    from keras_ref import datasets
    folder = tmp_path_factory.mktemp("model")
    split = datasets.load("breast_cancer", seed=0)
    keras.utils.set_random_seed(0)
    # named: Keras numbers unnamed layers across the whole process (dense_48 after 47 others)
    model = keras.Sequential([keras.Input((30,)),
                              keras.layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3),
                                                 name="dense"),
                              keras.layers.BatchNormalization(name="batch_normalization"),
                              keras.layers.Dropout(0.2, name="dropout"),
                              keras.layers.Dense(8, name="dense_1"), keras.layers.Activation("tanh", name="activation"),
                              keras.layers.Dense(1, activation="sigmoid", name="dense_2")])
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"])
    model.fit(split.X_train, split.y_train, epochs=3, batch_size=32, verbose=0)
    path = folder / "model.keras"
    model.save(path)
    return folder, str(path)


def test_the_twin_of_a_saved_model_agrees_on_every_leg(saved, capsys):
    folder, path = saved
    report_path = folder / "default.json"
    assert cmd.main([path, "--json", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    assert report["passed"] and report["config"]["path"] == path
    assert set(report["training"]) == {"output", "loss", "penalties"} | {
        f"grad/{n}" for n in ("dense/kernel", "dense/bias", "batch_normalization/gamma", "batch_normalization/beta",
                              "dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias")}
    assert report["training"]["penalties"]["max_abs"] < report["tolerance"]  # both sides have the L2 term...
    steps = report["training_steps"]
    assert steps["steps"] == 20 and steps["first_drift_step"] is None
    assert {"loss", "momentum/dense/kernel", "velocity/dense_2/bias", "batch_normalization/moving_mean",
            "batch_normalization/moving_variance"} <= set(steps["worst"])  # the moving statistics too
    assert "the twin agrees" in capsys.readouterr().out
    # layer by layer: BatchNormalization's and Dropout's quantities too, Keras's masks replayed
    assert report["first_divergence"] is None and all(r["passed"] for r in report["layers"])
    assert {"Z1", "xhat2", "A2", "mask3", "A3", "dA3", "dgamma2", "dbeta2", "dZ4", "dW6"} <= {
        r["quantity"] for r in report["layers"]}  # x̂ and the mask, read beside Keras's layers, too


def test_a_saved_twin_predicts_the_same_without_tensorflow(saved, tmp_path):
    folder, path = saved
    twin_path = tmp_path / "twin.npz"
    assert cmd.main([path, "--data", "breast_cancer", "--steps", "0", "--save-twin", str(twin_path)]) == 0
    from keras_ref import datasets
    X = datasets.load("breast_cancer", seed=0).X_val
    np.save(tmp_path / "X.npy", X)
    code = ("import sys; sys.modules['tensorflow'] = sys.modules['keras'] = None\n"
            "import numpy as np, scratch\n"
            f"net = scratch.load({str(twin_path)!r})\n"
            f"np.save({str(tmp_path / 'P.npy')!r}, net.predict(np.load({str(tmp_path / 'X.npy')!r})))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    from compare import twin
    assert np.array_equal(np.load(tmp_path / "P.npy"), twin.from_keras(path).predict(X))


def test_without_keras_dropout_masks_the_gradients_disagree(saved, monkeypatch, capsys):
    """Negative control for the mask replay: the twin drawing masks of its own is reported."""
    from compare import twin
    _, path = saved
    monkeypatch.setattr(twin, "replay", lambda net, masks: None)
    assert cmd.main([path, "--steps", "2"]) == 1
    out = capsys.readouterr().out
    assert "FAIL training output" in out and "FAIL training grad/dense/kernel" in out
    assert "inference       output" in out and "FAIL inference" not in out  # inference has no dropout
    # layer by layer, the masks themselves are where the two passes part
    assert "FIRST DIVERGENCE layer by layer: layer 3, mask3 (forward)" in out


def test_a_perturbed_twin_weight_is_reported(saved, capsys):
    _, path = saved
    assert cmd.main([path, "--perturb", "dense_1/kernel", "--steps", "3"]) == 1
    out = capsys.readouterr().out
    assert "FAIL inference output" in out and "FAIL training grad/dense/kernel" in out
    assert "FAIL training steps: first drift at step 1" in out and "the twin does not agree" in out


def one_line_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(cmd.main(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("compare.model: error: ") and message in err, err


def test_bad_files_are_refused_in_one_line(keras, saved, tmp_path, capsys):
    folder, _ = saved
    one_line_exit_2(capsys, [str(tmp_path / "missing.keras")], "no model file at")
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    one_line_exit_2(capsys, [str(text)], "neither a .keras nor an .h5 Keras model file")
    conv = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                             keras.layers.Dense(1)])
    conv.save(tmp_path / "conv.keras")
    one_line_exit_2(capsys, [str(tmp_path / "conv.keras")], "unsupported layer or object 'Conv2D'")
    bare = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    bare.save(tmp_path / "bare.keras")
    one_line_exit_2(capsys, [str(tmp_path / "bare.keras")], "uncompiled model: give its loss with --loss")
    assert cmd.main([str(tmp_path / "bare.keras"), "--loss", "binary_crossentropy", "--steps", "3"]) == 0
    # configs of every shape are refused in one line, before anything reads them further
    import zipfile
    for i, config in enumerate(['[]', '{"config": "x"}', '{"class_name": "Sequential", "config": {"layers": ["x"]}}',
                                '{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", '
                                '"config": {"dtype": {"config": "x"}}}]}}']):
        with zipfile.ZipFile(tmp_path / f"odd{i}.keras", "w") as z:
            z.writestr("config.json", config)
        code = cmd.main([str(tmp_path / f"odd{i}.keras")])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and err.startswith("compare.model: error: "), (config, err)


def test_float64_layers_behind_a_float32_input_load_as_float64(keras, tmp_path, capsys):
    """A model built under float32 floatx() with float64 layers: its input layer and its own policy
    say float32, its layers float64; --floatx auto reads the layers."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh", dtype="float64"),
                              keras.layers.Dense(1, activation="sigmoid", dtype="float64")])
    model.compile(loss="binary_crossentropy", optimizer="adam")
    model.save(tmp_path / "mixed.keras")
    assert cmd.main([str(tmp_path / "mixed.keras"), "--steps", "2"]) == 0
    assert "float64, loss binary_crossentropy" in capsys.readouterr().out and keras.config.floatx() == "float32"


def test_a_lambda_that_would_write_a_file_never_runs(keras, tmp_path, capsys):
    marker = tmp_path / "ran"
    code = f"lambda x: (open({str(marker)!r}, 'w').write('ran'), x)[1]"
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(eval(code)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    model.save(tmp_path / "lambda.keras")
    marker.unlink()
    one_line_exit_2(capsys, [str(tmp_path / "lambda.keras"), "--save-twin", str(tmp_path / "t.npz")],
                    "unsupported layer or object 'Lambda'")
    assert not marker.exists() and not (tmp_path / "t.npz").exists()


def test_data_that_does_not_fit_the_model_is_refused(saved, tmp_path, capsys):
    _, path = saved
    one_line_exit_2(capsys, [path, "--data", "iris"], "iris has 4 features, the model takes 30 inputs")
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,0\n2,1\n3,0\n4,1\n")
    one_line_exit_2(capsys, [path, "--data", str(csv), "--target", "label"], "has no column 'label'")
    one_line_exit_2(capsys, [path, "--data", "mnist"], "unknown data set 'mnist'")


def test_labels_must_suit_the_loss(keras, tmp_path, capsys):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam")
    model.save(tmp_path / "binary.keras")
    one_line_exit_2(capsys, [str(tmp_path / "binary.keras"), "--data", "iris"],
                    "iris has 3 classes, as targets of width 3; the model's binary_crossentropy output has 1 units")


def test_an_earlier_twin_file_is_kept(saved, tmp_path, capsys):
    _, path = saved
    earlier = tmp_path / "twin.npz"
    earlier.write_bytes(b"earlier")
    with pytest.raises(SystemExit) as exit_info:
        cmd.main([path, "--save-twin", str(earlier)])
    assert exit_info.value.code == 2 and earlier.read_bytes() == b"earlier"
    assert "pass --overwrite" in capsys.readouterr().err


def test_unknown_perturb_names_the_weights(saved, capsys):
    _, path = saved
    one_line_exit_2(capsys, [path, "--perturb", "W1"], "unknown --perturb 'W1'; valid: dense/kernel, dense/bias")


def test_a_float64_model_loads_under_its_own_floatx(tmp_path):
    """Keras rebuilds a loss saved by name in the floatx() of the loading Python: a float64 model
    loaded under the default float32 gets a float32 loss, which the twin refuses.  --floatx auto
    (the default) loads it under float64, as it was trained.  Subprocesses: floatx is global."""
    path = tmp_path / "f64.keras"
    save = ("from keras_ref import quiet; keras = quiet.keras(); keras.config.set_floatx('float64')\n"
            "m = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation='tanh'),"
            " keras.layers.Dense(1, activation='sigmoid')])\n"
            f"m.compile(loss='binary_crossentropy', optimizer='adam'); m.save({str(path)!r})\n")
    assert subprocess.run([sys.executable, "-c", save], capture_output=True).returncode == 0
    auto = subprocess.run([sys.executable, "-m", "compare.model", str(path), "--steps", "3", "--json",
                           str(tmp_path / "r.json")], capture_output=True, text=True)
    assert auto.returncode == 0, auto.stdout + auto.stderr
    assert "float64, loss binary_crossentropy" in auto.stdout and "loaded under floatx() float64" in auto.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["tolerance"] < 1e-12  # float64's own tolerance, met
    forced = subprocess.run([sys.executable, "-m", "compare.model", str(path), "--floatx", "float32"],
                            capture_output=True, text=True)
    assert forced.returncode == 2 and forced.stderr.count("\n") == 1
    assert "is float64 but its compiled loss runs in float32" in forced.stderr


@pytest.mark.parametrize("key,layer", [("A2", 2), ("dA3", 3), ("dZ4", 4), ("dgamma2", 2)])
def test_a_perturbed_layer_quantity_is_named_first(saved, tmp_path, capsys, key, layer):
    _, path = saved
    report_path = tmp_path / "r.json"
    assert cmd.main([path, "--perturb", key, "--steps", "1", "--detail", "--json", str(report_path)]) == 1
    first = json.loads(report_path.read_text())["first_divergence"]
    assert first["quantity"] == key and first["layer"] == layer
    out = capsys.readouterr().out
    assert f"FIRST DIVERGENCE layer by layer: layer {layer}, {key} " in out and "layer by layer, in training mode" in out


def test_a_run_that_breaks_is_a_traceback_not_bad_input_and_writes_no_twin(saved, tmp_path, monkeypatch):
    """A ValueError inside the checks is a bug to see (not "bad input", exit 2), and the --save-twin
    file, written only when the run has ended, is not left behind."""
    _, path = saved

    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast together")
    monkeypatch.setattr(cmd, "run", broken)
    with pytest.raises(ValueError, match="broadcast"):
        cmd.main([path, "--steps", "0", "--save-twin", str(tmp_path / "t.npz")])
    assert os.listdir(tmp_path) == []
