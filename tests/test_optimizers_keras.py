"""Scratch's optimizers against Keras's own, step by step.

1. Every optimizer x clipping mode x dtype: the same random gradients applied for 30 steps to
   Keras variables (Keras's ``apply_gradients``) and to one flat scratch array, the way a
   network steps it (``variable_grads`` gives the variables); weights and every slot compared
   after every step.  Negative controls: a wrong clipping threshold, and a dropped float32
   rounding, must each fail.
2. Twins: a small Keras model compiled with each new optimizer (and clipping), trained two
   epochs, twinned by ``compare.twin.from_keras``, then 20 ``train_on_batch`` steps on both
   sides, weights and slots compared after each.
"""
import functools

import numpy as np
import pytest

import keras_ref
from compare import twin
from compare.core import errors
from keras_ref import quiet
from scratch import optimizers, tolerances
from scratch.keras_compat import QUIRKS
from tests.helpers import check

pytestmark = pytest.mark.numerics

#: The variables of the lecture's 4-6-1 network, stepped as one flat array on the scratch side.
SHAPES = ((4, 6), (6,), (6, 1), (1,))
STEPS = 30
#: name -> (scratch kind, settings): each optimizer, with weight decay on two of them.
CASES = {
    "sgd_nesterov_decay": ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    "adagrad": ("adagrad", {"learning_rate": 0.05}),
    "rmsprop_centered": ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    "adam": ("adam", {"learning_rate": 0.01}),
    "adam_amsgrad": ("adam", {"learning_rate": 0.01, "amsgrad": True}),
    "adamw": ("adamw", {"learning_rate": 0.01, "weight_decay": 0.05}),
}
#: Thresholds that clip some steps and not others: the gradients' scale varies from step to
#: step by 10^U(-1.3, 0.5), so W1's norm (24 standard normals, about 4.9) goes from 0.25 to 15.
CLIPS = {"none": {}, "clipnorm": {"clipnorm": 1.0}, "global_clipnorm": {"global_clipnorm": 2.0},
         "clipvalue": {"clipvalue": 0.5}}
#: The quirks each case's float64 run depends on: leaving one out must fail.
DEPENDS_ON = {"sgd_nesterov_decay": ("learning_rate", "sgd_momentum"),
              "adagrad": ("learning_rate", optimizers.CAST_QUIRK), "rmsprop_centered": ("learning_rate",),
              "adam": ("learning_rate", "adam_betas"), "adam_amsgrad": ("adam_betas",),
              "adamw": ("adam_betas", optimizers.CAST_QUIRK)}


def draws(dtype):
    """The starting weights and STEPS gradients, one array per variable, the same for both sides."""
    rng = np.random.default_rng(0)
    start = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[(rng.standard_normal(s) * 10 ** rng.uniform(-1.3, 0.5)).astype(dtype) for s in SHAPES]
             for _ in range(STEPS)]
    return start, grads


def flat(arrays) -> np.ndarray:
    return np.concatenate([np.asarray(a).ravel() for a in arrays])


@functools.lru_cache(maxsize=None)
def keras_run(case: str, clip: str, dtype: str) -> tuple:
    """Keras's weights and slots (scratch's slot names, flat) before the first step and after each."""
    keras = quiet.keras()
    kind, settings = CASES[case]
    start, grads = draws(dtype)
    variables = [keras.Variable(w, dtype=dtype) for w in start]
    opt = getattr(keras.optimizers, {v: k for k, v in twin.OPTIMIZERS.items()}[kind])(**settings, **CLIPS[clip])
    opt.build(variables)

    def state():
        slots = {k: flat(getattr(opt, a)) for k, a in twin.KERAS_SLOTS[kind].items() if getattr(opt, a, None)}
        return {"weights": flat(variables), **slots}

    history = [state()]
    for g in grads:
        opt.apply_gradients(zip([keras.ops.convert_to_tensor(a) for a in g], variables))
        history.append(state())
    return tuple(history)


def scratch_run(case: str, clip: str, dtype: str, keras_compat=True, **changed) -> list:
    """The same steps on one flat array, as a network takes them: ``variable_grads`` are views."""
    kind, settings = CASES[case]
    start, grads = draws(dtype)
    opt = optimizers.OPTIMIZERS[kind](**(settings | CLIPS[clip] | changed))
    P = flat(start)
    G = np.empty_like(P)
    views, at = [], 0
    for s in SHAPES:
        views.append(G[at:at + int(np.prod(s))].reshape(s))
        at += views[-1].size
    history = []
    for g in grads:
        G[...] = flat(g)
        opt.apply_gradients([P], [G], keras_compat, variable_grads=tuple(views))
        history.append({"weights": P.copy(), **{k: s[0].copy() for k, s in opt.slots.items()}})
    return history


