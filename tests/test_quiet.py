"""A quiet start: no TensorFlow C++ line on the terminal, --help without TensorFlow, failures shown whole."""
import re
import subprocess
import sys
import textwrap

import pytest

#: absl's C++ log line: severity letter, MMDD, time, thread, file:line]
CPP_LOG_LINE = re.compile(r"^[IWEF]\d{4} ", re.MULTILINE)
COMMANDS = ["compare.gradients", "compare.training", "compare.signal", "compare.initializers", "compare.bench",
            "compare.model", "keras_ref.tune"]
ONE_CASE = ["--init-modes", "zero", "--activations", "relu", "--dtypes", "float64"]


def run(*args, **kwargs):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, **kwargs)


def test_the_main_job_prints_no_tensorflow_line_unless_asked():
    quiet = run("-m", "compare.gradients", *ONE_CASE)
    assert quiet.returncode == 0 and "1/1 cases agree" in quiet.stdout
    assert not CPP_LOG_LINE.search(quiet.stderr), quiet.stderr
    # the control: TensorFlow 2.21 does log at start on x86 (oneDNN, CUDA probe), and --verbose shows it
    verbose = run("-m", "compare.gradients", *ONE_CASE, "--verbose")
    assert verbose.returncode == 0 and CPP_LOG_LINE.search(verbose.stderr), verbose.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_help_and_bad_arguments_answer_without_importing_tensorflow(command):
    probe = textwrap.dedent(f"""
        import runpy, sys
        for argv in (["--help"], ["--seed", "-1"]):
            sys.argv = ["{command}"] + argv
            try:
                runpy.run_module("{command}", run_name="__main__", alter_sys=True)
            except SystemExit as e:
                print("exit", e.code)
        print("tensorflow imported:", "tensorflow" in sys.modules)
    """)
    result = run("-c", probe)
    assert "exit 0" in result.stdout and "exit 2" in result.stdout, result.stdout + result.stderr
    assert "tensorflow imported: False" in result.stdout
    assert result.stderr.count("\n") == 1 and "error:" in result.stderr  # the bad --seed, one line


def test_a_failed_import_shows_everything_it_wrote(tmp_path):
    """A TensorFlow that cannot start: what it wrote on descriptor 2 is shown, then the error."""
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("import os\nos.write(2, b'E0000 fake.cc:1] libcudnn missing\\n')\n"
                                      "raise ImportError('this TensorFlow cannot start')\n")
    (tmp_path / "keras.py").write_text("import tensorflow\n")
    result = run("-m", "compare.gradients", *ONE_CASE, env={"PYTHONPATH": f"{tmp_path}:."})
    assert result.returncode != 0
    assert "E0000 fake.cc:1] libcudnn missing" in result.stderr
    assert "ImportError: this TensorFlow cannot start" in result.stderr


def test_the_capture_holds_descriptor_2_and_gives_it_back(capfd):
    import os
    from keras_ref.quiet import _descriptor_2_captured
    with _descriptor_2_captured() as read:
        os.write(2, b"I0000 held back\n")
        assert read() == "I0000 held back\n"
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
