"""python -m compare.bench on a tiny configuration: the table, the JSON and bad input (no timing asserted)."""
import json

import pytest

from compare import bench


def test_bench_reports_both_sides_and_the_gemm_rate(tmp_path, capsys):
    path = tmp_path / "bench.json"
    code = bench.main(["--networks", "5-3-1,4-6-1", "--batch-sizes", "256", "--repeats", "1", "--json", str(path)])
    report = json.loads(path.read_text())
    out = capsys.readouterr().out
    assert code == (0 if report["passed"] else 1)
    assert "NumPy float32 GEMM:" in out and "scratch/keras" in out and "4-6-1" in out
    assert "Where a scratch step goes" in out and "ratio if only matmul" in out
    assert report["device"] == "/device:CPU:0" and report["gemm_flops"] > 0 and report["blas"]
    # the reference rate is sampled at every turn (1 + repeats per row) and at the start; the best one judges
    assert len(report["gemm_flops_samples"]) == 1 + 2 * 2 and report["gemm_flops"] == max(report["gemm_flops_samples"])
    rows = {r["network"]: r for r in report["rows"]}
    assert set(rows) == {"5-3-1", "4-6-1"}
    for r in rows.values():
        assert r["scratch_samples_per_s"] > 0 and r["keras_samples_per_s"] > 0
        assert r["ratio"] == pytest.approx(r["scratch_samples_per_s"] / r["keras_samples_per_s"])
        assert r["gemm_fraction"] == pytest.approx(6 * r["params"] * r["scratch_samples_per_s"] / report["gemm_flops"])
        assert len(r["scratch_epoch_s"]) == len(r["keras_epoch_s"]) == 1  # the warm-up turn not among them
        assert 0 < r["scratch_step_s"]["matmul"] and 0 < r["scratch_step_s"]["forward"] < r["scratch_step_s"]["step"]
    assert rows["5-3-1"]["params"] == 5 * 3 + 3 + 3 * 1 + 1 and rows["5-3-1"]["ratio_target"] is None
    assert rows["4-6-1"]["ratio_target"] == 20.0


def test_known_networks_carry_the_issue_targets():
    assert bench.NETWORKS["30-64-32-1"].ratio_target(128) == 10.0
    big = bench.NETWORKS["784-512-256-10"]
    assert big.ratio_target(512) == 1.5 and big.gemm_target(512) == 0.8 and big.ratio_target(32) is None


