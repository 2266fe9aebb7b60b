"""python -m compare.candidate: a learner's own backprop, in either layout, checked against Keras.

Each wrong example in examples/ must be diagnosed with its exact layer, quantity, function and
kind, in both runs (Keras's zero biases, then drawn ones); the correct ones must pass.
"""
import json
import os

import pytest

from compare import candidate

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
M = 32  # the default batch


def run(tmp_path, name_or_path, *argv):
    path = name_or_path if os.path.isabs(name_or_path) else os.path.join(EXAMPLES, name_or_path)
    report = tmp_path / "r.json"
    code = candidate.main([path, *argv, "--json", str(report)])
    return code, json.loads(report.read_text())


@pytest.mark.parametrize("name,argv", [
    ("columns_correct.py", []), ("columns_correct.py", ["--layers", "6,6,6,6", "--hidden-activation", "relu"]),
    ("rows_correct.py", []), ("rows_correct.py", ["--layers", "5,4,3,2"]),
])
def test_the_correct_examples_agree(tmp_path, name, argv):
    code, report = run(tmp_path, name, *argv)
    assert code == 0 and report["passed"] and report["layout"] == name.split("_")[0]
    assert [r["first_divergence"] for r in report["runs"]] == [None, None]
    assert "zero biases" in report["runs"][0]["weights"] and "N(0, 0.5^2)" in report["runs"][1]["weights"]


@pytest.mark.parametrize("name,argv,layer,quantity,function,kind,factor", [
    ("columns_delta_with_g.py", [], 2, "dZ2", "sigmoid_backward", "other", None),
    ("columns_missing_1_over_m.py", [], 2, "dW2", "linear_backward", "factor", M),
    ("columns_db_wrong_axis.py", [], 2, "db2", "linear_backward", "shape", None),
    ("columns_W_not_transposed.py", ["--layers", "6,6,6,6"], 2, "dA2", "linear_backward", "transpose", None),
    ("columns_tanh_derivative.py", [], 1, "dZ1", "tanh_backward", "other", None),
    ("rows_delta_with_g.py", [], 2, "dZ2", "intermediates", "other", None),
    ("rows_missing_1_over_m.py", [], 2, "dZ2", "intermediates", "factor", M),
    ("rows_db_wrong_axis.py", [], 2, "db2", "intermediates", "shape", None),
    ("rows_W_not_transposed.py", ["--layers", "6,6,6,6"], 2, "dA2", "intermediates", "transpose", None),
    ("rows_tanh_derivative.py", [], 1, "dZ1", "intermediates", "other", None),
])
def test_each_mistake_is_named(tmp_path, capsys, name, argv, layer, quantity, function, kind, factor):
    code, report = run(tmp_path, name, *argv)
    assert code == 1
    for r in report["runs"]:
        first = r["first_divergence"]
        assert (first["layer"], first["quantity"], first["function"], first["kind"]) == (
            layer, quantity, function, kind), (r["weights"], first)
        assert first["factor"] == (pytest.approx(factor) if factor else None)
        before = [c for c in r["checks"] if (c["quantity"], c["function"]) == (quantity, function)][0]
        assert all(c["passed"] for c in r["checks"][:r["checks"].index(before)])  # everything upstream agrees
    assert f"FIRST DIVERGENCE: layer {layer}, {quantity} (backward) in {function}: " in capsys.readouterr().out


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


CORRECT = f"exec(open({os.path.join(EXAMPLES, 'columns_correct.py')!r}).read())\n"


def test_a_forgotten_bias_shows_only_with_drawn_biases(tmp_path):
    """Keras starts biases at zero: a linear_forward without + b agrees there, and not with drawn ones."""
    path = write(tmp_path, "no_bias.py", CORRECT + "def linear_forward(A_prev, W, b):\n"
                                                   "    return W @ A_prev, (A_prev, W, b)\n")
    code, report = run(tmp_path, path)
    assert code == 1 and report["runs"][0]["passed"]
    first = report["runs"][1]["first_divergence"]
    assert (first["layer"], first["quantity"], first["function"]) == (1, "Z1", "linear_forward")


def test_what_a_candidate_breaks_is_reported_not_raised(tmp_path):
    path = write(tmp_path, "broken.py", CORRECT + (
        "def relu_backward(dA, cache):\n"  # the shadow check's; BACKWARD keeps the working one
        "    raise RuntimeError('not written yet')\n"
        "_backward = L_model_backward\n"
        "def L_model_backward(AL, Y, caches):\n"
        "    grads = _backward(AL, Y, caches)\n"
        "    del grads['db1']\n"
        "    grads['dW1'] = grads['dW1'] * np.nan\n"
        "    return grads\n"))
    code, report = run(tmp_path, path)
    checks = report["runs"][0]["checks"]
    raised = [c for c in checks if c["function"] == "relu_backward"][0]
    assert code == 1 and raised["kind"] == "raised" and "RuntimeError: not written yet" in raised["hint"]
    assert "(line 3 of broken.py); expected dZ1 of shape (6, 32)" in raised["hint"]
    by = {(c["quantity"], c["function"]): c for c in checks}
    assert by[("db1", "L_model_backward")]["kind"] == "missing"
    assert "L_model_backward returned no 'db1'" in by[("db1", "L_model_backward")]["hint"]
    assert by[("dW1", "L_model_backward")]["kind"] == "nonfinite"


