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
