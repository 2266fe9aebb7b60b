"""Every scratch activation against Keras 3.15's own on TensorFlow, forward and backward, in
float32 and float64; and a small Keras model per breadth activation, twinned by compare.twin.

Forward compares A = g(Z); backward compares dZ for one dA, Keras's from ``tf.GradientTape``
on ``keras.activations.<name>`` (``output_gradients=dA``).  The scratch side is built as a
layer builds it (``scratch.layers.activation_from_config`` with every quirk), so a float64
leaky_relu gets float32's slope, as Keras's does.

Each element must agree within ``ulps(dtype, k) * scale`` (``tests.helpers.assert_close``).
k counts, along the longest chain of operations to the value:

- FUNCTION_ULPS (F) for each library function (exp, log1p, tanh, sigmoid, pow): two
  libraries are at most F ulps apart on the same argument, and a function whose argument
  already differs (tanh of softplus) passes that difference on, times its condition number,
  which is at most 1 wherever it is used here.  erfc is the exception (``ERFC_ULPS``);
- 2 for each arithmetic rounding whose operands already differ (one rounding on each side),
  and n for an n-term sum (``sums``);
- nothing for a correctly rounded operation on identical operands (relu6, softsign,
  hard_sigmoid, leaky_relu, the products by dA): IEEE arithmetic gives both sides the same
  bits, so k = 0 there and the test asks for equality.

The scale is max(|a|, |b|) where nothing cancels.  Where the formula subtracts (e^Z - 1,
1 + tanh(.), 1 - A^2, dA - sum(dA) e^A) it is the magnitude of the terms, each minus taken as
a plus, as Higham's bound is (docs/tolerances.md): a difference that cancels to 1e-5 is
still only known to the ulps of its terms.  The grid keeps every value in the normal range,
because TensorFlow flushes subnormal results to zero and NumPy does not.
"""
import math

import numpy as np
import pytest

from keras_ref import quiet
from scratch import activations
from scratch.keras_compat import QUIRKS
from scratch.layers import activation_from_config
from scratch.tolerances import FUNCTION_ULPS as F, eps, network

pytestmark = pytest.mark.numerics

N = 8  # units per row: log_softmax and softmax sum over them

#: Every registry entry, and the settings that change a formula.
CONFIGS = list(activations.ACTIVATIONS) + [
    {"name": "leaky_relu", "negative_slope": 0.2}, {"name": "elu", "alpha": 0.5},
    {"name": "gelu", "approximate": True}]


def label(config) -> str:
    return config if isinstance(config, str) else "-".join(str(v) for v in config.values())


# --- the bounds, per activation: (k forward, forward scale, k backward, backward scale) ------------
# A scale is a function of (Z, A, dA, settings), computed in float64 from the textbook formula's
# terms; None means max(|a|, |b|).

def _sig(Z):
    return 1 / (1 + np.exp(-Z))


def _softplus(Z):
    return np.logaddexp(0, Z)


#: TensorFlow's erfc is Eigen's generic_fast_erfc: for |v| <= 1 it is 1 + v S(v^2), a difference
#: known to the ulps of its terms 1 + |erf(v)| (1.8 against erfc(1) = 0.16: 7 ulps of erfc measured
#: at v = 0.9998 against glibc's in float64, 5 in float32); beyond, a rational approximation that
#: its source puts "below 7 ulps" (float64; 5 in float32).  glibc's erfc, on the scratch side, is
#: within 1 ulp: 8 in all, relative to erfc(v) for |v| > 1 and to 1 + |erf(v)| for |v| <= 1.
ERFC_ULPS = 8
K_SIGMOID = F + 4  # scratch: exp, 1 + e, 1 / (.) (as test_activations' hand values count it)
K_SOFTMAX = 2 * F + 2 + N  # exp in the numerator, exp in each of the N summed terms, the division
K_LOG_SOFTMAX = 2 * F + 2 + N  # exps summed (F + N), log (F), S - log(sum) (2): relative to |S| + log(sum)
K_ELU = {True: F + 2, False: F + 4}  # e^Z (F), - 1 (2), [x alpha (2)]; keyed by alpha == 1
K_SELU = F + 4  # e^Z, - 1, x scale_alpha
K_GELU_T = 2 * F + 6  # tanh's argument: pow (F), a Z^3, Z + ., k (.) (6); then tanh (F)


