"""A correct network in Keras's "rows" layout: W[l] is (n_{l-1}, n_l), b[l] is (n_l,), examples
are rows, X is (m, n_0).  The class has the rows protocol: set_weights (Keras's list),
predict, loss_and_gradients (the loss and the gradients in Keras's order) and intermediates
(every Z, A, dA, dZ, dW, db, at Keras's scale: dA and dZ carry the 1/m of the batch mean).

    python -m compare.candidate examples/rows_correct.py
"""
import numpy as np

HIDDEN_ACTIVATION = "relu"


def g(name, Z):
    return {"relu": lambda: np.maximum(Z, 0), "tanh": lambda: np.tanh(Z),
            "sigmoid": lambda: 1 / (1 + np.exp(-Z))}[name]()


def g_prime(name, Z, A):
    return {"relu": lambda: (Z > 0) * 1.0, "tanh": lambda: 1 - A ** 2, "sigmoid": lambda: A * (1 - A)}[name]()


class Net:
    def set_weights(self, weights):
        self.W, self.b = weights[0::2], weights[1::2]

    def activation(self, l):
        return "sigmoid" if l == len(self.W) else HIDDEN_ACTIVATION

    def forward(self, X):
        Z, A = {}, {0: X}
        for l in range(1, len(self.W) + 1):
            Z[l] = A[l - 1] @ self.W[l - 1] + self.b[l - 1]
            A[l] = g(self.activation(l), Z[l])
        return Z, A

    def predict(self, X):
        return self.forward(X)[1][len(self.W)]

    def intermediates(self, X, Y):
        Z, A = self.forward(X)
        L = len(self.W)
        out = {}
        for l in range(1, L + 1):
            out[f"Z{l}"], out[f"A{l}"] = Z[l], A[l]
        dZ = self.output_delta(A[L], Y)
        for l in range(L, 0, -1):
            if l < L:
                out[f"dA{l}"] = dA
                dZ = dA * g_prime(self.activation(l), Z[l], A[l])
            out[f"dZ{l}"] = dZ
            out[f"dW{l}"] = A[l - 1].T @ dZ
            out[f"db{l}"] = self.bias_gradient(dZ)
            dA = self.input_gradient(dZ, self.W[l - 1])
        self.loss = float(-np.mean(Y * np.log(A[L]) + (1 - Y) * np.log(1 - A[L])))
        return out

    def output_delta(self, AL, Y):
        """dZ[L] = (A[L] - Y) / (m n_out): the loss reads the sigmoid's logits, and averages over
        the rows and the output units, as Keras's binary cross-entropy does."""
        return (AL - Y) / AL.size

    def bias_gradient(self, dZ):
        return dZ.sum(axis=0)

    def input_gradient(self, dZ, W):
        return dZ @ W.T

    def loss_and_gradients(self, X, Y):
        q = self.intermediates(X, Y)
        return self.loss, [q[f"d{p}{l}"] for l in range(1, len(self.W) + 1) for p in "Wb"]
