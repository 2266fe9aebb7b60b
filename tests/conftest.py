import functools
import os

import pytest

#: Modules whose assertions depend on how BLAS rounds: .ci/run runs them again under other
#: OpenBLAS kernels and one thread (``pytest -m numerics``).
NUMERICS = {
    "test_activations", "test_compare_candidate", "test_compare_gradients", "test_compare_model", "test_compare_signal",
    "test_compare_training", "test_compare_tune", "test_intermediates", "test_layers", "test_losses", "test_network", "test_onnx_twin",
    "test_optimizers", "test_parity", "test_training", "test_twin",
}


def pytest_configure(config):
    config.addinivalue_line("markers", "numerics: depends on BLAS's rounding; run under several kernels in CI")


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in NUMERICS:
            item.add_marker(pytest.mark.numerics)


def pytest_report_header(config):
    """Which BLAS kernel and thread count actually ran (threadpoolctl), and what was asked for."""
    import numpy  # noqa: F401  (loads its BLAS, which threadpoolctl then reports)
    from threadpoolctl import threadpool_info
    asked = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS") if k in os.environ}
    ran = ", ".join(f"{i['internal_api']} {i.get('architecture') or ''} x{i['num_threads']} ({i['filepath'].rsplit('/', 2)[-2]})"
                    for i in threadpool_info() if i["user_api"] == "blas")
    return f"BLAS: {ran or 'none loaded'}; environment: {asked or 'defaults'}"


@pytest.fixture(scope="session")
def keras_model():
    """``keras_ref.build_model`` shared across tests: one build (and one trace) per spec."""
    import keras_ref

    @functools.lru_cache(maxsize=None)
    def build(layers, hidden_activation, output_activation, loss, l2, dtype):
        return keras_ref.build_model(list(layers), hidden_activation=hidden_activation,
                                     output_activation=output_activation, loss=loss, l2=l2,
                                     seed=0, dtype=dtype)

    def get(layers=(4, 6, 1), hidden_activation="sigmoid", output_activation="sigmoid",
            loss="binary_crossentropy", l2=0.0, dtype="float64"):
        """Read-only use: a test that trains or recompiles builds its own model."""
        return build(tuple(layers), hidden_activation, output_activation, loss, l2, dtype)
    return get
