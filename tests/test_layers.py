import numpy as np
import pytest

from scratch import activations
from scratch.layers import activation_backward, dense_backward, dense_forward, matmul
from tests.helpers import assert_matches_fd, fd_gradients


def test_the_lecture_matrix_product():
    """[[1,2],[3,4]] . [[5,6],[7,8]] = [[19,22],[43,50]], through a linear layer with b = 0.

    Exact: small integers' products and sums are exact in any order, with or without FMA.
    """
    A, cache = dense_forward(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]]),
                             np.zeros(2), activations.get("linear"))
    assert np.array_equal(A, [[19, 22], [43, 50]])
    assert set(cache) == {"A_prev", "Z", "A"}


def test_lecture_shapes_4_6_1():
    """W(1) is 4 x 6 and W(2) is 6 x 1: one example per row, no transposes."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 4))
    A1, _ = dense_forward(X, rng.standard_normal((4, 6)), np.zeros(6), activations.get("sigmoid"))
    A2, _ = dense_forward(A1, rng.standard_normal((6, 1)), np.zeros(1), activations.get("sigmoid"))
    assert A1.shape == (3, 6) and A2.shape == (3, 1)


def test_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    A_prev, W, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    dA = rng.standard_normal((5, 3))
    g = activations.get("tanh")

    def f(A_prev=A_prev, W=W, b=b):
        return np.sum(dA * dense_forward(A_prev, W, b, g)[0])

    A, cache = dense_forward(A_prev, W, b, g)
    dA_prev, dW, db = dense_backward(activation_backward(dA, cache, g), cache, W)
    # each within sqrt(size) (h^2 + eps / h) / norm (tolerances.finite_differences)
    assert_matches_fd(dW, fd_gradients(lambda w: f(W=w), W.copy()), what="dW")
    assert_matches_fd(db, fd_gradients(lambda v: f(b=v), b.copy()), what="db")
    assert_matches_fd(dA_prev, fd_gradients(lambda a: f(A_prev=a), A_prev.copy()), what="dA_prev")


def test_first_layer_skips_the_input_gradient():
    cache = {"A_prev": np.ones((2, 3)), "Z": np.ones((2, 1)), "A": np.ones((2, 1))}
    dA_prev, dW, db = dense_backward(np.ones((2, 1)), cache, np.ones((3, 1)), need_dA_prev=False)
    assert dA_prev is None and dW.shape == (3, 1) and db.shape == (1,)


@pytest.mark.parametrize("a_shape, b_shape", [((7, 1), (1, 5)), ((5, 1), (1, 1)), ((6, 4), (4, 3))])
def test_matmul_takes_a_single_term_product_as_an_outer_product_with_the_same_values(a_shape, b_shape):
    """A one-unit output layer's dA_prev = dZ @ W^T and a batch of one's dW have one term per sum.

    Equal bits: a one-term sum is one correctly rounded product, whatever the kernel.
    """
    rng = np.random.default_rng(2)
    for dtype in (np.float32, np.float64):
        a, b = rng.standard_normal(a_shape).astype(dtype), rng.standard_normal(b_shape).astype(dtype)
        a[0] = 0.0  # zeros too: the outer product may give -0.0 where BLAS gives +0.0, equal values
        out = np.empty((a_shape[0], b_shape[1]), dtype)
        assert matmul(a, b, out=out) is out
        assert np.array_equal(out, np.matmul(a, b)) and out.dtype == dtype
        strided = np.repeat(a, 2, axis=1)[:, ::2]  # not contiguous
        assert np.array_equal(matmul(strided, b), np.matmul(strided, b))


@pytest.mark.parametrize("a_shape, b_shape", [((3, 1), (2, 3)), ((2, 3, 1), (2, 1, 4)), ((3, 1), (1,)), ((1,), (1,))])
def test_matmul_leaves_every_other_shape_to_numpy(a_shape, b_shape):
    """Mismatched, stacked and 1-D operands behave exactly as np.matmul, errors included."""
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    try:
        expected = np.matmul(a, b)
    except ValueError as e:
        with pytest.raises(ValueError, match="mismatch"):
            matmul(a, b)
        assert "mismatch" in str(e)
        return
    got = matmul(a, b)
    assert np.shape(got) == np.shape(expected) and np.array_equal(got, expected)


def test_a_batch_of_one_backward_through_a_one_unit_layer_matches_finite_differences():
    rng = np.random.default_rng(3)
    A_prev, W, b = rng.standard_normal((1, 4)), rng.standard_normal((4, 1)), rng.standard_normal(1)
    g = activations.get("sigmoid")

    def f(A_prev=A_prev, W=W, b=b):
        return np.sum(dense_forward(A_prev, W, b, g)[0])

    A, cache = dense_forward(A_prev, W, b, g)
    dA_prev, dW, db = dense_backward(activation_backward(np.ones_like(A), cache, g), cache, W)
    assert_matches_fd(dW, fd_gradients(lambda w: f(W=w), W.copy()), what="dW")
    assert_matches_fd(dA_prev, fd_gradients(lambda a: f(A_prev=a), A_prev.copy()), what="dA_prev")
