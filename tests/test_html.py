"""--html: one self-contained page, rendered in a real headless Chromium (Debian's, which .ci/run installs).

The page must load with no console error and no request outside the file, and the rendered
DOM must carry the verdict; a screenshot is taken (and was looked at by hand: README).
"""
import os
import re
import shutil
import subprocess

import pytest

from compare import candidate, gradients

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


def self_contained(text: str) -> None:
    assert "<script" not in text and not re.search(r'(src|href)="(https?:)?//', text)
    assert 'src="data:image/png;base64,' in text  # the one plot, inline


def render(path, tmp_path):
    """(rendered DOM, stderr) of Chromium loading the page, after a screenshot of it."""
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (.ci/run installs Debian's)")
    profile = tmp_path / "profile"
    shot = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1400",
                           f"--screenshot={tmp_path / 'page.png'}", f"file://{path}"],
                          capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert (tmp_path / "page.png").stat().st_size > 20_000  # a page, not a blank
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", f"file://{path}"],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in (shot.stderr + dom.stderr).splitlines() if "CONSOLE" in line]
    assert not console, console
    return dom.stdout


def test_the_gradients_page_renders_with_the_first_divergence(tmp_path):
    path = tmp_path / "gradients.html"
    assert gradients.main(["--init-modes", "uniform", "--activations", "relu", "--dtypes", "float64",
                           "--perturb", "dZ1", "--html", str(path)]) == 1
    text = path.read_text()
    self_contained(text)
    assert "First divergence: layer 1, dZ1 (backward)" in text and "dZ[l] = dA[l] * g&#x27;(Z[l])" in text
    dom = render(path, tmp_path)
    assert '<div class="verdict fail" id="verdict">0/1 cases agree</div>' in dom
    assert '<tr class="first">' in dom


def test_the_candidate_page_renders_both_runs(tmp_path):
    path = tmp_path / "candidate.html"
    assert candidate.main([os.path.join(EXAMPLES, "columns_missing_1_over_m.py"), "--html", str(path)]) == 1
    text = path.read_text()
    self_contained(text)
    assert text.count("First divergence: layer 2, dW2 (backward) in <code>linear_backward</code>") == 2
    assert "dW[l] = 1/m dZ[l] A[l-1]^T" in text  # the columns layout's own equation
    dom = render(path, tmp_path)
    assert "your implementation does not agree with Keras" in dom


def test_an_agreeing_page_says_so_and_an_earlier_page_is_kept(tmp_path, capsys):
    path = tmp_path / "ok.html"
    assert gradients.main(["--init-modes", "uniform", "--activations", "tanh", "--dtypes", "float64",
                           "--html", str(path)]) == 0
    assert '<div class="verdict ok" id="verdict">1/1 cases agree</div>' in path.read_text()
    with pytest.raises(SystemExit) as exit_info:
        gradients.main(["--html", str(path)])
    assert exit_info.value.code == 2 and "exists; pass --overwrite" in capsys.readouterr().err


def test_the_model_page_renders_its_layers_and_the_first_divergence(tmp_path):
    from compare import model as cmd
    from keras_ref import quiet
    keras = quiet.keras()
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                          keras.layers.BatchNormalization(), keras.layers.Dense(1, activation="sigmoid")])
    m.compile(loss="binary_crossentropy", optimizer="adam")
    m.save(tmp_path / "m.keras")
    path = tmp_path / "model.html"
    assert cmd.main([str(tmp_path / "m.keras"), "--steps", "2", "--perturb", "dA2", "--html", str(path)]) == 1
    text = path.read_text()
    self_contained(text)
    assert "layer 2: BatchNormalization" in text and "First divergence: layer 2, dA2 (backward)" in text
    dom = render(path, tmp_path)
    assert '<div class="verdict fail" id="verdict">the twin does not agree</div>' in dom
