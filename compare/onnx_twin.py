"""The twin's network as an ONNX graph, for onnxruntime: the peer an engineer would pick for
inference without TensorFlow, timed against ``twin.predict`` by ``python -m compare.bench --model``.

The graph is built with ``onnx.helper`` from the twin's own weights, one node per operation:
a Dense layer is ``Gemm`` (``MatMul`` without a bias) followed by its activation's node, and
the normalizations are ONNX's own ``BatchNormalization`` (with the moving statistics) and
``LayerNormalization``.  Dropout is the identity at inference and has no node.  An
activation with no ONNX counterpart here is refused by name.  onnx and onnxruntime come with
the ``bench`` extra (``pip install ".[bench]"``); nothing else imports this module.
"""
from __future__ import annotations

import numpy as np

import scratch
from scratch import activations, layers

#: ONNX opset: 20 has every op below (Gelu since 20, Mish since 18, LayerNormalization since 17).
OPSET = 20


def _activation_nodes(activation: activations.Activation, x: str, out: str, constant, helper) -> list:
    """The node(s) computing g(x) into ``out``."""
    name, cfg = activation.name, activation.config
    simple = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "softplus": "Softplus",
              "softsign": "Softsign", "exponential": "Exp", "mish": "Mish"}
    if name == "relu" and cfg:  # a ReLU layer's composite (threshold, max_value): no one ONNX op
        raise ValueError(f"relu with settings {cfg} has no ONNX graph here; supported: relu without settings")
    if name in simple:
        return [helper.make_node(simple[name], [x], [out])]
    if name == "linear":
        return [helper.make_node("Identity", [x], [out])]
    if name in ("softmax", "log_softmax"):
        return [helper.make_node("Softmax" if name == "softmax" else "LogSoftmax", [x], [out], axis=-1)]
    if name == "relu6":
        return [helper.make_node("Clip", [x, constant("zero", 0), constant("six", 6)], [out])]
    if name == "leaky_relu":
        return [helper.make_node("LeakyRelu", [x], [out], alpha=float(cfg["negative_slope"]))]
    if name == "elu":
        return [helper.make_node("Elu", [x], [out], alpha=float(cfg["alpha"]))]
    if name == "selu":
        return [helper.make_node("Selu", [x], [out], alpha=activations.SELU_SCALE_ALPHA / activations.SELU_SCALE,
                                  gamma=activations.SELU_SCALE)]
    if name == "hard_sigmoid":  # Keras 3: relu6(x + 3) / 6
        return [helper.make_node("HardSigmoid", [x], [out], alpha=1 / 6, beta=0.5)]
    if name == "gelu":
        return [helper.make_node("Gelu", [x], [out], approximate="tanh" if cfg["approximate"] else "none")]
    if name == "silu":
        return [helper.make_node("Sigmoid", [x], [out + "_sigmoid"]),
                helper.make_node("Mul", [x, out + "_sigmoid"], [out])]
    raise ValueError(f"activation {name!r} has no ONNX graph here; supported: "
                     f"{', '.join(sorted([*simple, 'linear', 'relu6', 'softmax', 'log_softmax', 'leaky_relu', 'elu', 'selu', 'hard_sigmoid', 'gelu', 'silu']))}")


