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

3. **Optimizer constants** (``scratch.optimizers`` says where each one enters): the
   learning rate lives in a float32 variable, SGD's ``momentum`` and Adam's ``beta_1`` and
   ``beta_2`` (in the bias correction) pass through ``ops.cast``.

Each quirk has a name in ``QUIRKS``.  ``keras_compat=True`` (the default) reproduces them
all, so float64 results match Keras to ~1e-16, gradients and whole training runs alike;
``False`` reproduces none, and a collection of names reproduces just those, so that the
drift each one causes can be measured by leaving it out (``--drop-quirk`` on the compare
commands; the README lists the figures).  In float32 models the roundings change nothing.
"""
from __future__ import annotations

from typing import Iterable, Union

import numpy as np

#: The reproduced quirks, by name.
QUIRKS = (
    "crossed_logits",    # a cross-entropy reads the logits of any sigmoid/softmax output
    "leaky_relu_slope",  # LeakyRelu's alpha is a float32 op attribute
    "l2_factor",         # L2 casts its factor through float32
    "learning_rate",     # optimizers hold the learning rate in a float32 variable
    "sgd_momentum",      # ops.cast of a Python float: SGD momentum, every weight_decay, Adagrad's start
    "adam_betas",        # Adam casts beta_1, beta_2 through float32 for beta^t
)

#: Quirks that depend on how a model was compiled, not on Keras alone: ``keras_compat=True``
#: leaves them out, and ``compare.twin.derive_quirks`` turns them on where a model has them.
MODEL_QUIRKS = (
    # ``compile`` casts the compiled loss's value to the floatx() of compile time (CompileLoss's
    # own dtype): a float64 model compiled under float32 reports its loss rounded to float32.
    # Its gradients are not touched (TensorFlow's Cast passes the gradient 1 through exactly).
    "loss_value_floatx",
)

KerasCompat = Union[bool, Iterable[str]]


def resolve(keras_compat: KerasCompat) -> frozenset:
    """The set of quirks to reproduce: all for True, none for False, else the names given."""
    if keras_compat is True:
        return frozenset(QUIRKS)
    if keras_compat is False or keras_compat is None:
        return frozenset()
    names = frozenset([keras_compat] if isinstance(keras_compat, str) else keras_compat)
    unknown = sorted(names - set(QUIRKS) - set(MODEL_QUIRKS))
    if unknown:
        raise ValueError(f"unknown Keras quirk {unknown[0]!r}; valid: {', '.join(QUIRKS + MODEL_QUIRKS)}")
    return names


def float32_constant(value: float, rounded: bool = True) -> float:
    """``value`` as TensorFlow hands it to a float64 op: rounded through float32 when ``rounded``."""
    return float(np.float32(value)) if rounded else float(value)


#: Output activations whose output carries its logits, ``_keras_logits``, on TensorFlow.
LOGIT_CARRYING_ACTIVATIONS = ("sigmoid", "softmax")


def reads_logits(logits_of: str | None, output_activation: str, crossed: bool = True) -> bool:
    """Whether a loss with link ``logits_of`` is taken from the output layer's logits Z.

    Always for the matching pair (the same loss, in its stable form); for a crossed pair
    (a sigmoid output with a softmax link or the reverse) only when ``crossed``.
    """
    if logits_of is None:
        return False
    if logits_of == output_activation:
        return True
    return crossed and output_activation in LOGIT_CARRYING_ACTIVATIONS
