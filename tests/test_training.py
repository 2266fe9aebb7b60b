import numpy as np
import pytest

import scratch
from keras_ref import datasets
from scratch import tolerances
from scratch.training import accuracy, batch_indices
from tests.helpers import assert_close, assert_rel_diff, make_xy


def test_batches_are_cut_as_keras_cuts_them():
    rng = np.random.default_rng(0)
    assert [len(b) for b in batch_indices(10, 4, False, rng)] == [4, 4, 2]  # the last one partial
    assert [b.tolist() for b in batch_indices(5, 5, False, rng)] == [[0, 1, 2, 3, 4]]  # batch GD
    assert len(list(batch_indices(7, 1, True, rng))) == 7  # stochastic GD
    shuffled = np.concatenate(list(batch_indices(50, 8, True, np.random.default_rng(3))))
    again = np.concatenate(list(batch_indices(50, 8, True, np.random.default_rng(3))))
    assert sorted(shuffled) == list(range(50)) and np.array_equal(shuffled, again)
    assert not np.array_equal(shuffled, np.arange(50))


def test_accuracy_as_keras_resolves_it():
    assert accuracy(np.array([[1.0], [0.0], [1.0]]), np.array([[0.7], [0.5], [0.5]])).tolist() == [1, 1, 0]
    Y = np.eye(3)[[0, 2]]
    assert accuracy(Y, np.array([[0.5, 0.3, 0.2], [0.5, 0.1, 0.4]])).tolist() == [1, 0]
    # binary_accuracy compares the label itself with (a > 0.5): a soft label never matches, as
    # keras.metrics.binary_accuracy([[0.7], [1.0], [0.0]], [[0.9], [0.9], [0.2]]) == [0, 1, 1]
    assert accuracy(np.array([[0.7], [1.0], [0.0]]), np.array([[0.9], [0.9], [0.2]])).tolist() == [0, 1, 1]


def test_accuracy_needs_one_shape():
    with pytest.raises(ValueError, match=r"one shape, got \(2, 1\) and \(2, 3\)"):
        accuracy(np.ones((2, 1)), np.ones((2, 3)))


@pytest.fixture(scope="module")
def iris():
    return datasets.load("iris", seed=0)


def test_fit_history_and_learning(iris, capsys):
    net = scratch.Network([4, 8, 3], hidden_activation="relu", output_activation="softmax",
                          loss="categorical_crossentropy", seed=0, dtype="float64")
    history = scratch.fit(net, iris.X_train, iris.y_train, epochs=30, batch_size=16, optimizer=scratch.Adam(0.01),
                          seed=0, validation_data=(iris.X_val, iris.y_val), verbose=1)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 30 for v in history.values())
    assert history["loss"][-1] < 0.5 * history["loss"][0] and history["val_accuracy"][-1] > 0.8
    out = capsys.readouterr().out
    assert "Epoch 1/30" in out and "Epoch 30/30" in out and "8/8 [" in out and "val_accuracy:" in out
    # a count of hits over the same n on both sides: one division each
    assert_close(scratch.evaluate(net, iris.X_val, iris.y_val)["accuracy"], history["val_accuracy"][-1],
                 tolerances.ulps(np.float64, 2), what="val_accuracy")


def test_fit_epochs_zero_trains_nothing(iris):
    net = scratch.Network([4, 3, 3], output_activation="softmax", loss="categorical_crossentropy", seed=0)
    before = net.get_weights()
    assert scratch.fit(net, iris.X_train, iris.y_train, epochs=0, verbose=0) == {"loss": [], "accuracy": []}
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))


