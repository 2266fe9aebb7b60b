import math

import numpy as np
import pytest

from scratch import optimizers
from scratch.optimizers import SGD, Adam, RMSprop


def one_step(opt, p=1.0, g=0.5, steps=1, keras_compat=False):
    P, G = np.array([p]), np.array([g])
    for _ in range(steps):
        opt.apply_gradients([P], [G], keras_compat)
    return P[0]


def test_sgd_is_the_lecture_update():
    assert one_step(SGD(0.1)) == pytest.approx(1.0 - 0.1 * 0.5, rel=1e-15)


def test_sgd_momentum_two_steps_by_hand():
    # m1 = -lr g = -0.05, p1 = 0.95;  m2 = 0.9 m1 - lr g = -0.095, p2 = 0.855
    assert one_step(SGD(0.1, momentum=0.9), steps=2) == pytest.approx(0.855, rel=1e-15)
    # nesterov: p1 = 1 + 0.9 (-0.05) - 0.05 = 0.905
    assert one_step(SGD(0.1, momentum=0.9, nesterov=True)) == pytest.approx(0.905, rel=1e-15)


def test_rmsprop_step_by_hand():
    v = 0.1 * 0.25
    assert one_step(RMSprop(0.01)) == pytest.approx(1.0 - 0.01 * 0.5 / math.sqrt(v + 1e-7), rel=1e-14)


def test_adam_step_by_hand_with_epsilon_hat():
    """t = 1: alpha = lr sqrt(1 - b2) / (1 - b1), m = 0.1 g, v = 0.001 g^2, p -= m alpha / (sqrt(v) + eps)."""
    lr, g = 0.1, 0.5
    alpha = lr * math.sqrt(1 - 0.999) / (1 - 0.9)
    expected = 1.0 - (0.1 * g) * alpha / (math.sqrt(0.001 * g * g) + 1e-7)
    assert one_step(Adam(lr)) == pytest.approx(expected, rel=1e-15)
    # epsilon hat: the step is not lr exactly, as Algorithm 1's corrected form would give
    assert 1.0 - expected != pytest.approx(lr, rel=1e-7)


def test_slots_are_kept_per_parameter():
    opt = Adam()
    params = [np.ones((2, 3)), np.ones(3)]
    opt.apply_gradients(params, [np.full((2, 3), 0.1), np.full(3, 0.2)])
    assert set(opt.slots) == {"momentum", "velocity"} and opt.iterations == 1
    assert [m.shape for m in opt.slots["momentum"]] == [(2, 3), (3,)]
    assert np.allclose(opt.slots["momentum"][1], 0.1 * 0.2)


def test_float32_parameters_stay_float32():
    for opt in (SGD(momentum=0.9), RMSprop(momentum=0.5, centered=True), Adam()):
        P = np.ones(3, dtype=np.float32)
        opt.apply_gradients([P], [np.full(3, 0.1, dtype=np.float32)])
        assert P.dtype == np.float32 and all(s[0].dtype == np.float32 for s in opt.slots.values())


def test_keras_compat_rounds_the_learning_rate_and_the_betas():
    exact = one_step(Adam(0.001), keras_compat=False)
    assert one_step(Adam(0.001), keras_compat=["adam_betas"]) != exact
    assert one_step(Adam(0.001), keras_compat=["learning_rate"]) != exact
    assert one_step(SGD(0.001), keras_compat=True) == 1.0 - 0.5 * float(np.float32(0.001))


