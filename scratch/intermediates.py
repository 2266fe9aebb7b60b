"""Every quantity of one training pass, layer by layer, named as the lecture names them.

For layer l of a network (1-based, in the order of ``net.layers``), in the order data flows:

    forward    Z{l}  the pre-activation of a Dense layer     Z = A_prev W + b
               xhat{l}  a normalization's normalised input    x̂ = (X - mean) / sqrt(var + eps)
               mask{l}  a Dropout layer's kept units (1/0), in training mode
               A{l}  the layer's output                      A = g(Z)
    loss       J = 1/m sum_i loss(y_i, a_i) + penalties
    backward   from the last layer to the first:
               dA{l}  dJ/dA{l}                               dA = dZ_next W_next^T
               dZ{l}  dJ/dZ{l} (Dense)                       dZ = dA * g'(Z)
               dW{l}, db{l}  (Dense), dgamma{l}, dbeta{l}    dW = A_prev^T dZ,  db = sum_rows dZ

Where the loss reads the logits of the output (sigmoid or softmax with a cross-entropy, as
Keras does on TensorFlow), the last layer's dA is not on the path: the pass starts at dZ{L} =
(P - Y) / m, and there is no dA{L}.  Layout as Keras's (examples as rows).

``layer_by_layer`` also gives each backward quantity's magnitude: the sum of |terms| that made
each entry (``Layer.backward_magnitude``), from which ``scratch.tolerances.gradients`` derives its
tolerance when the terms cancel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scratch import layers as L

#: The lecture's equation for each kind of quantity, by the name's stem.
EQUATIONS = {
    "Z": "Z[l] = A[l-1] W[l] + b[l]",
    "xhat": "x̂[l] = (A[l-1] - mean) / sqrt(var + eps)",
    "mask": "A[l] = mask * A[l-1] / (1 - rate)",
    "A": "A[l] = g(Z[l])",
    "loss": "J = 1/m sum_i L(y_i, a_i) + penalties",
    "dA": "dA[l] = dZ[l+1] W[l+1]^T",
    "dZ": "dZ[l] = dA[l] * g'(Z[l])",
    "dZ_logits": "dZ[L] = (A[L] - Y) / m",
    "dA_loss": "dA[L] = dJ/dA[L], from the loss",
    "dA_activation": "dA[l] = dA[l+1] * g'(A[l])  (an Activation layer above)",
    "dA_norm": "dA[l] = the normalization's backward of dA[l+1] through x̂",
    "dA_dropout": "dA[l] = dA[l+1] * mask / (1 - rate)",
    "dW": "dW[l] = A[l-1]^T dZ[l] (+ the penalty's gradient)",
    "db": "db[l] = sum over the batch of dZ[l]",
    "dgamma": "dgamma[l] = sum over the batch of dA[l] * x̂[l]",
    "dbeta": "dbeta[l] = sum over the batch of dA[l]",
}


@dataclass(frozen=True)
class Quantity:
    """Where a named quantity sits: its layer (0 for the loss), its pass and its equation."""

    name: str
    layer: int
    pass_: str  # "forward", "loss" or "backward"
    equation: str

    def as_dict(self) -> dict:
        return {"quantity": self.name, "layer": self.layer, "pass": self.pass_, "equation": self.equation}


def backward_stem(layer, from_logits: bool) -> str:
    """Which equation gives dA[l-1] from layer l's backward."""
    if isinstance(layer, L.Dense):
        return "dA"
    if isinstance(layer, L._Normalization):
        return "dA_norm"
    if isinstance(layer, L.Dropout):
        return "dA_dropout"
    return "dZ_logits" if from_logits else "dA_activation"


def parameter_names(layer) -> list[str]:
    """The gradient names of a layer's parameters, in their order: W, b for Dense; gamma, beta."""
    if isinstance(layer, L.Dense):
        return ["W", "b"] if layer.use_bias else ["W"]
    if isinstance(layer, L._Normalization):
        return (["gamma"] if layer.scale else []) + (["beta"] if layer.center else [])
    return []


@dataclass
class Pass:
    """One training pass, layer by layer: ``values`` in data-flow order, ``magnitudes`` for the
    backward quantities, ``where`` for every name."""

    values: dict
    magnitudes: dict
    where: dict


#: How far ``perturb`` moves a quantity's first entry: 1e-3 of its norm, plus 1e-3.
PERTURBATION = 1e-3