@pytest.mark.parametrize("argv,message", [
    (["--networks", "4-x-1"], "network '4-x-1' is not sizes joined by '-'"),
    (["--networks", "7"], "network '7' needs at least two sizes"),
    (["--batch-sizes", "3a"], "batch size '3a' is not an integer"),
    (["--batch-sizes", "0"], "batch size 0 must be from 1"),
    (["--device", "gpu:7"], "device 'gpu:7' is not available; TensorFlow sees: cpu:0"),
    (["--device", "quantum"], "unknown device 'quantum'"),
    (["--repeats", "0"], "'0' must be >= 1"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and message in err


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A user's model, compiled and saved untrained: Dense, BatchNormalization, Dropout, softmax."""
    from keras_ref import quiet
    keras = quiet.keras()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.BatchNormalization(), keras.layers.Dropout(0.2),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    path = tmp_path_factory.mktemp("bench") / "model.keras"
    model.save(path)
    return str(path)


MODEL_ARGS = ["--inference-batch-sizes", "1,4", "--batch-sizes", "8", "--samples", "32", "--repeats", "1"]


def test_a_saved_model_is_timed_against_keras_and_onnxruntime(saved_model, tmp_path, capsys):
    path = tmp_path / "bench.json"
    code = bench.main(["--model", saved_model, *MODEL_ARGS, "--json", str(path)])
    report = json.loads(path.read_text())
    out = capsys.readouterr().out
    assert code == (0 if report["passed"] else 1)
    assert "twin.predict" in out and "twin/onnxruntime" in out and "twin/twin matmuls alone" in out
    assert "twin/keras" in out
    infer = report["inference"]
    expected = {"twin.predict", "twin matmuls alone", "model(x)", "model.predict", "onnxruntime"}
    assert expected <= set(infer["engines"]) <= expected | {"onnxruntime 1 thread"} and not infer["left_out"]
    # every engine computed the twin's output before it was timed (the matmuls alone are a floor, not an engine)
    assert set(infer["agreement"]) == set(infer["engines"]) - {"twin.predict", "twin matmuls alone"}
    assert all(e["passed"] for e in infer["agreement"].values())
    assert [r["batch_size"] for r in infer["rows"]] == [1, 4]
    for r in infer["rows"]:
        assert set(r["best_s"]) == set(infer["engines"]) and all(t > 0 for t in r["best_s"].values())
        assert all(r["best_s"][n] <= r["median_s"][n] for n in infer["engines"])
        assert r["twin_over"]["onnxruntime"] == pytest.approx(r["best_s"]["twin.predict"] / r["best_s"]["onnxruntime"])
        assert r["met"] == (r["onnx_target"] is None or r["twin_over"]["onnxruntime"] <= r["onnx_target"])
    assert [r["onnx_target"] for r in infer["rows"]] == [1.25, None]  # the issue's targets, at 1 and 1024
    (train,) = report["training"]
    assert train["batch_size"] == 8 and len(train["twin_epoch_s"]) == len(train["keras_epoch_s"]) == 1
    assert train["ratio"] == pytest.approx(train["twin_samples_per_s"] / train["keras_samples_per_s"])


def test_without_onnxruntime_the_rest_is_timed(saved_model, monkeypatch, capsys):
    from compare import bench_model
    monkeypatch.setattr(bench_model, "onnx_missing", lambda: 'onnxruntime not installed (pip install ".[bench]")')
    code = bench.main(["--model", saved_model, *MODEL_ARGS])
    out = capsys.readouterr().out
    assert code == 0  # no target can be judged, and Keras's outputs agree
    assert 'onnxruntime: not timed: onnxruntime not installed (pip install ".[bench]")' in out
    assert "twin/onnxruntime" not in out and "twin/model.predict" in out


def test_a_model_mode_bad_input_is_one_line_and_exit_2(saved_model, tmp_path, capsys):
    assert bench.main(["--model", str(tmp_path / "none.keras")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--model", saved_model, "--batch-sizes", "64", "--samples", "32"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "training batch size 64 must be at most --samples 32" in err


def test_an_engine_that_computes_something_else_is_reported(saved_model, monkeypatch, capsys):
    """The negative control of the output check: onnxruntime's output moved by 1."""
    from compare import bench_model
    real = bench_model.engines

    def moved(model, net, threads):
        found, left_out = real(model, net, threads)
        found["onnxruntime"] = lambda X, run=found["onnxruntime"]: run(X) + 1
        return found, left_out
    monkeypatch.setattr(bench_model, "engines", moved)
    assert bench.main(["--model", saved_model, *MODEL_ARGS]) == 1
    out = capsys.readouterr().out
    assert "onnxruntime output against twin.predict's" in out and "OUTSIDE the network's tolerance" in out


def test_the_sweep_bench_judges_each_way_against_its_target(monkeypatch):
    """compare.bench --sweep's verdicts, on given sweep times (the sweeps themselves are the
    bench's to run, not the tests'): a ratio under its target, or a sweep left incomplete,
    fails the bench."""
    from compare import bench_sweep

    def sweeps(seconds, complete=True, parity=True):
        def run_sweep(label, config, flags, folder, progress):
            return {"way": label, "flags": flags, "wall_s": seconds[label], "sweep_s": seconds[label] - 3,
                    "returncode": 0, "trials": 8, "executions": 8, "complete": complete or label != "keras, --jobs 2",
                    "parity": parity if "scratch" in label else None}
        return run_sweep

    monkeypatch.setattr(bench_sweep, "execution_profile", lambda *args: {
        "plain": {"build_compile_s": 0.02, "first_epoch_s": 0.3, "later_epochs_mean_s": 0.04, "total_s": 1.1},
        "tensorboard": {"total_s": 1.2}, "tensorboard_per_epoch_s": 0.005, "second_iterator_per_epoch_s": 0.01,
        "gc_collect_twice_s": 0.4,
        "gc_collect_twice_frozen_s": 0.0})
    config = bench_sweep.Config(True, 1, 2, 0)
    met = {"keras, 1 job": 60.0, "keras, --jobs 2": 36.0, "scratch engine": 5.0}
    monkeypatch.setattr(bench_sweep, "run_sweep", sweeps(met))
    outcome = bench_sweep.execute(config, None, "/device:CPU:0")
    assert outcome.passed and [r["speedup"] for r in outcome.results["sweeps"]] == [1.0, 60 / 36, 12.0]
    assert "keras, --jobs 2  36.0" in "\n".join(outcome.lines)
    for seconds, complete, parity in (({**met, "keras, --jobs 2": 40.0}, True, True),
                                      ({**met, "scratch engine": 6.5}, True, True), (met, False, True),
                                      (met, True, False)):  # a scratch engine that does not follow Keras
        monkeypatch.setattr(bench_sweep, "run_sweep", sweeps(seconds, complete, parity))
        outcome = bench_sweep.execute(config, None, "/device:CPU:0")
        assert not outcome.passed and ("MISSED" if complete else "INCOMPLETE") in "\n".join(outcome.lines)