def norm_terms(clip: str) -> int:
    """Terms in the sum of squares a clipping norm adds up: the largest variable's for clipnorm,
    every parameter's for global_clipnorm, none for clipvalue (a comparison, exact)."""
    sizes = [int(np.prod(s)) for s in SHAPES]
    return {"clipnorm": max(sizes), "global_clipnorm": sum(sizes)}.get(clip, 0)


def tolerance(dtype, k: int, scale: float, change: float, n: int) -> float:
    """How far apart a quantity q (the weights, or a slot) may be after k steps:

        k eps (max|q| + (FUNCTION_ULPS + 2 n) max|dq|)

    Both sides take the same elementwise operations in the same order (scratch copies Keras's
    ``update_step`` operation by operation), so a step differs only where the two libraries
    round differently.  Per step: q + dq is rounded to half an ulp of max|q| on each side
    (eps max|q|); dq itself may be off by the library functions in it (sqrt, beta^t:
    FUNCTION_ULPS ulps of max|dq|); and a clipping norm sums n squares in another order (Eigen's
    reduction, NumPy's dot): at most n eps off relative, which the clipped gradient carries,
    and the update at most twice (Adam's m / sqrt(v) takes it through m and half again through
    sqrt(v)).  Successive steps add at most linearly: k times one step's bound, where max|q|
    and max|dq| are the largest seen so far (Keras's side; dq, Keras's largest change of one
    element in one step).
    """
    return k * (tolerances.eps(dtype) * scale + (tolerances.ulps(dtype) + tolerances.sums(dtype, 2 * n)) * change)


def worst(case: str, clip: str, dtype: str, history: list) -> tuple[float, str]:
    """The largest max|keras - scratch| / tolerance over every step and quantity, and where."""
    reference = keras_run(case, clip, dtype)
    scale, change, ratio, where = {}, {}, 0.0, ""
    for k, (before, after, ours) in enumerate(zip(reference, reference[1:], history), start=1):
        assert set(after) == set(ours), (case, clip, sorted(after), sorted(ours))
        for q, a in after.items():
            scale[q] = max(scale.get(q, 0.0), float(np.abs(a).max()), float(np.abs(ours[q]).max()))
            change[q] = max(change.get(q, 0.0), float(np.abs(a - before[q]).max()))
            r = float(np.abs(a - ours[q]).max()) / tolerance(dtype, k, scale[q], change[q], norm_terms(clip))
            if r > ratio:
                ratio, where = r, f"{q} at step {k}"
    return ratio, where


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("clip", list(CLIPS))
@pytest.mark.parametrize("case", list(CASES))
def test_every_step_follows_keras(case, clip, dtype):
    ratio, where = worst(case, clip, dtype, scratch_run(case, clip, dtype))
    check(f"{case}/{clip}/{dtype}: worst |keras - scratch| / tolerance ({where})", ratio, 1.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("clip", ["clipnorm", "global_clipnorm", "clipvalue"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_wrong_clipping_threshold_fails(case, clip, dtype):
    """The negative control: the threshold 10 % low clips other steps, and by other factors."""
    threshold = CLIPS[clip][clip] * 0.9
    ratio, where = worst(case, clip, dtype, scratch_run(case, clip, dtype, **{clip: threshold}))
    assert ratio > 1.0, f"{case}/{clip}/{dtype}: a threshold of {threshold} passed ({ratio:.3g}, {where})"


@pytest.mark.parametrize("clip", ["none", "clipnorm"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_dropped_float32_rounding_fails_in_float64(case, clip):
    """The negative control for the quirks: each one a float64 run depends on, left out alone."""
    for quirk in DEPENDS_ON[case]:
        ratio, where = worst(case, clip, "float64", scratch_run(case, clip, "float64", set(QUIRKS) - {quirk}))
        assert ratio > 1.0, f"{case}/{clip} without {quirk}: passed ({ratio:.3g}, {where})"


# --- twins of compiled Keras models -----------------------------------------------------------

#: name -> (the Keras optimizer's class name, settings): each new optimizer, and each clipping mode.
TWINS = {
    "adagrad_global_clipnorm": ("Adagrad", {"learning_rate": 0.05, "global_clipnorm": 0.1}),
    "adamw": ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.05}),
    "adam_amsgrad_clipvalue": ("Adam", {"learning_rate": 0.01, "amsgrad": True, "clipvalue": 0.02}),
    "sgd_momentum_clipnorm": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "clipnorm": 0.05}),
}


def trained(name: str, dtype: str):
    """A seeded 4-6-1 model compiled with the case's optimizer and trained for 2 epochs (8 steps), and its data."""
    keras = quiet.keras()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 4)).astype("float32").astype(dtype)
    Y = rng.integers(0, 2, (32, 1)).astype(dtype)
    model = keras_ref.build_model([4, 6, 1], hidden_activation="tanh", seed=0, dtype=dtype)
    class_name, settings = TWINS[name]
    keras_ref.compile_model(model, "binary_crossentropy", dtype,
                            optimizer=getattr(keras.optimizers, class_name)(**settings), metrics=())
    model.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    return model, X, Y