def _elu_terms(Z, alpha):
    return np.where(Z > 0, np.abs(Z), abs(alpha) * (np.exp(np.minimum(Z, 0)) + 1))


def _log_softmax_terms(Z):
    """1 + |S| + log(sum): the sum (>= 1, its largest term e^0) is known to its ulps, so its log
    to ulps of 1, absolutely; near the row's maximum A = -log(1 + small) cancels that far."""
    S = Z - Z.max(axis=1, keepdims=True)
    return 1 + np.abs(S) + np.log(np.exp(S).sum(axis=1, keepdims=True))


def _erfc_terms(V):
    """erfc(v) for |v| > 1; 1 + |erf(v)| for |v| <= 1, where TensorFlow takes it as 1 - erf(v)."""
    erfc = np.array([math.erfc(v) for v in V.ravel()]).reshape(V.shape)
    return np.where(np.abs(V) > 1, erfc, 1 + np.abs(1 - erfc))


def _gelu_approx_T(Z):
    return np.tanh(0.7978845608028654 * (Z + 0.044715 * Z ** 3))


BOUNDS = {
    # forward: sigmoid's roundings; backward: A (1 - A) dA, A in both factors, 1 - A, two products
    "sigmoid": (K_SIGMOID, None, 2 * K_SIGMOID + 6, lambda Z, A, dA, s: np.abs(dA) * A * (1 + A)),
    # tanh (F); (1 - A^2) dA: A twice, A^2, 1 - A^2, the product
    "tanh": (F, None, 2 * F + 6, lambda Z, A, dA, s: np.abs(dA) * (1 + A * A)),
    "relu": (0, None, 0, None),
    "leaky_relu": (0, None, 0, None),  # Z x slope and dA x slope: the same operands on both sides
    "linear": (0, None, 0, None),
    # A (dA - sum_j dA_j A_j): A twice, the N-term sum, dA_j A_j, the difference, the product
    "softmax": (K_SOFTMAX, None, 2 * K_SOFTMAX + N + 6,
                lambda Z, A, dA, s: A * (np.abs(dA) + np.sum(np.abs(dA) * A, axis=1, keepdims=True))),
    "relu6": (0, None, 0, None),
    # dA (A + alpha) against TensorFlow's (A + 1) dA, or (res + 1)(dA alpha): A, + alpha, two products
    "elu": (lambda s: K_ELU[s["alpha"] == 1], lambda Z, A, dA, s: _elu_terms(Z, s["alpha"]),
            lambda s: K_ELU[s["alpha"] == 1] + 6, lambda Z, A, dA, s: np.abs(dA) * _elu_terms(Z, s["alpha"])),
    # dA (A + scale_alpha) where A < 0, dA scale (identical) elsewhere: A, the sum, the product
    "selu": (K_SELU, lambda Z, A, dA, s: np.where(Z < 0, activations.SELU_SCALE_ALPHA * (np.exp(np.minimum(Z, 0)) + 1),
                                                  activations.SELU_SCALE * np.abs(Z)),
             K_SELU + 4, lambda Z, A, dA, s: np.abs(dA) * np.where(
                 Z < 0, activations.SELU_SCALE_ALPHA * (np.exp(np.minimum(Z, 0)) + 1), activations.SELU_SCALE)),
    "gelu": (
        # exact: erfc (ERFC_ULPS), the product (2); terms 0.5 |Z| erfc's terms.
        # approximate: T (K_GELU_T), 1 + T, the product; terms 0.5 |Z| (1 + |T|)
        lambda s: 2 * F + 10 if s["approximate"] else ERFC_ULPS + 2,
        lambda Z, A, dA, s: 0.5 * np.abs(Z) * (1 + np.abs(_gelu_approx_T(Z)) if s["approximate"]
                                               else _erfc_terms(-Z / math.sqrt(2))),
        # exact: 0.5 erfc(V) dA (ERFC_ULPS + 2) and dA Z c/sqrt(pi) e^-V^2: exp (F), the constants
        # c/sqrt(pi) against -2/sqrt(pi) and c, five products on the two sides (10); their sum (2).
        # approximate: 0.5 (1 + T) (K_GELU_T + 2) and 0.5 Z (1 - T^2) k (1 + 3 a Z^2): T twice, T^2,
        # 1 - T^2 (2 K_GELU_T + 4), 1 + 3 a Z^2 with TensorFlow's pow(Z, 2) (F + 6), three products (6);
        # their sum and the product by dA (4): 2 K_GELU_T + F + 20
        lambda s: 2 * K_GELU_T + F + 20 if s["approximate"] else max(ERFC_ULPS + 2, F + 10) + 2,
        lambda Z, A, dA, s: np.abs(dA) * (
            0.5 * (1 + np.abs(_gelu_approx_T(Z))) + 0.5 * np.abs(Z) * (1 + _gelu_approx_T(Z) ** 2) * 0.7978845608028654
            * (1 + 3 * 0.044715 * Z * Z) if s["approximate"] else
            0.5 * _erfc_terms(-Z / math.sqrt(2)) + np.abs(Z) / math.sqrt(2 * math.pi) * np.exp(-Z * Z / 2))),
    # sigmoid (K_SIGMOID), x Z (2)
    "silu": (K_SIGMOID + 2, None,
             # S (1 + Z (1 - S)) dA: S twice, 1 - S, x Z, 1 + ., two products
             2 * K_SIGMOID + 10, lambda Z, A, dA, s: np.abs(dA) * _sig(Z) * (1 + np.abs(Z) * (1 + _sig(Z)))),
    # exp and log1p (2F); dA sigmoid(Z): sigmoid, the product
    "softplus": (2 * F, None, K_SIGMOID + 2, None),
    "softsign": (0, None, 0, None),
    "hard_sigmoid": (0, None, 0, None),
    # exp (F); dA A: A, the product
    "exponential": (F, None, F + 2, None),
    # softplus (2F), tanh of it (F), x Z (2).  dA T + (dA Z)(1 - T^2) sigmoid(Z): T (3F) twice, T^2,
    # 1 - T^2, sigmoid (K_SIGMOID), two products, the sum (2 * 3F + K_SIGMOID + 10)
    "mish": (3 * F + 2, None, 6 * F + K_SIGMOID + 10,
             lambda Z, A, dA, s: np.abs(dA) * (np.abs(np.tanh(_softplus(Z))) + np.abs(Z)
                                               * (1 + np.tanh(_softplus(Z)) ** 2) * _sig(Z))),
    # dA - (sum dA) e^A: the N-term sum, e^A of an A already K_LOG_SOFTMAX (|A|) apart (F + K |A|), the
    # product and the difference: terms |dA| + sum|dA| e^A (1 + |A|)
    "log_softmax": (K_LOG_SOFTMAX, lambda Z, A, dA, s: _log_softmax_terms(Z),
                    K_LOG_SOFTMAX + F + N + 4,
                    lambda Z, A, dA, s: np.abs(dA) + np.sum(np.abs(dA), axis=1, keepdims=True) * np.exp(A) * (1 + np.abs(A))),
}


