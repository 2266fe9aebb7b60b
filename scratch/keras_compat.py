"""The one place where the scratch side reproduces Keras-on-TensorFlow's quirks.

**Logits behind any sigmoid or softmax output.**  Keras's sigmoid and softmax attach their
input Z to their output as ``_keras_logits``, and both cross-entropies take the logits of
whichever of the two produced the output, then apply their *own* link to them:
binary cross-entropy after a softmax output is ``sigmoid_cross_entropy_with_logits(Z)``,
the loss of sigmoid(Z), not of the softmax probabilities it was given; categorical
cross-entropy after a sigmoid output is the cross-entropy of softmax(Z).  For the
matching pairs (sigmoid with binary, softmax with categorical) this is just the stable
form of the same loss, and the network always takes it.  For the crossed pairs it is a
different loss (on the lecture's batch, 0.7009 instead of 0.6944 for a 3-unit softmax
with binary cross-entropy); ``reads_logits`` reproduces it when ``keras_compat``.

**Float32 constants in float64 models.**  Two Python-float constants still pass through
float32 on the TensorFlow backend (Keras 3.x, TensorFlow 2.16 and later):

1. **LeakyRelu's slope.**  ``tf.nn.leaky_relu(x, alpha=0.01)`` holds ``alpha`` as a float32
   op attribute, so the slope a float64 model applies is ``float32(0.01)`` =
   0.009999999776482582, not 0.01.
2. **The L2 factor.**  ``keras.regularizers.L2.__call__`` computes
   ``ops.cast(self.l2, x.dtype) * sum(x**2)``; ``ops.cast`` first makes a float32 tensor of
   the Python float, so ``l2 = 0.01`` becomes 0.009999999776482582 in a float64 model.

With ``keras_compat=True`` (the default) ``scratch.Network`` reproduces all three, so its
float64 results match Keras to ~1e-16.  With ``keras_compat=False`` it uses the exact
constants and the loss of the probabilities it was given, and ``python -m
compare.gradients --no-keras-compat`` measures the gap that each quirk causes (the README
lists them).  In float32 models the two roundings change nothing.
"""
from __future__ import annotations

import numpy as np


def float32_constant(value: float, keras_compat: bool = True) -> float:
    """``value`` as TensorFlow hands it to a float64 op: rounded through float32 when ``keras_compat``."""
    return float(np.float32(value)) if keras_compat else float(value)


#: Output activations whose output carries its logits, ``_keras_logits``, on TensorFlow.
LOGIT_CARRYING_ACTIVATIONS = ("sigmoid", "softmax")


def reads_logits(logits_of: str | None, output_activation: str, keras_compat: bool = True) -> bool:
    """Whether a loss with link ``logits_of`` is taken from the output layer's logits Z.

    Always for the matching pair (the same loss, in its stable form); for a crossed pair
    (a sigmoid output with a softmax link or the reverse) only when ``keras_compat``.
    """
    if logits_of is None:
        return False
    if logits_of == output_activation:
        return True
    return keras_compat and output_activation in LOGIT_CARRYING_ACTIVATIONS