def steps_apart(model, net, X, Y, steps: int = 20) -> float:
    """Worst relative difference of every weight and slot over ``steps`` train_on_batch steps."""
    kind = net.optimizer.name
    worst_seen = 0.0
    for _ in range(steps):
        model.train_on_batch(X, Y)
        net.train_on_batch(X, Y)
        keras_slots = {k: flat(getattr(model.optimizer, a)) for k, a in twin.KERAS_SLOTS[kind].items()
                       if k in net.optimizer._slot_names()}
        ours = net.optimizer_state()[1]
        assert set(keras_slots) == set(ours)
        weights = zip(model.get_weights(), net.get_weights())
        worst_seen = max([worst_seen] + [errors(a, b)["rel_diff"] for a, b in weights]
                         + [errors(keras_slots[k], ours[k])["rel_diff"] for k in ours])
    return worst_seen


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(TWINS))
def test_the_twin_of_a_trained_model_steps_with_it(name, dtype):
    """Tolerance: ``tolerances.of_network`` after 20 steps, sqrt(20) N eps for the 4-6-1 network
    at a batch of 32 (as tests/twin_check.py).  The clipping norms add at most 2 n eps of a step
    (``tolerance`` above), with n = 37 parameters, inside N = 138 for this network."""
    model, X, Y = trained(name, dtype)
    net = twin.from_keras(model)
    config, settings = net.optimizer.get_config(), TWINS[name][1]
    assert net.optimizer.iterations == 8  # the state came along
    assert config == {**config, **settings, "learning_rate": float(np.float32(settings["learning_rate"]))}
    tol = tolerances.of_network(net, len(X), 20)
    check(f"{name}/{dtype}: 20 steps, weights and slots (rel diff)", steps_apart(model, net, X, Y), tol)
    # the negative control: the same twin with its clipping threshold 10 % low, or, without
    # clipping, its weight decay rounded (float64) or 10 % high, drifts past the tolerance
    model, X, Y = trained(name, dtype)
    net = twin.from_keras(model)
    clip = next((k for k in ("clipnorm", "global_clipnorm", "clipvalue") if getattr(net.optimizer, k)), None)
    if clip:
        setattr(net.optimizer, clip, getattr(net.optimizer, clip) * 0.9)
    elif dtype == "float64":
        net.quirks = net.quirks - {optimizers.CAST_QUIRK}
    else:
        net.optimizer.weight_decay *= 1.1
    assert steps_apart(model, net, X, Y) > tol, f"{name}/{dtype}: the control passed"


def test_a_twin_with_a_new_optimizer_goes_back_to_keras():
    """to_keras makes the Keras optimizer of the twin's kind and settings, and from_keras reads
    them back (the learning rate through its float32 variable)."""
    import scratch
    for opt in (optimizers.AdamW(0.01, amsgrad=True, clipnorm=0.5), optimizers.Adagrad(0.05, global_clipnorm=1.0),
                optimizers.SGD(0.1, weight_decay=0.01, clipvalue=0.2)):
        net = scratch.Network([4, 6, 1], seed=0, optimizer=opt)
        again = twin.from_keras(twin.to_keras(net))
        rounded = float(np.float32(opt.learning_rate))
        assert again.optimizer.get_config() == {**opt.get_config(), "learning_rate": rounded}