def bound(config, direction: int, Z, A, dA):
    """(k, scale or None) for one activation config; direction 0 forward, 1 backward."""
    name = config if isinstance(config, str) else config["name"]
    settings = {**activations.get(name).config, **({} if isinstance(config, str) else
                                                   {k: v for k, v in config.items() if k != "name"})}
    k, scale = BOUNDS[name][2 * direction], BOUNDS[name][2 * direction + 1]
    k = k(settings) if callable(k) else k
    return k, None if scale is None else scale(Z, A, dA, settings)


# --- both sides ----------------------------------------------------------------------------------

def grid(dtype):
    """48 rows of uniform Z in [-10, 10] and a row of special points: the kinks (0, -3, 3, 6), a
    point near 0, and each side of Softplus's thresholds in this dtype (log(eps) + 2: -34.04 in
    float64, -13.94 in float32; in float32 not closer than gelu allows, whose erfc turns subnormal
    between -13 and -14.5), all float32 numbers; and dA, standard normal."""
    rng = np.random.default_rng(0)
    t = -34.0 if dtype == "float64" else -14.0
    special = [0.0, -3.0, 3.0, 6.0, -1e-3, t + 1.5, t - 1.5, -t + 0.5]
    Z = np.vstack([rng.uniform(-10, 10, (48, N)), [special]]).astype(np.float32).astype(dtype)
    dA = rng.standard_normal(Z.shape).astype(np.float32).astype(dtype)
    return Z, dA


