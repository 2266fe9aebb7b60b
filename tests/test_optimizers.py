import math

import numpy as np
import pytest

from scratch import optimizers
from scratch.keras_compat import QUIRKS
from scratch.optimizers import SGD, Adagrad, Adam, AdamW, RMSprop
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
    for opt in (SGD(momentum=0.9), RMSprop(momentum=0.5, centered=True), Adam(), Adagrad(clipnorm=0.01),
                AdamW(amsgrad=True, global_clipnorm=0.01), SGD(weight_decay=0.1, clipvalue=0.01)):
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
    assert isinstance(optimizers.get("adagrad"), Adagrad) and isinstance(optimizers.get("AdamW"), AdamW)
    opt = RMSprop()
    assert optimizers.get(opt) is opt
    assert Adam().get_config() == {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                                   "amsgrad": False}
    assert AdamW().get_config() == Adam().get_config() | {"weight_decay": 0.004}
    assert Adagrad().get_config() == {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7}
    assert SGD().learning_rate == 0.01


@pytest.mark.parametrize("make,match", [
    (lambda: optimizers.get("nadam"), "unknown optimizer 'nadam'; valid: sgd, adagrad, rmsprop, adam, adamw"),
    (lambda: SGD(clipnorm=1.0, clipvalue=0.5), "only one of clipnorm, global_clipnorm and clipvalue can be set, "
                                              "got clipnorm=1.0, clipvalue=0.5"),
    (lambda: Adam(clipnorm=0), "clipnorm must be > 0, got 0"),
    (lambda: RMSprop(global_clipnorm=-1.0), "global_clipnorm must be > 0"),
    (lambda: SGD(weight_decay=-0.1), "weight_decay must be >= 0.0"),
    (lambda: AdamW(weight_decay=None), "weight_decay must be a number for AdamW, got None"),
    (lambda: Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value must be >= 0.0"),
    (lambda: Adam(decay=0.1), "unexpected keyword argument 'decay'"),
    (lambda: optimizers.get(3), "unknown optimizer 3"),
    (lambda: SGD(learning_rate=0), "learning_rate must be > 0, got 0"),
    (lambda: Adam(learning_rate=-1e-3), "learning_rate must be > 0"),
    (lambda: Adam(learning_rate=float("nan")), "learning_rate must be a finite number"),
    (lambda: Adam(beta_1=1.0), "beta_1 must be < 1.0"),
    (lambda: SGD(momentum=-0.1), "momentum must be >= 0.0"),
    (lambda: RMSprop(rho=1.5), "rho must be < 1.0"),
])
def test_bad_settings(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
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


@pytest.mark.parametrize("make", [Adam, lambda: AdamW(amsgrad=True)])
def test_adam_in_blocks_gives_the_bits_of_one_pass(monkeypatch, make):
    """Over CHUNK parameters Adam runs block by block (weight decay and amsgrad's maximum
    included); elementwise, so no bit changes."""
    rng = np.random.default_rng(4)
    n = 3 * optimizers.CHUNK + 17
    start = rng.standard_normal(n, dtype=np.float32)
    params = [start.copy(), start.copy()]
    grads = [rng.standard_normal(n, dtype=np.float32) * 0.1 for _ in range(5)]
    blocked, whole = make(), make()
    for g in grads:
        blocked.apply_gradients([params[0]], [g])
    monkeypatch.setattr(optimizers, "CHUNK", 4 * n)
    for g in grads:
        whole.apply_gradients([params[1]], [g])
    assert np.array_equal(params[0], params[1])
    assert all(np.array_equal(blocked.slots[k][0], whole.slots[k][0]) for k in blocked.slots)
    assert not np.array_equal(params[0], start)


# --- Adagrad, amsgrad, weight decay, clipping: steps by hand -----------------------------------------

def test_adagrad_step_by_hand():
    """a = 0.1 + g^2 = 0.35;  p = 1 - lr g / sqrt(a + eps)."""
    opt = Adagrad(0.1)
    p = one_step(opt)
    # 9 roundings a side: the literals 0.1 (twice) and 1e-7, a + g^2 (g^2 is exact), + eps, sqrt,
    # lr g, the division, p - (.)
    assert_close(p, 1.0 - 0.1 * 0.5 / math.sqrt(0.35 + 1e-7), ulps(np.float64, 18))
    assert opt.slots["accumulator"][0][0] == 0.1 + 0.25  # 0.35: one rounding on both sides, the same one


def test_adagrad_starts_from_its_initial_value_rounded_as_keras_does():
    """Keras's Constant initializer computes ops.cast(0.1, float64), through float32: the
    accumulator starts at 0.10000000149011612 (the quirk ``optimizers.CAST_QUIRK``)."""
    for keras_compat, start in ((True, float(np.float32(0.1))), (False, 0.1), ([], 0.1)):
        opt = Adagrad(initial_accumulator_value=0.1)
        opt.build([np.zeros(3)], keras_compat)
        assert np.all(opt.slots["accumulator"][0] == start)
    opt = Adagrad(initial_accumulator_value=0.1)
    opt.apply_gradients([np.zeros(2)], [np.zeros(2)], keras_compat=[optimizers.CAST_QUIRK])
    assert np.all(opt.slots["accumulator"][0] == float(np.float32(0.1)))  # 0 + 0 added: the start itself


def test_amsgrad_divides_by_the_largest_velocity_by_hand():
    """g = 0.5, then 0.01: v falls from 2.5e-4 to 2.4985e-4, v_hat keeps 2.5e-4, and the second
    step divides by sqrt(v_hat)."""
    lr, eps, g1, g2 = 0.1, 1e-7, 0.5, 0.01
    m1, v1 = 0.1 * g1, 0.001 * g1 ** 2
    p1 = 1.0 - m1 * (lr * math.sqrt(1 - 0.999) / (1 - 0.9)) / (math.sqrt(v1) + eps)
    m2, v2 = m1 + (g2 - m1) * 0.1, v1 + (g2 ** 2 - v1) * 0.001
    assert v2 < v1
    expected = p1 - m2 * (lr * math.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2)) / (math.sqrt(v1) + eps)
    P, plain = np.array([1.0]), np.array([1.0])
    opt, without = Adam(lr, amsgrad=True), Adam(lr)
    velocities = []
    for g in (g1, g2):
        opt.apply_gradients([P], [np.array([g])], keras_compat=False)
        without.apply_gradients([plain], [np.array([g])], keras_compat=False)
        velocities.append(opt.slots["velocity"][0][0])
    # 15 roundings a side per step (test_adam_step_by_hand_with_epsilon_hat), the maximum exact: 60
    rounding = ulps(np.float64, 60)
    assert_close(P[0], expected, rounding)
    assert opt.slots["velocity_hat"][0][0] == velocities[0] > velocities[1]
    assert abs(plain[0] - P[0]) > 1e6 * rounding  # plain Adam divides by the smaller sqrt(v2)


def test_weight_decay_comes_first_from_the_weights_before_the_update():
    """p -= p wd lr, then the update: 1 - 0.001 - 0.05 = 0.949.  From the weights after the
    update it would be 0.95 (1 - 0.001) = 0.94905, 5e-5 away."""
    # 8 roundings: the literals 0.01, 0.1 and 0.949, p wd, (.) lr, p - (.), lr g, p - (.)
    assert_close(one_step(SGD(0.1, weight_decay=0.01)), 0.949, ulps(np.float64, 8))
    # Keras's TensorFlow backend computes tf.cast(weight_decay, float64), through float32: the
    # same operations on float32(0.01) give the same bits
    w, lr = float(np.float32(0.01)), float(np.float32(0.1))
    assert one_step(SGD(0.1, weight_decay=0.01), keras_compat=True) == (1.0 - 1.0 * w * lr) - 0.5 * lr
    assert one_step(SGD(0.1, weight_decay=0.01), keras_compat=set(QUIRKS) - {optimizers.CAST_QUIRK}) == \
        (1.0 - 1.0 * 0.01 * lr) - 0.5 * lr


def test_adamw_is_adam_with_weight_decay():
    """Adam's step from the decayed weights, 1 - wd lr: bit for bit what Adam(weight_decay=...) takes."""
    lr, wd, g = 0.1, 0.004, 0.5
    alpha = lr * math.sqrt(1 - 0.999) / (1 - 0.9)
    expected = (1.0 - wd * lr) - (0.1 * g) * alpha / (math.sqrt(0.001 * g * g) + 1e-7)
    # Adam's 15 roundings a side and weight decay's 4 (the literal, p wd, (.) lr, p - (.))
    assert_close(one_step(AdamW(lr)), expected, ulps(np.float64, 38))
    assert one_step(AdamW(lr, amsgrad=True), steps=3) == one_step(Adam(lr, weight_decay=wd, amsgrad=True), steps=3)


def test_clipnorm_clips_each_variable_by_its_own_norm():
    """Two variables in one flat array, [3, 4] (norm 5) and [0.3, 0.4] (norm 0.5), clipnorm 1:
    the first becomes [0.6, 0.8], the second stays.  SGD with lr 1 from p = 0 gives -g clipped exactly."""
    G = np.array([3.0, 4.0, 0.3, 0.4])
    P = np.zeros(4)
    SGD(1.0, clipnorm=1.0).apply_gradients([P], [G], False, variable_grads=(G[:2], G[2:]))
    assert_close(-P[:2], [0.6, 0.8], ulps(np.float64, 2))  # the division and the literal
    assert np.array_equal(-P[2:], G[2:])  # (g 1) / max(0.5, 1): exact
    # the flat array as one variable: norm sqrt(25.25), all four scaled.  Rounding: 4 squares, 3
    # additions, sqrt, the division a side; sqrt and the division on the other, and the literals
    one = np.zeros(4)
    SGD(1.0, clipnorm=1.0).apply_gradients([one], [G], False)
    assert_close(-one, G / math.sqrt(25.25), ulps(np.float64, 14))
    assert np.array_equal(G, [3.0, 4.0, 0.3, 0.4])  # the caller's gradients are left as they were


def test_clipnorm_below_its_threshold_still_multiplies_and_divides():
    """tf.clip_by_norm computes (g c) / max(||g||, c) whatever the norm: (0.1 0.7) / 0.7 is
    0.09999999999999999, not 0.1, and Keras steps with that."""
    assert one_step(SGD(1.0, clipnorm=0.7), p=0.0, g=0.1) == -((0.1 * 0.7) / 0.7) != -0.1


def test_global_clipnorm_scales_every_gradient_by_one_factor():
    """[3, 4] and [12]: global norm 13; global_clipnorm 1.3 scales by 1.3 (1 / 13), about 0.1."""
    G = np.array([3.0, 4.0, 12.0])
    P = np.zeros(3)
    SGD(1.0, global_clipnorm=1.3).apply_gradients([P], [G], False, variable_grads=(G[:2], G[2:]))
    # 1 / 13, the product with 1.3, g scale, and the literals 1.3 and 0.3, 0.4, 1.2
    assert_close(-P, [0.3, 0.4, 1.2], ulps(np.float64, 5))
    assert np.array_equal(-P, G * (1.3 * (1.0 / 13.0)))  # c (1 / norm), Keras's, not c / norm
    # below the threshold the factor is c (1 / c): for c = 1.9 that is 1 - 2^-53, and Keras's
    # clip_by_global_norm moves every gradient by it
    assert 1.9 * (1 / 1.9) != 1.0
    assert one_step(SGD(1.0, global_clipnorm=1.9), p=0.0, g=0.001) == -(0.001 * (1.9 * (1 / 1.9))) != -0.001


def test_clipvalue_clips_each_element():
    G = np.array([3.0, -4.0, 0.2])
    P = np.zeros(3)
    SGD(1.0, clipvalue=0.5).apply_gradients([P], [G], False)
    assert np.array_equal(-P, [0.5, -0.5, 0.2])


def test_variable_gradients_must_be_views_covering_the_gradients():
    G, P = np.ones(4), np.zeros(4)
    with pytest.raises(ValueError, match="cover the gradients"):
        SGD(clipnorm=1.0).apply_gradients([P], [G], variable_grads=(G[:2],))
    with pytest.raises(ValueError, match="cover the gradients"):
        SGD(clipnorm=1.0).apply_gradients([P], [G], variable_grads=(G[:3], G[1:]))  # overlapping
    with pytest.raises(ValueError, match="views into the gradients"):
        SGD(clipnorm=1.0).apply_gradients([P], [G], variable_grads=(G[:2], np.ones(2)))


@pytest.mark.parametrize("opt", [
    SGD(0.05, momentum=0.9, nesterov=True, clipnorm=1.0), Adagrad(0.01, initial_accumulator_value=0.2, clipvalue=0.5),
    RMSprop(centered=True, momentum=0.5, weight_decay=0.01), Adam(amsgrad=True, global_clipnorm=2.0),
    AdamW(0.01, weight_decay=0.02, clipnorm=0.5),
], ids=repr)
def test_config_round_trip_and_state_through_a_saved_network(opt, tmp_path):
    """get_config names every setting as Keras does (None ones left out); a network saved with
    the optimizer's state and loaded goes on to the same bits as the one that was not saved."""
    import scratch
    again = optimizers.from_config(optimizers.get_config(opt))
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    assert None not in opt.get_config().values()
    net = scratch.Network([4, 5, 1], seed=0, dtype="float64", optimizer=opt)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 4)), rng.integers(0, 2, (8, 1)).astype(float)
    for _ in range(3):
        net.train_on_batch(X, y)
    path = str(tmp_path / "net.npz")
    net.save(path)
    loaded = scratch.load(path)
    assert set(loaded.optimizer_state()[1]) == set(opt._slot_names())
    for _ in range(3):
        net.train_on_batch(X, y)
        loaded.train_on_batch(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), loaded.get_weights()))
