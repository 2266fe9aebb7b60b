"""compare.onnx_twin: the twin's network as an ONNX graph computes what twin.predict computes.

No TensorFlow here: the graph is built from scratch's layers alone.  Agreement is judged at the
network's tolerance (scratch.tolerances.of_network: N eps for the longest chain of roundings).
"""
import numpy as np
import pytest

pytest.importorskip("onnxruntime")

import scratch  # noqa: E402
from compare import onnx_twin  # noqa: E402
from scratch import activations, tolerances  # noqa: E402
from scratch.layers import (  # noqa: E402
    Activation, BatchNormalization, Dense, Dropout, Input, LayerNormalization, LeakyReLU, ReLU, Softmax,
)
from tests.helpers import rel_diff  # noqa: E402

ONNX_ACTIVATIONS = ("sigmoid", "tanh", "relu", "relu6", "linear", "softmax", "log_softmax", "leaky_relu", "elu",
                    "selu", "gelu", "silu", "softplus", "softsign", "hard_sigmoid", "exponential", "mish")
#: onnxruntime's CPU kernels in float64 (the others exist in float32 only)
FLOAT64_KERNELS = ("sigmoid", "tanh", "relu", "linear", "softmax", "log_softmax", "silu", "exponential")


def network(activation, dtype, center=True, scale=True):
    net = scratch.Network(layers=[Input(6), Dense(10, "relu"), BatchNormalization(center=center, scale=scale),
                                  Dropout(0.3), Dense(8, activation), LayerNormalization(center=center, scale=scale),
                                  LeakyReLU() if dtype == "float32" else Activation("relu"),  # no float64 kernel
                                  Dense(5, use_bias=False), Activation("tanh"), Dense(3), Softmax()],
                          loss="categorical_crossentropy", dtype=dtype, seed=2)
    X = np.random.default_rng(0).standard_normal((48, 6)).astype(dtype) * 2
    for _ in range(3):
        net.forward(X, training=True)  # moves the moving statistics off 0 and 1
    return net, X


def onnx_output(net, X, threads=1):
    return onnx_twin.session(net, threads).run(None, {"x": X})[0]


@pytest.mark.parametrize("activation", ONNX_ACTIVATIONS)
def test_the_onnx_graph_computes_the_twins_output_in_float32(activation):
    net, X = network(activation, "float32")
    assert rel_diff(onnx_output(net, X), net.predict(X)) <= tolerances.of_network(net, len(X))


@pytest.mark.parametrize("activation", FLOAT64_KERNELS)
@pytest.mark.parametrize("center_scale", [True, False])
def test_the_onnx_graph_computes_the_twins_output_in_float64(activation, center_scale):
    """In float64 too: ONNX's epsilon attributes are float32, so the graph adds epsilon to the
    variance itself (BatchNormalization) or spells the layer out (LayerNormalization)."""
    net, X = network(activation, "float64", center_scale, center_scale)
    assert rel_diff(onnx_output(net, X, threads=2), net.predict(X)) <= tolerances.of_network(net, len(X))


def test_a_weight_moved_after_export_is_seen():
    """The negative control: the check above can fail."""
    net, X = network("relu", "float64")
    session = onnx_twin.session(net, 1)
    net.layers[-2].W[0, 0] += 1e-6
    assert rel_diff(session.run(None, {"x": X})[0], net.predict(X)) > 10 * tolerances.of_network(net, len(X))


def test_an_activation_without_an_onnx_op_is_refused_by_name():
    custom = activations.Activation("cube", lambda Z: Z ** 3, lambda dA, Z, A: 3 * dA * Z * Z)
    with pytest.raises(ValueError, match="activation 'cube' has no ONNX graph here; supported: elu, "):
        onnx_twin._activation_nodes(custom, "x", "y", None, None)


def test_a_relu_with_a_threshold_is_refused_not_exported_as_a_plain_relu():
    net = scratch.Network(layers=[Input(3), Dense(4), ReLU(threshold=0.5)], loss="mean_squared_error")
    with pytest.raises(ValueError, match=r"relu with settings .*'threshold': 0.5.* has no ONNX graph here"):
        onnx_twin.to_onnx(net)
