"""Run in a subprocess by tests/test_devices.py: the CPU split into two logical devices.

Prints one JSON object of findings; the test asserts on them.
"""
import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

import keras_ref  # noqa: E402
from compare.cases import make_batch  # noqa: E402
from compare.gradients import main as gradients_main  # noqa: E402
from keras_ref.devices import resolve_device, visible_devices  # noqa: E402

out = {"visible": visible_devices()}
X, Y = (a.astype("float64") for a in make_batch((4, 6, 1), "binary_crossentropy", 64, 0))

# 1. variables and the traced gradient computation land where they were asked to
for spec in ("cpu:0", "cpu:1"):
    name = resolve_device(spec)
    with tf.device(name):
        model = keras_ref.build_model([4, 6, 1], hidden_activation="tanh", seed=0, dtype="float64")
        _, loss, grads = keras_ref.gradients.traced_step(model)(tf.constant(X), tf.constant(Y))
    out[spec] = {
        "name": name,
        "variables": sorted({v.value.device for v in model.weights}),
        "gradients": sorted({g.device for g in grads}),
        "loss": loss.device,
    }

# 2. MirroredStrategy over the two logical CPUs trains as one device does
initial = keras_ref.initial_weights([4, 6, 1], "glorot_uniform", seed=1, dtype="float64")
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    mirrored = keras_ref.build_model([4, 6, 1], hidden_activation="tanh", dtype="float64")
mirrored.set_weights(initial)
single = keras_ref.build_model([4, 6, 1], hidden_activation="tanh", dtype="float64")
single.set_weights(initial)
h_m = mirrored.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0)
h_s = single.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0)
out["mirrored"] = {
    "replicas": strategy.num_replicas_in_sync,
    "steps": 3 * len(X) // 16,
    "max_weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(mirrored.get_weights(), single.get_weights())),
    # the lecture's ||a - b|| / (||a|| + ||b||), the worst tensor
    "weight_rel_diff": max(float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))
                           for a, b in zip(mirrored.get_weights(), single.get_weights())),
    "moved": max(float(np.max(np.abs(a - b))) for a, b in zip(single.get_weights(), initial)),
    "loss": [h_m.history["loss"], h_s.history["loss"]],
}

# 3. the command, asked for the second logical CPU
out["command_exit"] = gradients_main(["--device", "cpu:1", "--init-modes", "he_normal", "--json", sys.argv[1],
                                      "--overwrite"])
print("PLACEMENT " + json.dumps(out))