@pytest.fixture(scope="module")
def tf():
    quiet.keras()
    return quiet.tensorflow()


def keras_side(tf, config, Z, dA):
    """(A, dZ) from Keras: ``keras.activations.get(name)(Z, **settings)`` under a GradientTape."""
    keras = quiet.keras()
    name = config if isinstance(config, str) else config["name"]
    settings = {k: v for k, v in ({} if isinstance(config, str) else config).items() if k != "name"}
    settings = {**activations.get(name).config, **settings}  # scratch's defaults where Keras's differ (leaky_relu)
    fn = keras.activations.get(name)
    x = tf.constant(Z)
    with tf.GradientTape() as tape:
        tape.watch(x)
        A = fn(x, **settings)
    return A.numpy(), tape.gradient(A, x, output_gradients=tf.constant(dA)).numpy()


def scratch_side(config, Z, dA, dtype, g=None):
    g = g or activation_from_config(config, dtype, frozenset(QUIRKS))
    A = g.forward(Z)
    return A, g.backward(dA, Z, A)


def worst(a, b, k, scale, dtype):
    """max |a - b| / (k eps scale), elementwise; scale None: max(|a|, |b|).  <= 1 passes; where the
    bound is 0 the values must be equal (inf otherwise)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if scale is None:
        scale = np.maximum(np.abs(a), np.abs(b))
    diff = np.abs(a - b)
    allowed = k * eps(dtype) * np.broadcast_to(np.asarray(scale, np.float64), diff.shape)
    return float(np.max(np.divide(diff, allowed, out=np.where(diff > 0, np.inf, 0.0), where=allowed > 0)))


def parity(tf, config, dtype, g=None) -> dict:
    """{"forward": ratio, "backward": ratio} of the worst element to its bound."""
    Z, dA = grid(dtype)
    (kA, kdZ), (sA, sdZ) = keras_side(tf, config, Z, dA), scratch_side(config, Z, dA, dtype, g)
    assert sA.dtype == kA.dtype == sdZ.dtype == kdZ.dtype == np.dtype(dtype)
    tiny = np.finfo(dtype).tiny  # the premise: nothing subnormal, which TensorFlow would flush to 0
    assert not any(np.any((x != 0) & (np.abs(x) < tiny)) for x in (kA, kdZ, sA, sdZ)), label(config)
    ref = Z.astype(np.float64), kA.astype(np.float64), dA.astype(np.float64)
    return {"forward": worst(sA, kA, *bound(config, 0, *ref), dtype),
            "backward": worst(sdZ, kdZ, *bound(config, 1, *ref), dtype)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("config", CONFIGS, ids=label)
def test_every_activation_matches_keras_forward_and_backward(tf, config, dtype):
    found = parity(tf, config, dtype)
    assert found["forward"] <= 1, (label(config), dtype, found)
    assert found["backward"] <= 1, (label(config), dtype, found)


def test_textbook_gelu_constants_miss_keras_in_float64(tf):
    """Negative control: gelu with the exact 1/sqrt(2) (and 0.044715), where Keras takes float32's,
    is off by far more than its bound in float64; in float32 the two are the same numbers."""
    for approximate in (False, True):
        config = {"name": "gelu", "approximate": approximate}
        textbook = activations.gelu(approximate, rounded=False)
        missed = parity(tf, config, "float64", textbook)
        assert missed["forward"] > 1e3 and missed["backward"] > 1e3, (approximate, missed)
        in_float32 = parity(tf, config, "float32", textbook)  # the constants round to the same float32s
        assert in_float32["forward"] == parity(tf, config, "float32")["forward"] and in_float32["backward"] <= 1


# --- models: Dense(5, activation=name) -> Dense(1, sigmoid), twinned ---------------------------------

#: The activations this breadth step adds, by Keras's names (swish is silu under its other name).
BREADTH = ("relu6", "elu", "selu", "gelu", "silu", "swish", "softplus", "softsign", "hard_sigmoid", "exponential",
           "mish", "log_softmax")
SIZES, M = (4, 5, 1), 16


def twin_errors(model, X, Y, dtype):
    """(twin, {output, loss, gradients: Keras vs the twin's rel diff}, Keras's gradients) for a
    model compiled here with binary cross-entropy."""
    import keras_ref
    from compare import twin
    from tests.helpers import rel_diff
    keras_ref.compile_model(model, "binary_crossentropy", dtype)
    net = twin.from_keras(model)
    k_out, k_loss, k_grads = keras_ref.output_loss_and_gradients(model, X, Y)
    s_loss, s_grads = net.loss_and_gradients(X, Y)
    return net, {"output": rel_diff(k_out, net.predict(X)), "loss": rel_diff(k_loss, s_loss),
                 "gradients": max(rel_diff(a, b) for a, b in zip(k_grads, s_grads))}, k_grads


def model_check(dtype):
    """Per activation: the worst rel diff of output, loss and gradients (Keras vs the twin from
    ``compare.twin.from_keras``), and the twin's activation config."""
    keras = quiet.keras()
    from tests.helpers import rel_diff

    rng = np.random.default_rng(1)
    X = (2 * rng.standard_normal((M, SIZES[0]))).astype(np.float32).astype(dtype)
    Y = rng.integers(0, 2, (M, 1)).astype(dtype)
    found = {}
    for i, name in enumerate(BREADTH):
        model = keras.Sequential([
            keras.Input((SIZES[0],), dtype=dtype),
            keras.layers.Dense(SIZES[1], activation=name, dtype=dtype,
                               kernel_initializer=keras.initializers.GlorotUniform(seed=i),
                               bias_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=100 + i)),
            keras.layers.Dense(1, activation="sigmoid", dtype=dtype,
                               kernel_initializer=keras.initializers.GlorotUniform(seed=200 + i))])
        net, found[name], k_grads = twin_errors(model, X, Y, dtype)
        found[name]["activation"] = net.layers[-2].activation.name
        if name == "gelu":  # negative control: the twin's hidden kernel moved by 1000 tolerances
            w = net.get_weights()
            w[0] = w[0] * (1 + 1000 * network(dtype, SIZES, M))
            net.set_weights(w)
            found["control"] = {"gradients": max(rel_diff(a, b) for a, b in
                                                 zip(k_grads, net.loss_and_gradients(X, Y)[1]))}
    return found


