import json
import os
import subprocess
import sys

import pytest

from keras_ref.devices import resolve_device, visible_devices
from scratch.tolerances import training
from tests.helpers import assert_close, check

HERE = os.path.dirname(__file__)


def test_auto_and_cpu_resolve_here():
    assert "cpu:0" in visible_devices()
    expected = "/device:GPU:0" if any(d.startswith("gpu") for d in visible_devices()) else "/device:CPU:0"
    assert resolve_device("auto") == expected
    assert resolve_device("cpu") == resolve_device("CPU:0") == "/device:CPU:0"


@pytest.mark.parametrize("spec,message", [
    ("tpu", "unknown device 'tpu'; valid: auto, cpu, gpu, cpu:N or gpu:N"),
    ("auto:1", "unknown device 'auto:1'"),
    ("gpu:7", "device 'gpu:7' is not available; TensorFlow sees: cpu:0"),
    ("cpu:5", "device 'cpu:5' is not available; TensorFlow sees: cpu:0"),
])
def test_devices_tensorflow_does_not_see_are_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        resolve_device(spec)


def test_no_gpu_here_means_a_one_line_error_not_a_fallback(capsys):
    if any(d.startswith("gpu") for d in visible_devices()):
        pytest.skip("this machine has a GPU")
    from compare import gradients
    with pytest.raises(SystemExit) as exit_info:
        gradients.main(["--device", "gpu"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err == "compare.gradients: error: device 'gpu' is not available; TensorFlow sees: cpu:0\n"


@pytest.fixture(scope="module")
def placement(tmp_path_factory):
    """tests/placement_check.py in a fresh process whose CPU is split into two logical devices."""
    report = tmp_path_factory.mktemp("placement") / "gradients.json"
    result = subprocess.run([sys.executable, os.path.join(HERE, "placement_check.py"), str(report)],
                            capture_output=True, text=True, cwd=os.path.dirname(HERE))
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("PLACEMENT ")]
    assert result.returncode == 0 and line, result.stderr[-3000:]
    return json.loads(line[0][len("PLACEMENT "):]), json.loads(report.read_text())


@pytest.mark.parametrize("spec", ["cpu:0", "cpu:1"])
def test_variables_and_gradients_land_on_the_asked_device(placement, spec):
    found = placement[0][spec]
    where = found["name"].replace("/device:", "device:")
    assert found["variables"] == found["gradients"] == [f"/job:localhost/replica:0/task:0/{where}"]
    assert found["loss"].endswith(where)


def test_the_command_runs_on_the_second_logical_cpu(placement):
    findings, report = placement
    assert findings["visible"] == ["cpu:0", "cpu:1"]
    assert findings["command_exit"] == 0 and report["device"] == "/device:CPU:1" and report["passed"]


def test_mirrored_strategy_over_two_cpus_trains_as_one_device(placement):
    """Two replicas sum their halves' gradients in another order than one device sums the batch:
    within sqrt(k) N eps after k steps (``tolerances.training``; 4-6-1, batches of 16, 12 steps:
    5e-14), for the weights and each epoch's loss."""
    mirrored = placement[0]["mirrored"]
    assert mirrored["replicas"] == 2
    # the weights did train: Adam moves a weight by about its lr, 1e-3, a step (measured 0.012
    # after 12), some 1e11 times the tolerance...
    assert mirrored["moved"] > 1e-3
    # ...and the same way on both (measured 1e-16)
    tol = training("float64", (4, 6, 1), 16, mirrored["steps"])
    check("weights, mirrored vs one device (rel diff)", mirrored["weight_rel_diff"], tol)
    assert_close(mirrored["loss"][0], mirrored["loss"][1], tol, what="epoch losses")
