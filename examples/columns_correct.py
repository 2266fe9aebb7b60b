"""A correct L-layer network in the lecture's "columns" layout, as the classic "deep network,
step by step" assignments write it: W[l] is (n_l, n_{l-1}), b[l] is (n_l, 1), examples are
columns, X is (n_0, m) and Y is (n_L, m).

    python -m compare.candidate examples/columns_correct.py

Hidden layers use HIDDEN_ACTIVATION ("relu", "tanh" or "sigmoid"), the output OUTPUT_ACTIVATION:
a sigmoid with binary cross-entropy, or a softmax with categorical cross-entropy.  dZ and dA carry no 1/m; dW and db do, as on the lecture's
"summary of gradient descent" slide: dZ[L] = A[L] - Y, dW[L] = (1/m) dZ[L] A[L-1]^T.
"""
import numpy as np

HIDDEN_ACTIVATION = "relu"
OUTPUT_ACTIVATION = "sigmoid"  # or "softmax", with categorical cross-entropy


def sigmoid(Z):
    A = 1 / (1 + np.exp(-Z))
    return A, Z


def relu(Z):
    return np.maximum(0, Z), Z


def tanh(Z):
    return np.tanh(Z), Z


def softmax(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True), Z


def sigmoid_backward(dA, cache):
    s = 1 / (1 + np.exp(-cache))
    return dA * s * (1 - s)


def relu_backward(dA, cache):
    return dA * (cache > 0)


def tanh_backward(dA, cache):
    t = np.tanh(cache)
    return dA * (1 - t ** 2)


def softmax_backward(dA, cache):
    A = softmax(cache)[0]
    return A * (dA - np.sum(dA * A, axis=0, keepdims=True))


FORWARD = {"sigmoid": sigmoid, "relu": relu, "tanh": tanh, "softmax": softmax}
BACKWARD = {"sigmoid": sigmoid_backward, "relu": relu_backward, "tanh": tanh_backward, "softmax": softmax_backward}


def linear_forward(A_prev, W, b):
    Z = W @ A_prev + b
    return Z, (A_prev, W, b)


def linear_activation_forward(A_prev, W, b, activation):
    Z, linear_cache = linear_forward(A_prev, W, b)
    A, activation_cache = FORWARD[activation](Z)
    return A, (linear_cache, activation_cache)


def L_model_forward(X, parameters):
    caches, A = [], X
    L = len(parameters) // 2
    for l in range(1, L + 1):
        activation = OUTPUT_ACTIVATION if l == L else HIDDEN_ACTIVATION
        A, cache = linear_activation_forward(A, parameters[f"W{l}"], parameters[f"b{l}"], activation)
        caches.append(cache)
    return A, caches


def compute_cost(AL, Y):
    m = Y.shape[1]
    if OUTPUT_ACTIVATION == "softmax":
        return float(-np.sum(Y * np.log(AL)) / m)
    return float(-np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / m)


def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = dZ @ A_prev.T / m
    db = np.sum(dZ, axis=1, keepdims=True) / m
    dA_prev = W.T @ dZ
    return dA_prev, dW, db


def linear_activation_backward(dA, cache, activation):
    linear_cache, activation_cache = cache
    dZ = BACKWARD[activation](dA, activation_cache)
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches):
    grads = {}
    L = len(caches)
    dAL = -Y / AL if OUTPUT_ACTIVATION == "softmax" else -(Y / AL - (1 - Y) / (1 - AL))
    current = dAL
    for l in range(L, 0, -1):
        activation = OUTPUT_ACTIVATION if l == L else HIDDEN_ACTIVATION
        dA_prev, dW, db = linear_activation_backward(current, caches[l - 1], activation)
        grads[f"dA{l - 1}"], grads[f"dW{l}"], grads[f"db{l}"] = dA_prev, dW, db
        current = dA_prev
    return grads