def assert_models_agree(found, dtype):
    tol = network(dtype, SIZES, M)  # N eps along the 4-5-1 network's longest path
    for name in BREADTH:
        assert found[name]["activation"] == ("silu" if name == "swish" else name)
        for leg in ("output", "loss", "gradients"):
            assert found[name][leg] <= tol, (name, dtype, leg, found[name][leg], tol)
    assert found["control"]["gradients"] > tol


def test_float64_models_and_their_twins_agree():
    assert_models_agree(model_check("float64"), "float64")


def test_float32_models_and_their_twins_agree():
    assert_models_agree(model_check("float32"), "float32")


# --- ReLU layers: Keras's shortcuts and its composite, on and around every kink ---------------------

#: keras.layers.ReLU settings: a threshold, max_values 1.5 and 6 (with a slope: relu6 inside the
#: composite), all three, a max_value below the threshold, max_value 0, and Keras's three
#: shortcuts.  0.1, 0.3, 0.7 and 1.1 are not float32 numbers: float32(0.3) and float32(1.1) lie
#: above them, float32(0.7) below, so in float64 the grid has Z where neither part of Keras's
#: composite applies (0.3 < Z <= float32(0.3)) and where both do (float32(0.7) < Z < 0.7).
RELU_LAYERS = [{"threshold": 0.3}, {"max_value": 1.5}, {"max_value": 6.0, "negative_slope": 0.1},
               {"max_value": 6.0, "threshold": 0.5}, {"negative_slope": 0.1, "max_value": 1.5, "threshold": 0.3},
               {"negative_slope": 0.2, "max_value": 1.1, "threshold": 0.7},
               {"negative_slope": 0.3, "max_value": 1.0, "threshold": 2.0}, {"max_value": 0.0},
               {}, {"max_value": 6.0}, {"negative_slope": 0.1}]