def test_fit_matches_model_fit(iris):
    """Whole run, same shuffled batches: Keras's history and weights, to float64 rounding.

    Within sqrt(k) N eps after k steps (``tolerances.training``): 1.3e-13 for 4-8-3 on batches
    of 32 after 12 steps (3 epochs of 120 examples), for each epoch's loss and each weight tensor.
    """
    import keras_ref
    layers = [4, 8, 3]
    spec = dict(hidden_activation="tanh", output_activation="softmax", loss="categorical_crossentropy")
    model = keras_ref.build_model(layers, seed=2, dtype="float64", **spec)
    net = scratch.Network(layers, dtype="float64", **spec)
    net.set_weights(model.get_weights())
    epochs, batch_size = 3, 32
    history = scratch.fit(net, iris.X_train, iris.y_train, epochs=epochs, batch_size=batch_size, seed=5, verbose=0)
    rng = np.random.default_rng(5)
    keras_loss = []
    for _ in range(epochs):
        order = np.concatenate(list(batch_indices(len(iris.X_train), batch_size, True, rng)))
        h = model.fit(iris.X_train[order], iris.y_train[order], batch_size=batch_size, shuffle=False, verbose=0)
        keras_loss += h.history["loss"]
    steps = epochs * -(-len(iris.X_train) // batch_size)
    tol = tolerances.training(np.float64, layers, batch_size, steps)
    assert_close(history["loss"], keras_loss, tol, what="epoch losses")
    for i, (a, b) in enumerate(zip(model.get_weights(), net.get_weights())):
        assert_rel_diff(a, b, tol, what=f"weights {i}")


def test_zero_init_units_stay_identical_through_training():
    """sigmoid(0) = 0.5 lets W2, then W1, learn; with tanh or relu, A1 = 0 and no kernel ever moves."""
    net = scratch.Network([4, 6, 1], hidden_activation="sigmoid", init_mode="zero", dtype="float64")
    X, y = make_xy((4, 6, 1), "binary_crossentropy", m=64)
    epochs, batch_size = 20, 8
    history = scratch.fit(net, X, y, epochs=epochs, batch_size=batch_size, seed=0, verbose=0)
    W1, b1, W2, b2 = net.get_weights()
    assert history["loss"][-1] < history["loss"][0]  # it does learn something...
    # ...as one unit: the columns differ only by BLAS's summation order, at most an ulp of the
    # layer's largest parameter a step (tolerances.symmetry; measured 1e-17)
    symmetry = tolerances.symmetry(np.float64, epochs * len(X) // batch_size)
    layer1, layer2 = max(np.abs(W1).max(), np.abs(b1).max()), max(np.abs(W2).max(), np.abs(b2).max())
    assert W1.any()
    assert_close(np.ptp(W1, axis=1), 0, atol=symmetry * layer1, what="W1's columns")
    assert_close(np.ptp(b1), 0, atol=symmetry * layer1, what="b1's entries")
    assert_close(np.ptp(W2), 0, atol=symmetry * layer2, what="W2's rows")


@pytest.mark.parametrize("kwargs,match", [
    (dict(batch_size=0), "batch_size must be an integer from 1 to the number of examples"),
    (dict(batch_size=65), r"number of examples \(64\), got 65"),
    (dict(epochs=-1), "epochs must be an integer >= 0"),
    (dict(optimizer="nadam"), "unknown optimizer 'nadam'"),
])
def test_fit_bad_arguments(kwargs, match):
    net = scratch.Network([4, 6, 1])
    X, y = make_xy((4, 6, 1), "binary_crossentropy", m=64)
    with pytest.raises(ValueError, match=match):
        scratch.fit(net, X, y, verbose=0, **kwargs)


def test_a_diverging_loss_names_its_step():
    net = scratch.Network([4, 6, 1], output_activation="linear", loss="mean_squared_error", seed=0,
                          dtype="float64")
    X, y = make_xy((4, 6, 1), "mean_squared_error", m=64)
    with pytest.raises(FloatingPointError, match=r"loss became (inf|nan) at optimizer step \d+ \(epoch \d+, batch \d+\)"):
        with np.errstate(all="ignore"):
            scratch.fit(net, X, y * 1e3, epochs=50, batch_size=8, optimizer=scratch.SGD(10.0), verbose=0)


def test_train_on_batch_returns_the_loss_before_the_step():
    net = scratch.Network([4, 6, 1], seed=0, dtype="float64")
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    before = net.cost(X, y)
    assert net.train_on_batch(X, y, scratch.SGD(0.1)) == before and net.cost(X, y) < before


def test_datasets_are_split_normalised_and_offline():
    for name in datasets.DATASETS:
        s = datasets.load(name, seed=1)
        assert len(s.X_train) > len(s.X_val) > 0 and s.X_train.shape[1] == s.X_val.shape[1]
        # normalised in float64, then each value rounded to float32 by at most half an ulp of
        # itself: the mean moves by at most that of mean |x|, the std by that of itself (one
        # ulp allowed, for the float64 steps)
        assert_close(s.X_train.mean(axis=0), 0, tolerances.ulps(np.float32, 1), scale=np.abs(s.X_train).mean(axis=0),
                     what=f"{name}: feature means")
        std = s.X_train.std(axis=0)  # exactly 0 only for digits' blank pixels, all zeros
        assert_close(std[std > 0], 1, tolerances.ulps(np.float32, 1), what=f"{name}: feature stds")
        assert np.array_equal(s.X_train, s.X_train.astype(np.float32))  # float32-representable
        assert s.n_outputs == (1 if s.classes == 2 else s.classes)
    with pytest.raises(ValueError, match="unknown data set 'mnist'; valid: iris, wine"):
        datasets.load("mnist")


def test_a_named_optimizer_keeps_its_state_between_calls():
    net = scratch.Network([4, 6, 1], seed=0)
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    net.train_on_batch(X, y, "adam")
    scratch.fit(net, X, y, epochs=2, batch_size=8, optimizer="adam", verbose=0)
    assert isinstance(net.optimizer, scratch.Adam) and net.optimizer.iterations == 1 + 2 * 2
    net.train_on_batch(X, y, "sgd")
    assert isinstance(net.optimizer, scratch.SGD) and net.optimizer.iterations == 1
