import json

import numpy as np
import pytest

from compare import signal
from scratch import tolerances

SMALL = ["--depth", "6", "--width", "32", "--batch-size", "128", "--activations", "tanh,relu",
         "--init-modes", "zero,normal,glorot_uniform,he_normal"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signal")
    code = signal.main(SMALL + ["--plot", str(folder / "s.png"), "--json", str(folder / "s.json")])
    return code, folder, {(c["init_mode"], c["activation"]): c for c in json.loads((folder / "s.json").read_text())["cases"]}


def ratio(case, key="activation_std"):
    a = case["scratch"][key]
    return a[-1] / a[0] if a[0] else 0.0


def test_both_sides_agree_and_the_plot_is_written(small):
    code, folder, cases = small
    assert code == 0 and len(cases) == 8
    tolerance = signal.Config(depth=6, width=32, batch_size=128).tolerance()  # N eps, float64
    assert tolerance == tolerances.sums("float64", tolerances.network_terms([64] + [32] * 6 + [1], 128) + 12)
    assert (folder / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for c in cases.values():
        assert len(c["scratch"]["activation_std"]) == 6 == len(c["keras"]["gradient_std"])
        assert max(e["max_rel"] for e in c["agreement"].values()) <= tolerance


def test_what_the_lecture_claims(small):
    cases = small[2]
    assert ratio(cases["he_normal", "relu"]) > 0.3  # He keeps the signal through ReLU...
    assert ratio(cases["normal", "relu"]) < 1e-3  # ...N(0, 0.05) loses it
    assert ratio(cases["glorot_uniform", "tanh"]) > 0.3  # Glorot keeps it through tanh...
    assert ratio(cases["glorot_uniform", "relu"]) < ratio(cases["he_normal", "relu"]) / 2  # ...less through ReLU
    assert ratio(cases["normal", "tanh"]) < 1e-2
    for act in ("tanh", "relu"):
        zero = cases["zero", act]
        assert not any(zero["scratch"]["activation_std"]) and not any(zero["scratch"]["gradient_std"])


def test_a_perturbed_weight_breaks_agreement():
    """Negative control: one scratch kernel off by 1 % shows in the per-layer stds."""
    import keras_ref
    import scratch
    config = signal.Config(depth=3, width=16, inputs=8, batch_size=64)
    model = keras_ref.build_model(config.layers, hidden_activation="tanh", seed=0, dtype="float64")
    net = scratch.Network(config.layers, hidden_activation="tanh", dtype="float64")
    net.set_weights(model.get_weights())
    w = net.get_weights()
    w[2] = w[2] * 1.01
    net.set_weights(w)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((64, 8)), rng.integers(0, 2, (64, 1)).astype(float)
    stds = signal.layer_stds(model, net, X, Y)
    from compare.core import errors
    assert errors(stds["keras"]["activation_std"], stds["scratch"]["activation_std"])["max_rel"] > 1e3 * config.tolerance()


def test_an_earlier_plot_is_kept(tmp_path, capsys):
    plot = tmp_path / "s.png"
    plot.write_bytes(b"earlier")
    with pytest.raises(SystemExit) as exit_info:
        signal.main(SMALL + ["--plot", str(plot)])
    assert exit_info.value.code == 2 and plot.read_bytes() == b"earlier"
    assert "pass --overwrite" in capsys.readouterr().err