def relu_label(settings) -> str:
    return "-".join(f"{k}{v}" for k, v in settings.items()) or "plain"


def relu_grid(settings, dtype):
    """48 rows of uniform Z in [-10, 10], then rows with 0, the threshold and max_value (as dtype
    rounds them, and as float32 does, as Keras's ``ops.cast`` does), their neighbours one ulp of
    dtype away, and -1e-3 and 1e-3 (not 0's neighbours, which are subnormal); dA standard normal,
    float32 numbers."""
    rng = np.random.default_rng(2)
    values = [settings[k] for k in ("threshold", "max_value") if settings.get(k) is not None]
    kinks = np.array(values + [float(np.float32(v)) for v in values], dtype)
    special = np.concatenate([[0.0, -1e-3, 1e-3], kinks, np.nextafter(kinks, np.inf), np.nextafter(kinks, -np.inf)])
    special = np.concatenate([special, np.ones(-len(special) % N)]).astype(dtype).reshape(-1, N)
    Z = np.vstack([rng.uniform(-10, 10, (48, N)).astype(np.float32).astype(dtype), special])
    dA = rng.standard_normal(Z.shape).astype(np.float32).astype(dtype)
    return Z, dA


def keras_relu_side(tf, settings, Z, dA):
    """(A, dZ) from ``keras.layers.ReLU(**settings, dtype=Z's)`` under a GradientTape."""
    layer = quiet.keras().layers.ReLU(**settings, dtype=str(Z.dtype))
    x = tf.constant(Z)
    with tf.GradientTape() as tape:
        tape.watch(x)
        A = layer(x)
    return A.numpy(), tape.gradient(A, x, output_gradients=tf.constant(dA)).numpy()


def scratch_relu_side(settings, Z, dA, g=None):
    """(A, dZ) from ``scratch.ReLU(**settings)`` built as a network builds it, every quirk on
    (or from the activation ``g``, for the negative controls)."""
    from scratch import layers
    layer = layers.ReLU(**settings)
    layer.build(N, str(Z.dtype), frozenset(QUIRKS))
    if g is not None:
        layer.activation = g
    A = layer.forward(Z)
    return A, layer.backward(dA)


