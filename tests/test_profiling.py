"""scratch.profiling: a training step phase by phase, leaving the network as it was."""
import numpy as np
import pytest

import scratch
from scratch import tolerances
from scratch.profiling import PHASES, profile_step
from tests.helpers import assert_close, make_xy


def test_profile_step_times_each_phase_and_leaves_the_network_as_it_was(monkeypatch):
    X, y = make_xy([4, 6, 1], "binary_crossentropy", m=64, seed=0)
    net = scratch.Network([4, 6, 1], seed=0)
    scratch.fit(net, X, y, epochs=1, batch_size=16, verbose=0)
    before, own = net.get_weights(), net.optimizer
    stepped = []
    real = scratch.Adam.apply_gradients
    monkeypatch.setattr(scratch.Adam, "apply_gradients",
                        lambda self, *a, **k: (stepped.append((self, net.get_weights()[0].copy())), real(self, *a, **k)))
    profile = profile_step(net, X, y, batch_size=16, steps=3, rounds=2)
    assert set(profile) == {*PHASES, "step", "matmul"}
    assert all(v > 0 for v in profile.values())
    assert_close(profile["step"], sum(profile[p] for p in PHASES), tolerances.sums(np.float64, len(PHASES)),
                 what="step vs its phases")  # two orders of a sum of positive times
    assert len(stepped) == 3 * 2 and own not in {opt for opt, _ in stepped}  # fresh optimizers, one a round
    assert not np.array_equal(stepped[-1][1], before[0])  # the steps did train
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))  # and were taken back
    assert net.optimizer is own and own.iterations == 4


@pytest.mark.parametrize("kwargs, message", [
    (dict(batch_size=0), "batch_size must be an integer from 1"),
    (dict(batch_size=4, steps=0), "steps must be an integer >= 1"),
    (dict(batch_size=4, rounds=1.5), "rounds must be an integer >= 1"),
])
def test_profile_step_bad_input(kwargs, message):
    X, y = make_xy([4, 6, 1], "binary_crossentropy", m=8, seed=0)
    with pytest.raises(ValueError, match=message):
        profile_step(scratch.Network([4, 6, 1]), X, y, **kwargs)
