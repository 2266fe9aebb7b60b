"""The one place where the scratch side reproduces Keras-on-TensorFlow's float32 roundings.

In a float64 Keras model, two Python-float constants still pass through float32 on the
TensorFlow backend (Keras 3.x, TensorFlow 2.16 and later):

1. **LeakyRelu's slope.**  ``tf.nn.leaky_relu(x, alpha=0.01)`` holds ``alpha`` as a float32
   op attribute, so the slope a float64 model applies is ``float32(0.01)`` =
   0.009999999776482582, not 0.01.
2. **The L2 factor.**  ``keras.regularizers.L2.__call__`` computes
   ``ops.cast(self.l2, x.dtype) * sum(x**2)``; ``ops.cast`` first makes a float32 tensor of
   the Python float, so ``l2 = 0.01`` becomes 0.009999999776482582 in a float64 model.

With ``keras_compat=True`` (the default) ``scratch.Network`` applies both roundings, so its
float64 results match Keras to ~1e-16.  With ``keras_compat=False`` it uses the exact
constants, and ``python -m compare.gradients --no-keras-compat`` measures the gap that each
rounding causes (the README lists it).  In float32 models both settings are identical.
"""
from __future__ import annotations

import numpy as np


def float32_constant(value: float, keras_compat: bool = True) -> float:
    """``value`` as TensorFlow hands it to a float64 op: rounded through float32 when ``keras_compat``."""
    return float(np.float32(value)) if keras_compat else float(value)