def test_names_and_instances():
    assert isinstance(optimizers.get("adam"), Adam) and isinstance(optimizers.get("SGD"), SGD)
    opt = RMSprop()
    assert optimizers.get(opt) is opt
    assert Adam().get_config() == {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    assert SGD().learning_rate == 0.01


@pytest.mark.parametrize("make,match", [
    (lambda: optimizers.get("adagrad"), "unknown optimizer 'adagrad'; valid: sgd, rmsprop, adam"),
    (lambda: optimizers.get(3), "unknown optimizer 3"),
    (lambda: SGD(learning_rate=0), "learning_rate must be > 0, got 0"),
    (lambda: Adam(learning_rate=-1e-3), "learning_rate must be > 0"),
    (lambda: Adam(learning_rate=float("nan")), "learning_rate must be a finite number"),
    (lambda: Adam(beta_1=1.0), "beta_1 must be < 1.0"),
    (lambda: SGD(momentum=-0.1), "momentum must be >= 0.0"),
    (lambda: RMSprop(rho=1.5), "rho must be < 1.0"),
])
def test_bad_settings(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("kind,kwargs", [
    ("sgd", {"learning_rate": 0.05}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.5, "centered": True}),
    ("adam", {}),
])
def test_same_trajectory_as_keras_optimizer(kind, kwargs):
    """50 steps on one float64 variable with varying gradients: Keras's apply vs scratch's."""
    import keras
    import tensorflow as tf
    keras_opt = {"sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop,
                 "adam": keras.optimizers.Adam}[kind](**kwargs)
    ours = optimizers.OPTIMIZERS[kind](**kwargs)
    var = tf.Variable(np.linspace(-1, 1, 5), dtype=tf.float64)
    P = np.linspace(-1, 1, 5)
    rng = np.random.default_rng(0)
    for _ in range(50):
        G = rng.standard_normal(5) * 1e-2
        keras_opt.apply_gradients([(tf.constant(G), var)])
        ours.apply_gradients([P], [G])
    assert np.max(np.abs(var.numpy() - P)) <= 1e-15 * np.max(np.abs(P))
    # negative control: without the float32 roundings Keras applies, the trajectories part
    exact = optimizers.OPTIMIZERS[kind](**kwargs)
    P2 = np.linspace(-1, 1, 5)
    rng = np.random.default_rng(0)
    for _ in range(50):
        exact.apply_gradients([P2], [rng.standard_normal(5) * 1e-2], keras_compat=False)
    assert np.max(np.abs(var.numpy() - P2)) > 1e-12


def test_an_optimizer_steps_one_set_of_parameters():
    import scratch
    a, b = scratch.Network([4, 6, 1], seed=0), scratch.Network([4, 6, 1], seed=1)
    X = np.ones((2, 4), dtype=np.float32)
    y = np.ones((2, 1), dtype=np.float32)
    opt = Adam()
    a.train_on_batch(X, y, opt)
    with pytest.raises(ValueError, match="already steps other parameters"):
        b.train_on_batch(X, y, opt)


def test_a_transposed_view_is_refused_not_silently_skipped():
    W = np.ones((3, 2)).T
    with pytest.raises(ValueError, match="C-contiguous"):
        Adam().apply_gradients([W], [np.ones_like(W)])


def test_network_layers_cannot_be_detached_from_the_buffer():
    import scratch
    net = scratch.Network([4, 6, 1])
    with pytest.raises(TypeError):
        net.W[0] = np.zeros((4, 6), dtype=np.float32)


def test_adam_in_blocks_gives_the_bits_of_one_pass(monkeypatch):
    """Over CHUNK parameters Adam runs block by block; elementwise, so no bit changes."""
    rng = np.random.default_rng(4)
    n = 3 * optimizers.CHUNK + 17
    start = rng.standard_normal(n, dtype=np.float32)
    params = [start.copy(), start.copy()]
    grads = [rng.standard_normal(n, dtype=np.float32) * 0.1 for _ in range(5)]
    blocked, whole = Adam(), Adam()
    for g in grads:
        blocked.apply_gradients([params[0]], [g])
    monkeypatch.setattr(optimizers, "CHUNK", 4 * n)
    for g in grads:
        whole.apply_gradients([params[1]], [g])
    assert np.array_equal(params[0], params[1])
    assert np.array_equal(blocked.slots["velocity"][0], whole.slots["velocity"][0])
    assert not np.array_equal(params[0], start)