def _layer_normalization(layer, x: str, out: str, tag: str, constant, helper) -> list:
    """ONNX's LayerNormalization in float32.  Its epsilon is a float32 attribute, which moved
    float64 outputs by 3e-10; in float64 the layer is built from its operations instead:
    (x - mean) / sqrt(var + eps) * gamma + beta over the last axis."""
    n = layer.n_in
    gamma = layer.gamma if layer.scale else np.ones(n)
    if layer.dtype == "float32":
        inputs = [x, constant(f"gamma{tag}", gamma)] + ([constant(f"beta{tag}", layer.beta)] if layer.center else [])
        return [helper.make_node("LayerNormalization", inputs, [out], axis=-1, epsilon=layer.epsilon)]
    axes, t = constant("last_axis", [-1], np.int64), f"ln{tag}_"
    weights_and_shift = [helper.make_node("Mul", [t + "n", constant(f"gamma{tag}", gamma)],
                                          [t + "s" if layer.center else out])]
    if layer.center:
        weights_and_shift.append(helper.make_node("Add", [t + "s", constant(f"beta{tag}", layer.beta)], [out]))
    return [helper.make_node("ReduceMean", [x, axes], [t + "mean"], keepdims=1),
            helper.make_node("Sub", [x, t + "mean"], [t + "xc"]),
            helper.make_node("Mul", [t + "xc", t + "xc"], [t + "sq"]),
            helper.make_node("ReduceMean", [t + "sq", axes], [t + "var"], keepdims=1),
            helper.make_node("Add", [t + "var", constant(f"eps{tag}", layer.epsilon)], [t + "ve"]),
            helper.make_node("Sqrt", [t + "ve"], [t + "sd"]),
            helper.make_node("Div", [t + "xc", t + "sd"], [t + "n"]),
            *weights_and_shift]


def to_onnx(net: scratch.Network):
    """``net`` in inference mode as an ``onnx.ModelProto`` (input ``x`` of shape (m, n_0))."""
    import onnx
    from onnx import helper, numpy_helper

    elem = {"float32": onnx.TensorProto.FLOAT, "float64": onnx.TensorProto.DOUBLE}[net.dtype]
    nodes, weights, names, x = [], [], set(), "x"

    def constant(name: str, value, dtype=None) -> str:
        """An initializer (in the network's dtype unless given), added once per name."""
        if name not in names:
            names.add(name)
            weights.append(numpy_helper.from_array(np.asarray(value, dtype=dtype or net.dtype), name))
        return name

    for i, layer in enumerate(net.layers):
        out = f"a{i}"
        if isinstance(layer, layers.Dense):
            W = constant(f"W{i}", layer.W)
            if layer.use_bias:
                nodes.append(helper.make_node("Gemm", [x, W, constant(f"b{i}", layer.b)], [f"z{i}"]))
            else:
                nodes.append(helper.make_node("MatMul", [x, W], [f"z{i}"]))
            nodes += _activation_nodes(layer.activation, f"z{i}", out, constant, helper)
        elif isinstance(layer, layers.Dropout):
            continue
        elif isinstance(layer, layers.BatchNormalization):
            # ONNX's epsilon attribute is a float32: added to the variance here, in the model's
            # dtype, it is exact in float64 too (as an attribute it moved float64 outputs by 1e-11)
            n = layer.n_in
            gamma = layer.gamma if layer.scale else np.ones(n)
            beta = layer.beta if layer.center else np.zeros(n)
            var = layer.moving_variance + layer.moving_variance.dtype.type(layer.epsilon)
            nodes.append(helper.make_node(
                "BatchNormalization", [x, constant(f"gamma{i}", gamma), constant(f"beta{i}", beta),
                                       constant(f"mean{i}", layer.moving_mean), constant(f"var{i}", var)],
                [out], epsilon=0.0))
        elif isinstance(layer, layers.LayerNormalization):
            nodes += _layer_normalization(layer, x, out, f"{i}", constant, helper)
        elif isinstance(layer, layers.Activation):
            nodes += _activation_nodes(layer.activation, x, out, constant, helper)
        else:
            raise ValueError(f"layer {layer!r} has no ONNX graph here; supported: Dense, Activation, ReLU, "
                             "LeakyReLU, Softmax, Dropout, BatchNormalization, LayerNormalization")
        x = out
    graph = helper.make_graph(
        nodes, "twin", [helper.make_tensor_value_info("x", elem, ["m", net.widths[0]])],
        [helper.make_tensor_value_info(x, elem, ["m", net.widths[-1]])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="keras-ref")
    onnx.checker.check_model(model)
    return model


def session(net: scratch.Network, threads: int):
    """An onnxruntime session on the CPU running ``to_onnx(net)`` with ``threads`` threads for its
    operators (intra-op) and one between them; ``session.run(None, {"x": X})[0]`` is the output."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(to_onnx(net).SerializeToString(), options,
                                        providers=["CPUExecutionProvider"])
