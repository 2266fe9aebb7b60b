"""scratch.save / scratch.load: one .npz without pickle, read back with NumPy alone."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import scratch
from tests.helpers import make_xy


@pytest.fixture
def trained(tmp_path):
    """A softmax network with L2 and leaky ReLU, trained 8 Adam steps, saved."""
    net = scratch.Network([4, 6, 3], hidden_activation="leaky_relu", output_activation="softmax",
                          loss="categorical_crossentropy", l2=0.01, seed=0, dtype="float64", optimizer="adam")
    X, Y = make_xy((4, 6, 3), "categorical_crossentropy", m=20)
    scratch.fit(net, X, Y, epochs=2, batch_size=5, verbose=0)
    path = tmp_path / "twin.npz"
    net.save(str(path))
    return net, path, X, Y


def test_a_saved_network_comes_back_whole_and_trains_on_the_same_way(trained):
    net, path, X, Y = trained
    back = scratch.load(str(path))
    assert back.get_config() == net.get_config()
    assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(back.get_weights(), net.get_weights()))
    assert np.array_equal(back.predict(X), net.predict(X))
    assert back.optimizer.iterations == net.optimizer.iterations == 8
    for side in (net, back):  # the optimizer's moments came back too: the next epoch is the same, bit for bit
        scratch.fit(side, X, Y, epochs=1, batch_size=5, seed=3, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(back.get_weights(), net.get_weights()))


def test_the_file_holds_plain_arrays_only(trained):
    _, path, _, _ = trained
    with np.load(path, allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)
        assert json.loads(f["config"].item())["loss"] == "categorical_crossentropy"


def test_it_loads_and_predicts_where_tensorflow_cannot_be_imported(trained, tmp_path):
    net, path, X, _ = trained
    np.save(tmp_path / "X.npy", X)
    code = textwrap.dedent(f"""
        import sys
        class NoFrameworks:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                    raise ImportError(f"{{name}} is not allowed here")
        sys.meta_path.insert(0, NoFrameworks())
        try:
            import tensorflow
            sys.exit("tensorflow imported")
        except ImportError:
            pass
        import numpy as np, scratch
        net = scratch.load({str(path)!r})
        np.save({str(tmp_path / "P.npy")!r}, net.predict(np.load({str(tmp_path / "X.npy")!r})))
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert np.array_equal(np.load(tmp_path / "P.npy"), net.predict(X))


def test_an_existing_file_is_kept_unless_asked(trained):
    net, path, _, _ = trained
    before = path.read_bytes()
    with pytest.raises(ValueError, match="exists; pass overwrite=True"):
        net.save(str(path))
    assert path.read_bytes() == before
    net.save(str(path), overwrite=True)


def rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(changes)
    with open(path, "wb") as f:
        np.savez(f, **{k: v for k, v in arrays.items() if v is not None})


@pytest.mark.parametrize("change, message", [
    (lambda p: p.write_bytes(b"not a zip"), "is not a scratch network file"),
    (lambda p: rewrite(p, format=None), "no 'scratch.Network/1' format marker"),
    (lambda p: rewrite(p, config=np.array("{not json")), "its config is not JSON"),
    (lambda p: rewrite(p, weight_0=np.zeros((4, 6), np.float32)), "weight_0 is float32, the config says float64"),
    (lambda p: rewrite(p, weight_3=None), "weight_3 is missing"),
    (lambda p: rewrite(p, weight_0=np.zeros((6, 4))), r"array 0 has shape \(6, 4\), expected \(4, 6\)"),
    (lambda p: rewrite(p, config=np.array(json.dumps({"layers": [{"class_name": "Input", "config": {"units": 4}},
                                                                  {"class_name": "Lambda", "config": {}}]}))),
     "unknown layer 'Lambda'; valid: Dense, Activation"),
    (lambda p: rewrite(p, weight_1=np.array([object()], dtype=object)), "is not a scratch network file"),
])
def test_a_bad_file_is_refused_with_a_reason(trained, change, message):
    _, path, _, _ = trained
    change(path)
    with pytest.raises(ValueError, match=message):
        scratch.load(str(path))
