import math

import numpy as np
import pytest

from scratch import optimizers
from scratch.optimizers import SGD, Adam, RMSprop
from scratch.tolerances import ulps
from tests.helpers import assert_close

# Steps worked out by hand hold to ulps(float64, k), k the roundings of both sides together
# (decimal literals such as 0.9 and 0.1 count, as 1 - 0.9 is not the double 0.1): each moves
# the result by at most half an ulp of what it rounds, which leaves a factor 2 for
# intermediate values larger than the result.


def one_step(opt, p=1.0, g=0.5, steps=1, keras_compat=False):
    P, G = np.array([p]), np.array([g])
    for _ in range(steps):
        opt.apply_gradients([P], [G], keras_compat)
    return P[0]


def test_sgd_is_the_lecture_update():
    assert_close(one_step(SGD(0.1)), 1.0 - 0.1 * 0.5, ulps(np.float64, 4))  # lr g and p - (.), a side


def test_sgd_momentum_two_steps_by_hand():
    # m1 = -lr g = -0.05, p1 = 0.95;  m2 = 0.9 m1 - lr g = -0.095, p2 = 0.855
    # 6 roundings (lr g twice, p + m1, 0.9 m1, m2, p + m2) and the literal 0.855's
    assert_close(one_step(SGD(0.1, momentum=0.9), steps=2), 0.855, ulps(np.float64, 7))
    # nesterov: p1 = 1 + 0.9 (-0.05) - 0.05 = 0.905: lr g, 0.9 m1, minus lr g, p + (.), the literal
    assert_close(one_step(SGD(0.1, momentum=0.9, nesterov=True)), 0.905, ulps(np.float64, 5))


def test_rmsprop_step_by_hand():
    v = 0.1 * 0.25
    # 8 roundings a side: 1 - rho (or the literal 0.1), its product with g^2, + 1e-7, sqrt,
    # lr g, the division, p - (.), and the literal 1e-7
    assert_close(one_step(RMSprop(0.01)), 1.0 - 0.01 * 0.5 / math.sqrt(v + 1e-7), ulps(np.float64, 16))


def test_adam_step_by_hand_with_epsilon_hat():
    """t = 1: alpha = lr sqrt(1 - b2) / (1 - b1), m = 0.1 g, v = 0.001 g^2, p -= m alpha / (sqrt(v) + eps)."""
    lr, g = 0.1, 0.5
    alpha = lr * math.sqrt(1 - 0.999) / (1 - 0.9)
    expected = 1.0 - (0.1 * g) * alpha / (math.sqrt(0.001 * g * g) + 1e-7)
    # 15 roundings a side: alpha's 5 (1 - beta_2, sqrt, lr x, 1 - beta_1, /), m's 2 and v's 2
    # (1 - beta and the product), sqrt, + epsilon, m alpha, /, p - (.), and the literal 1e-7
    rounding = ulps(np.float64, 30)
    assert_close(one_step(Adam(lr)), expected, rounding)
    # epsilon hat: the step is not lr exactly, as Algorithm 1's corrected form would give, but
    # lr (1 - epsilon / (sqrt(v) + epsilon)): 6.3e-7 short of lr, 1e8 times the rounding
    step = 1.0 - expected
    assert lr - step == pytest.approx(lr * 1e-7 / (math.sqrt(0.001 * g * g) + 1e-7), abs=rounding)
    assert lr - step > rounding


def test_slots_are_kept_per_parameter():
    opt = Adam()
    params = [np.ones((2, 3)), np.ones(3)]
    opt.apply_gradients(params, [np.full((2, 3), 0.1), np.full(3, 0.2)])
    assert set(opt.slots) == {"momentum", "velocity"} and opt.iterations == 1
    assert [m.shape for m in opt.slots["momentum"]] == [(2, 3), (3,)]
    # (g - 0)(1 - beta_1) against 0.1 x 0.2: 1 - 0.9, the literal 0.1 and a product a side
    assert_close(opt.slots["momentum"][1], 0.1 * 0.2, ulps(np.float64, 4))


def test_float32_parameters_stay_float32():
    for opt in (SGD(momentum=0.9), RMSprop(momentum=0.5, centered=True), Adam()):
        P = np.ones(3, dtype=np.float32)
        opt.apply_gradients([P], [np.full(3, 0.1, dtype=np.float32)])
        assert P.dtype == np.float32 and all(s[0].dtype == np.float32 for s in opt.slots.values())


def test_keras_compat_rounds_the_learning_rate_and_the_betas():
    """float32(0.001) and float32(0.9) are 4.7e-8 and 2.6e-8 of themselves off: p moves by 5e-11
    and 7e-9, over 1e5 ulps of it.  SGD's step is the test's own two roundings: equal bits."""
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
    """50 steps on one float64 variable with varying gradients: Keras's apply vs scratch's.

    Each step's p + update rounds by at most half an ulp of max |P| on either side; the updates
    (below 2e-3 of max |P|) may differ by a few ulps of themselves, far less.  The gradients
    do not depend on P, so nothing feeds back: k steps stay within k ulps of max |P|.
    """
    import keras
    import tensorflow as tf
    keras_opt = {"sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop,
                 "adam": keras.optimizers.Adam}[kind](**kwargs)
    ours = optimizers.OPTIMIZERS[kind](**kwargs)
    var = tf.Variable(np.linspace(-1, 1, 5), dtype=tf.float64)
    P = np.linspace(-1, 1, 5)
    rng = np.random.default_rng(0)
    steps = 50
    for _ in range(steps):
        G = rng.standard_normal(5) * 1e-2
        keras_opt.apply_gradients([(tf.constant(G), var)])
        ours.apply_gradients([P], [G])
    tol = ulps(np.float64, steps) * np.max(np.abs(P))
    assert_close(var.numpy(), P, atol=tol, what=f"{kind} after {steps} steps")
    # negative control: without the float32 roundings Keras applies, the trajectories part.
    # float32(learning_rate) (and momentum, betas) are off by up to 2^-24 of themselves: the
    # trajectories end 9e-11 to 6e-8 apart (measured), 8000 times tol and more
    exact = optimizers.OPTIMIZERS[kind](**kwargs)
    P2 = np.linspace(-1, 1, 5)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        exact.apply_gradients([P2], [rng.standard_normal(5) * 1e-2], keras_compat=False)
    assert np.max(np.abs(var.numpy() - P2)) > tol


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