def relu_parity(tf, settings, dtype, g=None) -> dict:
    """{"forward", "backward"}: the worst element's ratio to a bound of 0 ulps (0 when every
    element is equal, inf otherwise): each value is Z, a setting, 0, or s (Z - t) from the same
    operands on both sides, and each gradient dA, s dA or 0."""
    Z, dA = relu_grid(settings, dtype)
    (kA, kdZ), (sA, sdZ) = keras_relu_side(tf, settings, Z, dA), scratch_relu_side(settings, Z, dA, g)
    assert sA.dtype == kA.dtype == sdZ.dtype == kdZ.dtype == np.dtype(dtype)
    return {"forward": worst(sA, kA, 0, None, dtype), "backward": worst(sdZ, kdZ, 0, None, dtype)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("settings", RELU_LAYERS, ids=relu_label)
def test_every_relu_layer_matches_keras_forward_and_backward_at_its_kinks(tf, settings, dtype):
    found = relu_parity(tf, settings, dtype)
    assert found == {"forward": 0.0, "backward": 0.0}, (settings, dtype, found)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_threshold_one_ulp_off_misses_keras(tf, dtype):
    """Negative control: the composite with its threshold moved to the next number of dtype up
    gives 0 where Keras gives Z (at that number), and a slope's other value below it."""
    from scratch import activations
    settings = {"negative_slope": 0.1, "max_value": 1.5, "threshold": 0.3}
    moved = float(np.nextafter(np.array(0.3, dtype), np.inf))
    found = relu_parity(tf, settings, dtype, activations.relu(0.1, 1.5, moved))
    assert found["forward"] == np.inf and found["backward"] == np.inf, found


def test_exact_float64_threshold_and_max_value_miss_keras(tf, monkeypatch):
    """Negative control: Keras's ``ops.cast`` takes the threshold and max_value through float32
    in float64 too; the same composite with them exact in float64 misses (between t32 and t, and
    between m and m32), while in float32 the two are the same numbers."""
    from scratch import activations
    for settings in ({"negative_slope": 0.2, "max_value": 1.1, "threshold": 0.7}, {"threshold": 0.3}):
        assert relu_parity(tf, settings, "float64") == {"forward": 0.0, "backward": 0.0}
        with monkeypatch.context() as m:
            m.setattr(activations, "_cast", activations._operand)
            missed = relu_parity(tf, settings, "float64")
            assert missed["forward"] == np.inf and missed["backward"] == np.inf, (settings, missed)
            assert relu_parity(tf, settings, "float32") == {"forward": 0.0, "backward": 0.0}


def test_a_float32_slope_in_the_float64_composite_misses_keras(tf):
    """Negative control: the composite multiplies by the slope as a float64 tensor, so taking it
    through float32 (as TensorFlow's LeakyRelu attribute, and the leaky_relu shortcut, do) is
    wrong here: every value below the threshold misses, while the gradient's s dA does too."""
    from scratch import activations
    settings = {"negative_slope": 0.1, "max_value": 6.0}
    found = relu_parity(tf, settings, "float64", activations.relu(float(np.float32(0.1)), 6.0))
    assert found["forward"] == np.inf and found["backward"] == np.inf, found
    assert relu_parity(tf, settings, "float32", activations.relu(float(np.float32(0.1)), 6.0)) == {
        "forward": 0.0, "backward": 0.0}  # in float32 it is the same number


def relu_model_check(dtype):
    """Per ReLU setting: Dense(6) -> ReLU(settings) -> Dense(1, sigmoid), twinned by
    ``compare.twin.from_keras``; the worst rel diff of output, loss and gradients, and a negative
    control (the twin's slope 0.1 taken as 0.01)."""
    keras = quiet.keras()
    from tests.helpers import rel_diff

    rng = np.random.default_rng(3)
    X = (2 * rng.standard_normal((M, SIZES[0]))).astype(np.float32).astype(dtype)
    Y = rng.integers(0, 2, (M, 1)).astype(dtype)
    found = {}
    for i, settings in enumerate(RELU_LAYERS[:6]):
        model = keras.Sequential([
            keras.Input((SIZES[0],), dtype=dtype),
            keras.layers.Dense(SIZES[1], dtype=dtype, kernel_initializer=keras.initializers.GlorotUniform(seed=i),
                               bias_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=100 + i)),
            keras.layers.ReLU(**settings, dtype=dtype),
            keras.layers.Dense(1, activation="sigmoid", dtype=dtype,
                               kernel_initializer=keras.initializers.GlorotUniform(seed=200 + i))])
        net, found[relu_label(settings)], k_grads = twin_errors(model, X, Y, dtype)
        found[relu_label(settings)]["config"] = net.layers[1].get_config()
        if settings.get("negative_slope"):
            config = net.get_config()
            config["layers"][2]["config"]["negative_slope"] = 0.01
            other = type(net).from_config(config)
            other.set_weights(net.get_weights())
            found[relu_label(settings)]["control"] = max(
                rel_diff(a, b) for a, b in zip(k_grads, other.loss_and_gradients(X, Y)[1]))
    return found


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_models_with_relu_layers_and_their_twins_agree(dtype):
    tol = network(dtype, SIZES, M)
    found = relu_model_check(dtype)
    for settings in RELU_LAYERS[:6]:
        case = found[relu_label(settings)]
        assert case["config"] == {"max_value": settings.get("max_value"), "name": case["config"]["name"],
                                  "negative_slope": settings.get("negative_slope", 0.0),
                                  "threshold": settings.get("threshold", 0.0)}
        for leg in ("output", "loss", "gradients"):
            assert case[leg] <= tol, (settings, dtype, leg, case[leg], tol)
        if "control" in case:
            assert case["control"] > 100 * tol, (settings, dtype, case["control"])