def one_line_exit_2(capsys, argv, message):
    code = candidate.main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_bad_files_and_flags_are_one_line_and_exit_2(tmp_path, capsys):
    one_line_exit_2(capsys, [str(tmp_path / "none.py")], "no candidate file at")
    one_line_exit_2(capsys, [write(tmp_path, "bad.py", "def f(:\n")], "could not be loaded: SyntaxError")
    one_line_exit_2(capsys, [write(tmp_path, "empty.py", "x = 1\n")], "the file follows neither layout")
    one_line_exit_2(capsys, [os.path.join(EXAMPLES, "columns_correct.py"), "--layout", "rows"],
                    "--layout rows: the file has no an object or class with set_weights")
    with pytest.raises(SystemExit) as exit_info:
        candidate.main([os.path.join(EXAMPLES, "columns_correct.py"), "--layers", "4"])
    assert exit_info.value.code == 2 and "--layers needs at least two sizes" in capsys.readouterr().err


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Users' own reference models, saved: relu and tanh hidden layers (float32), and one with BatchNormalization."""
    from keras_ref import quiet
    keras = quiet.keras()
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for name, hidden in (("relu", [keras.layers.Dense(5, activation="relu")]),
                         ("nobias", [keras.layers.Dense(5, activation="relu", use_bias=False)]),
                         ("l2", [keras.layers.Dense(5, activation="relu", kernel_regularizer=keras.regularizers.L2(0.1))]),
                         ("tanh", [keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(5, activation="tanh")]),
                         ("bn", [keras.layers.Dense(5, activation="relu"), keras.layers.BatchNormalization()])):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), *hidden, keras.layers.Dense(1, activation="sigmoid")])
        model.compile(loss="binary_crossentropy", optimizer="adam")
        paths[name] = str(folder / f"{name}.keras")
        model.save(paths[name])
    smoothed = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, activation="relu"),
                                 keras.layers.Dense(1, activation="sigmoid")])
    smoothed.compile(loss=keras.losses.BinaryCrossentropy(label_smoothing=0.2), optimizer="adam")
    paths["smoothed"] = str(folder / "smoothed.keras")
    smoothed.save(paths["smoothed"])
    return paths


def test_your_own_model_is_the_reference(tmp_path, models):
    code, report = run(tmp_path, "columns_correct.py", "--model", models["relu"])
    assert code == 0 and report["runs"][0]["weights"] == "your model's weights"
    assert report["config"]["layers"] == [3, 5, 1] and report["config"]["dtype"] == "float32"
    code, report = run(tmp_path, "columns_tanh_derivative.py", "--model", models["tanh"], "--overwrite")
    first = report["runs"][0]["first_divergence"]
    assert code == 1 and (first["layer"], first["quantity"], first["function"]) == (2, "dZ2", "tanh_backward")


def test_a_reference_model_the_layouts_cannot_express_is_refused(models, capsys):
    one_line_exit_2(capsys, [os.path.join(EXAMPLES, "columns_correct.py"), "--model", models["bn"]],
                    "the reference model must be Dense layers only, got Dense, BatchNormalization, Dense")
    one_line_exit_2(capsys, [os.path.join(EXAMPLES, "columns_correct.py"), "--model", models["tanh"],
                             "--hidden-activation", "relu"], "--hidden-activation relu, but the model's hidden layers")
    for name, message in (("nobias", "layer 1 has no bias"), ("l2", "layer 1 has a regularizer"),
                          ("smoothed", "its loss has settings")):
        one_line_exit_2(capsys, [os.path.join(EXAMPLES, "columns_correct.py"), "--model", models[name]], message)


def test_a_candidate_that_calls_exit_is_not_a_pass(tmp_path, capsys):
    one_line_exit_2(capsys, [write(tmp_path, "leaves.py", "import sys\nsys.exit(0)\n")],
                    "could not be loaded: SystemExit")
    path = write(tmp_path, "exits.py", CORRECT + "def L_model_backward(AL, Y, caches):\n    raise SystemExit(0)\n")
    code, report = run(tmp_path, path)
    rows = [c for c in report["runs"][0]["checks"] if c["function"] == "L_model_backward"]
    assert code == 1 and rows and all(c["kind"] == "raised" and "SystemExit" in c["hint"] for c in rows)


def test_a_value_of_more_than_two_dimensions_is_reported_and_drawn(tmp_path):
    path = write(tmp_path, "cube.py", CORRECT + "_lb = linear_backward\n"
                                                "def linear_backward(dZ, cache):\n"
                                                "    dA, dW, db = _lb(dZ, cache)\n"
                                                "    return dA, dW[None], db\n")
    html = tmp_path / "cube.html"
    assert candidate.main([path, "--html", str(html)]) == 1
    assert "1 x 1 x 6" in html.read_text()


def test_a_softmax_output_with_categorical_cross_entropy(tmp_path):
    """The file's OUTPUT_ACTIVATION picks the head: softmax, categorical cross-entropy, whose cost
    sums the classes as Keras's does (no n_out factor), and dAL = -Y / AL."""
    softmax = "OUTPUT_ACTIVATION = 'softmax'\n"
    code, report = run(tmp_path, write(tmp_path, "soft.py", CORRECT + softmax), "--layers", "4,6,3")
    assert code == 0 and report["config"]["loss"] == "categorical_crossentropy"
    assert {c["function"] for c in report["runs"][1]["checks"]} >= {"softmax", "softmax_backward", "compute_cost"}
    wrong = write(tmp_path, "soft_m.py", f"exec(open({os.path.join(EXAMPLES, 'columns_missing_1_over_m.py')!r})"
                                         f".read().replace('__file__', {repr(repr(os.path.join(EXAMPLES, 'x.py')))}))\n" + softmax)
    code, report = run(tmp_path, wrong, "--layers", "4,6,3", "--overwrite")
    first = report["runs"][0]["first_divergence"]
    assert code == 1 and (first["quantity"], first["function"], first["kind"]) == ("dW2", "linear_backward", "factor")
    assert first["factor"] == pytest.approx(M)