def bump(value: np.ndarray) -> None:
    """The negative control, in place: the first entry moved by 1e-3 (||value|| + 1)."""
    value.flat[0] += PERTURBATION * (np.linalg.norm(value) + 1)


def layer_by_layer(net, X, y, perturb: str | None = None) -> Pass:
    """Run ``net`` forward in training mode on (X, y) and back, keeping every quantity.

    ``perturb`` names one quantity to move (``bump``) where it is made, before anything
    downstream reads it: the negative control of a first-divergence report.  A ValueError if
    this pass has no such quantity.
    """
    if perturb is not None and perturb.startswith(("xhat", "mask")):
        raise ValueError(f"{perturb!r} is read from a layer's cache and cannot be moved; move Z, A, dA, dZ, "
                         "a parameter's gradient or the loss")
    A = net.check_X(X)
    for l, layer in enumerate(net.layers, 1):
        A = layer.forward(A, training=True)
        if perturb == f"Z{l}" and isinstance(layer, L.Dense):
            bump(layer.cache["Z"])
            A = layer.cache["A"] = layer.activation.forward(layer.cache["Z"])
        if perturb == f"A{l}":
            A = A.copy()
            bump(A)
            layer.cache["A"] = A
    caches = [layer.cache for layer in net.layers]
    Y = net.check_y(y, len(A))
    values, magnitudes, where = {}, {}, {}

    def put(name, layer, pass_, value, stem=None, magnitude=None):
        if name == perturb and name[0] == "d":  # backward: moved where it is made, so downstream sees it
            bump(value)
        values[name] = np.array(value, copy=True)
        if name == perturb and name == "loss":
            bump(values[name])
        where[name] = Quantity(name, layer, pass_, EQUATIONS[stem or name.rstrip("0123456789")])
        if magnitude is not None:
            magnitudes[name] = magnitude

    for l, (layer, cache) in enumerate(zip(net.layers, caches), 1):
        if isinstance(layer, L.Dense):
            put(f"Z{l}", l, "forward", cache["Z"])
        elif isinstance(layer, L._Normalization):
            put(f"xhat{l}", l, "forward", cache["Xc"] * cache["r"])
        elif isinstance(layer, L.Dropout) and cache.get("mask") is not None:
            put(f"mask{l}", l, "forward", cache["mask"].astype(net.dtype))
        put(f"A{l}", l, "forward", cache["A"])
    put("loss", 0, "loss", net.compute_loss(Y, caches))

    n = len(net.layers)
    dA = M_dA = dZ = M_dZ = None
    G, at_logits, M_G = net.output_gradient(Y, magnitude=True)
    if at_logits:  # the loss reads Z_L: the pass starts at dZ_L, as Keras's does
        dZ, M_dZ = G, M_G
    else:  # the pass starts at dA_L, from the loss
        dA, M_dA = G, M_G
        put(f"dA{n}", n, "backward", dA, "dA_loss", M_dA)
    for l in range(n, 0, -1):
        layer = net.layers[l - 1]
        from_logits = l == n and dZ is not None
        if isinstance(layer, L.Dense):
            if not from_logits:
                dZ = L.activation_backward(dA, layer.cache, layer.activation)
                M_dZ = L.activation_magnitude(M_dA, layer.cache, layer.activation)
            put(f"dZ{l}", l, "backward", dZ, "dZ_logits" if from_logits else "dZ", M_dZ)
            dA_prev = layer.backward_from_logits(dZ, need_dA_prev=l > 1)
            M_dA_prev, M_grads = layer.backward_magnitude_from_logits(M_dZ)
        elif from_logits:
            dA_prev = layer.backward_from_logits(dZ, need_dA_prev=l > 1)
            M_dA_prev, M_grads = layer.backward_magnitude_from_logits(M_dZ)
        else:
            dA_prev = layer.backward(dA, need_dA_prev=l > 1)
            M_dA_prev, M_grads = layer.backward_magnitude(M_dA)
        for p, grad, M in zip(parameter_names(layer), layer.grads, M_grads):
            put(f"d{p}{l}", l, "backward", grad, f"d{p}", M)
        if l > 1:  # dJ/dA[l-1], made by this layer's backward
            put(f"dA{l - 1}", l - 1, "backward", dA_prev, backward_stem(layer, from_logits), M_dA_prev)
        dA, M_dA = dA_prev, M_dA_prev
    if perturb is not None and perturb not in values:
        raise ValueError(f"no quantity {perturb!r} in this pass; valid: {', '.join(values)}")
    return Pass(values, magnitudes, where)
