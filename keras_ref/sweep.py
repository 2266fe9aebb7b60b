"""The Keras side of ``python -m keras_ref.tune``: the hypermodel, its callbacks and the tuner.

Kept apart from the command so that ``--help`` and bad arguments answer before TensorFlow is
imported; ``keras_ref.tune.main`` imports this module once the arguments are good.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import tempfile
import time

from keras_ref import datasets
from keras_ref.quiet import tensorflow

tf = tensorflow()
import keras  # noqa: E402  (after TensorFlow's quiet start)
import logging  # noqa: E402


class _NoRetracingWarning(logging.Filter):
    """A sweep builds a new model, so new tf.functions, for every execution: TensorFlow's warning
    that functions are traced again and again says nothing a sweep can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_NoRetracingWarning())
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
from keras_tuner.src import utils as tuner_utils  # noqa: E402
from keras_tuner.src.engine.tuner_utils import SaveBestEpoch  # noqa: E402

from keras_ref.jobs import raise_if_stopped  # noqa: E402
from keras_ref.models import build_model, compile_model  # noqa: E402
from keras_ref.tune import PROG, PROJECT, is_worker  # noqa: E402


def _replaced(path: str, write) -> None:
    """``write(temporary)`` and then the temporary file renamed to ``path``: a process killed
    meanwhile leaves ``path`` as it was, never empty or cut short.  The temporary file's name
    is unique (``mkstemp``): the chief's gRPC threads and its main thread may save at once."""
    folder, name = os.path.split(path)
    stem, dot, ext = name.partition(".")  # Keras names weights files by their whole ending, .weights.h5
    handle, partial = tempfile.mkstemp(dir=folder or ".", prefix=f"{stem}.", suffix=f".tmp{dot}{ext}")
    os.close(handle)
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _durable_saves() -> None:
    """keras-tuner 1.4 writes its state in place: ``trial.json``, ``oracle.json`` and the tuner's
    file, through ``utils.save_json``.  A sweep killed (SIGKILL, say) while one is written
    leaves it empty, and then no rerun can reload the sweep: seen here, an empty
    ``trial.json`` made every later run fail in ``Oracle.reload`` with ``JSONDecodeError``.
    It writes a temporary file and renames it instead (on local folders; others as before)."""
    save_json = tuner_utils.save_json

    def atomic_save_json(path, obj):
        if "://" in str(path):
            return save_json(path, obj)
        text = json.dumps(obj)

        def write(partial):
            with open(partial, "w") as f:
                f.write(text)
        _replaced(path, write)
        return text

    tuner_utils.save_json = atomic_save_json


def _saved_variables(model) -> list:
    """What ``model.save_weights`` writes: the layers' weights, then the optimizer's variables."""
    optimizer = getattr(model, "optimizer", None)
    return list(model.weights) + (list(optimizer.variables) if optimizer is not None else [])


def _checkpoint_once_per_execution() -> None:
    """keras-tuner's ``SaveBestEpoch`` writes a trial's checkpoint (the weights and Adam's state)
    at every epoch that betters the trial's best so far: most epochs of a learning curve, 0.15 to
    0.2 s of a 1.4 s execution.  Here such an epoch only keeps a copy of those values, and the
    file is written once, when the execution ends, with the values of its best epoch, so it
    holds what keras-tuner's own would.  It is written whole (``_replaced``): Hyperband
    continues a trial from it."""
    def keep(self):
        self.kept = [v.numpy() for v in _saved_variables(self.model)]

    def write_kept(self, logs=None):
        kept = self.__dict__.pop("kept", None)
        if kept is None:  # no epoch of this execution bettered the trial's best
            return
        variables = _saved_variables(self.model)
        now = [v.numpy() for v in variables]
        for v, value in zip(variables, kept):
            v.assign(value)
        try:
            _replaced(self.filepath, self.model.save_weights)
        finally:
            for v, value in zip(variables, now):
                v.assign(value)

    SaveBestEpoch._save_model = keep
    SaveBestEpoch.on_train_end = write_kept


_durable_saves()
_checkpoint_once_per_execution()


def versions() -> dict[str, str]:
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "keras_tuner": keras_tuner.__version__}


def tensorboard(log_dir: str):
    """Keras's TensorBoard callback, writing under ``log_dir``."""
    return keras.callbacks.TensorBoard(log_dir=log_dir)


def execution_seed(seed: int, execution: int) -> int:
    """Execution k of a trial draws its weights, and shuffles, with seed + k: repeated
    executions average over initial draws, and the same command gives the same sweep."""
    return seed + execution


class SweepHyperModel(keras_tuner.HyperModel):
    """``keras_ref.build_model`` with its search space: the choices with more than one value.

    ``fit`` hands each execution to the sweep's engine (``keras_ref.tune.KerasEngine``, or one
    given to ``keras_ref.tune.main``), except an execution a killed run already finished: its
    recorded logs are given back to keras-tuner as its history, so none runs twice.
    """

    def __init__(self, data: datasets.Split, space: dict, seed: int, engine=None):
        super().__init__(name="init_mode_sweep")
        self.data, self.space, self.seed, self.engine = data, space, seed, engine
        self.finished: list[dict] = []  # the running trial's executions recorded before (set by run_trial)

    def _pick(self, hp, name):
        values = self.space[name]
        return hp.Choice(name, list(values)) if len(values) > 1 else values[0]

    def values(self, hp) -> dict:
        """Every hyperparameter of this trial, searched or fixed."""
        return {name: self._pick(hp, name) for name in self.space}

    def build(self, hp):
        seed = execution_seed(self.seed, getattr(self, "executions", 0))
        self.executions = getattr(self, "executions", 0) + 1
        return self.model(self.values(hp), seed, compiled=getattr(self.engine, "trains_the_model", True))

    def layers(self, values: dict) -> list[int]:
        """The network's layer sizes for ``values``: the data's features, the hidden units, its outputs."""
        return [self.data.n_features, values["hidden_units"], self.data.n_outputs]

    def model(self, values: dict, seed: int, compiled: bool = True):
        """The compiled model of one execution: ``values`` of every hyperparameter, weights drawn
        with ``seed``.  Not ``compiled``, only its layers and weights, the same draws: for an
        engine that only takes the initial weights (a third of the time of a compiled one)."""
        keras.utils.set_random_seed(seed)
        model = build_model(self.layers(values), hidden_activation=values["activation"],
                            output_activation=self.data.output_activation, loss=self.data.loss,
                            init_mode=values["init_mode"], seed=seed, compiled=False)
        if not compiled:
            return model
        compile_model(model, self.data.loss, "float32",
                      optimizer=keras.optimizers.Adam(learning_rate=values["learning_rate"]))
        # Adam's variables (iterations, learning rate, m and v of every weight) exist before
        # fit, so that Hyperband's model.load_weights of the trial this one continues restores
        # them with the weights.  Keras 3 skips the saved state of an optimizer not yet built,
        # with only a warning, and the continued trial would restart Adam from step 0.
        model.optimizer.build(model.trainable_variables)
        return model

    def fit(self, hp, model, *args, **kwargs):
        execution = self.executions - 1
        if execution < len(self.finished):  # finished before the sweep was killed: not run again
            history = keras.callbacks.History()
            history.history = {k: v for k, v in self.finished[execution].items() if isinstance(v, list)}
            # keras-tuner's checkpoint of the trial's best epoch over all its executions is made
            # afresh for a retried trial: it must know this execution's best, which it saved before
            for c in kwargs.get("callbacks", []):
                if isinstance(c, SaveBestEpoch) and c.objective.has_value(history.history):
                    values = [v for v in history.history[c.objective.name] if np.isfinite(v)]
                    best = (min(values) if c.objective.direction == "min" else max(values)) if values else None
                    if best is not None and c.objective.better_than(best, c.best_value):
                        c.best_value = best
            return history
        kwargs["verbose"] = 0  # keras-tuner's own display reports each trial; no bar per epoch
        # The curve recorder's on_train_end records the execution as finished, and a rerun then
        # reuses it: it runs last, once keras-tuner's checkpoint is written (its on_train_end).
        kwargs["callbacks"] = sorted(kwargs.get("callbacks", []), key=lambda c: isinstance(c, CurveRecorder))
        return self.engine.fit(self, hp, model, *args, batch_size=self._pick(hp, "batch_size"),
                               seed=execution_seed(self.seed, execution), **kwargs)


class CurveRecorder(keras.callbacks.Callback):
    """Writes each execution's per-epoch logs and seconds to ``curves/trial_<id>.json``.

    keras-tuner 1.4 keeps only the mean over executions of each one's best epoch: the curves
    are what the statistics and the plot are made of.  keras-tuner's ``Tuner.run_trial`` runs
    the executions one after another in one process, each ``fit`` with a deep copy of this
    callback, so execution k finds k executions in the file.  The file is written whole, then
    renamed: a sweep killed meanwhile leaves the previous executions, never half a file.
    """

    def __init__(self, folder: str, trial_id: str, seed: int, values: dict | None = None):
        super().__init__()
        self.path, self.seed, self.values = os.path.join(folder, f"trial_{trial_id}.json"), seed, values

    def on_train_begin(self, logs=None):
        self.started, self.logs = time.perf_counter(), {}

    def on_epoch_end(self, epoch, logs=None):
        for k, v in (logs or {}).items():
            self.logs.setdefault(k, []).append(float(v))
        raise_if_stopped()  # a Ctrl-C that TensorFlow's data iterator swallowed still stops the sweep

    def on_train_end(self, logs=None):
        record = recorded(self.path)
        k = len(record["executions"])
        record["executions"].append({"execution": k, "seed": execution_seed(self.seed, k),
                                     "seconds": time.perf_counter() - self.started,
                                     "tuner_id": os.environ.get("KERASTUNER_TUNER_ID", "local"),
                                     **({"values": self.values} if self.values is not None else {}), **self.logs})
        partial = f"{self.path}.{os.getpid()}.tmp"
        with open(partial, "w") as f:
            json.dump(record, f)
        os.replace(partial, self.path)


def recorded(path: str) -> dict:
    """A trial's curves file, ``{"executions": [...]}``: empty where none is written yet."""
    if not os.path.exists(path):
        return {"executions": []}
    with open(path) as f:
        return json.load(f)


class ResumableGridSearchOracle(keras_tuner.oracles.GridSearchOracle):
    """keras-tuner 1.4's grid oracle, able to resume and to keep several workers busy.

    keras-tuner's own finds each combination as the successor of a finished trial's.  Two
    things follow.  It does not save the order it has tried them in, so a reloaded grid
    search fails with ``KeyError`` at its next trial.  And with several workers, every worker
    but one waits (``IDLE``) until the trial before it in that chain has finished: measured,
    ``--jobs 2`` ran no faster than one job, its idle worker asking the chief for a trial in a
    loop some 8,000 times.  Here the whole grid, known from the search space once the
    hypermodel is built, is walked in keras-tuner's own order (a Choice's default first, then
    its values in their order; the first hyperparameter varies slowest), and every worker gets
    the first combination no trial has had yet.  When none is left, the worker is stopped even
    while others finish theirs: a grid's space does not grow.
    """

    def combinations(self):
        space = [hp for hp in self.get_space().space if hp.__class__.__name__ == "Choice"]
        if len(space) != len(self.get_space().space):
            raise ValueError("the grid sweep takes Choice hyperparameters only")
        ordered = [[hp.default] + [v for v in hp.values if v != hp.default] for hp in space]
        for values in itertools.product(*ordered):
            yield dict(zip((hp.name for hp in space), values))

    def populate_space(self, trial_id):
        tried = [t.hyperparameters.values for t in self.trials.values()]
        for values in self.combinations():
            if values not in tried:
                return {"status": keras_tuner.engine.trial.TrialStatus.RUNNING, "values": values}
        return {"status": keras_tuner.engine.trial.TrialStatus.STOPPED, "values": None}


def make_tuner(oracle: str, hypermodel, out: str, args, check=None):
    """A keras-tuner tuner with ``oracle``'s search, recording curves for every trial it runs.
    ``check()``, called before each trial is asked for, may stop the search by raising."""
    # keras-tuner takes seed 0 for "no seed" (Oracle: ``self.seed = seed or random.randint(1, 10000)``),
    # so --seed 0 would search in a new random order each run: seeds are shifted by one.
    common = dict(objective="val_loss", seed=args.seed + 1)
    curves = os.path.join(out, "curves")
    # Hyperband's own tuner class runs its brackets (tuner/epochs, tuner/initial_epoch, reloading
    # the weights of the trial it continues); the others are the plain tuner over an oracle.
    base = keras_tuner.Hyperband if oracle == "hyperband" else keras_tuner.Tuner
    if oracle == "grid":
        search = {"oracle": ResumableGridSearchOracle(**common)}
    elif oracle == "random":
        search = {"oracle": keras_tuner.oracles.RandomSearchOracle(max_trials=args.max_trials, **common)}
    elif oracle == "bayesian":
        search = {"oracle": keras_tuner.oracles.BayesianOptimizationOracle(max_trials=args.max_trials, **common)}
    else:
        search = {"max_epochs": args.epochs, **common}

    class Tuner(base):
        asked = began = False

        def pre_create_trial(self):
            # keras-tuner asks its oracle again at once when the answer is IDLE (no trial for now):
            # asked twice without a trial begun in between, the worker waits a little first
            raise_if_stopped()
            if check is not None:
                check()
            if self.asked and not self.began:
                time.sleep(0.05)
            self.asked, self.began = True, False
            super().pre_create_trial()

        def on_trial_begin(self, trial):
            self.began = True
            super().on_trial_begin(trial)

        def _try_run_and_update_trial(self, trial, *fit_args, **fit_kwargs):
            # keras-tuner's own marks a trial that raised any Exception as invalid, and ends it;
            # with no retries allowed, the oracle makes that failed, for good.  A Ctrl-C or
            # SIGTERM that reached this process inside TensorFlow, or inside the gRPC call to the
            # oracle, can come out as another error: the trial is then only stopped.  Raised
            # here, before it is ended, it stays running, and a rerun retries it.
            super()._try_run_and_update_trial(trial, *fit_args, **fit_kwargs)
            if trial.status != keras_tuner.engine.trial.TrialStatus.COMPLETED:
                raise_if_stopped()

        def run_trial(self, trial, *fit_args, **fit_kwargs):
            self.hypermodel.executions = 0
            values = dict(trial.hyperparameters.values)
            recorder = CurveRecorder(curves, trial.trial_id, self.hypermodel.seed, values)
            # A retried trial keeps the executions it finished, and starts the others' logs afresh.
            # Only executions of these very values count (those recorded before values were, all):
            # a file of the same trial id with other values is another sweep's, and is started afresh.
            finished = recorded(recorder.path)["executions"]
            if any(e.get("values", values) != values for e in finished):
                os.remove(recorder.path)
                finished = []
            self.hypermodel.finished = finished[:self.executions_per_trial]
            for k in range(len(self.hypermodel.finished), self.executions_per_trial):
                shutil.rmtree(os.path.join(out, "tensorboard", trial.trial_id, f"execution{k}"), ignore_errors=True)
            callbacks = list(fit_kwargs.pop("callbacks", [])) + [recorder]
            if is_worker():  # keras-tuner's display speaks on the chief only
                print(f"{PROG}: {os.environ.get('KERASTUNER_TUNER_ID')} runs trial {trial.trial_id} "
                      f"{trial.hyperparameters.values}", flush=True)
            return super().run_trial(trial, *fit_args, callbacks=callbacks, **fit_kwargs)

    # keras-tuner reloads its oracle only when this tuner id's own state file exists: tuner0.json
    # for one process, chief.json for a --jobs chief.  A sweep begun with another --jobs would be
    # started afresh, its trial ids given to other values.  The tuner's state is {}: write it.
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
    project = os.path.join(out, PROJECT)
    if (not is_worker() and os.path.exists(os.path.join(project, "oracle.json"))
            and not os.path.exists(os.path.join(project, f"{tuner_id}.json"))):
        with open(os.path.join(project, f"{tuner_id}.json"), "w") as f:
            json.dump({}, f)
    tuner = Tuner(hypermodel=hypermodel, executions_per_trial=args.executions_per_trial,
                  directory=out, project_name=PROJECT, overwrite=False, **search)
    if not is_worker():
        retry_stranded(tuner.oracle)
    return tuner


def retry_stranded(oracle) -> list[str]:
    """Trials a killed sweep left running in their own ``trial.json`` but in none of the oracle's
    lists, sent for retry; their ids.

    keras-tuner's ``Oracle.create_trial`` writes the new trial's ``trial.json`` (running), then
    ``oracle.json`` with the trial among the running ones.  A chief killed between the two
    leaves a trial that ``Oracle.reload`` finds running, but neither among the running ones,
    which reload sends for retry, nor anywhere else: no run would train it again, and a grid
    never hands its values out again (seen in the ``--jobs 2`` kill test, 1 run in 12).
    """
    listed = set(oracle._retry_queue) | {t.trial_id for t in oracle.ongoing_trials.values()}
    stranded = [i for i, t in oracle.trials.items()
                if t.status == keras_tuner.engine.trial.TrialStatus.RUNNING and i not in listed]
    oracle._retry_queue.extend(stranded)
    return stranded


@contextlib.contextmanager
def oracle_served(tuner):
    """``with oracle_served(tuner):`` the chief's oracle, served over gRPC from gRPC's own threads
    while the block runs (this process then trains too, as one of the workers).

    keras-tuner's own chief (``oracle_chief.start_server``, run by ``search``) only serves: it
    checks for the end once a second and then sleeps in steps of 20 s until the last worker's
    trial is in.  This is the same servicer, stopped as soon as the block ends.
    """
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief
    tuner.oracle.verbose = 1
    tuner.save()
    # without SO_REUSEPORT (gRPC's default is on): a second sweep on the same port fails to bind
    # instead of sharing the port, the kernel splitting the workers between two oracles
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), options=[("grpc.so_reuseport", 0)])
    protos.get_service_grpc().add_OracleServicer_to_server(oracle_chief.OracleServicer(tuner.oracle), server)
    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    if not server.add_insecure_port(address):
        raise RuntimeError(f"the oracle's port {address} could not be bound: another sweep uses it")
    server.start()
    try:
        yield
    finally:
        server.stop(grace=None)
        # Oracle.end_trial saves before it forgets the trial as ongoing; a worker never saves the
        # oracle afterwards, so the chief does, or a rerun would run the last trial again
        tuner.oracle.save()


@contextlib.contextmanager
def as_worker(tuner_id: str):
    """This process seen as keras-tuner's worker ``tuner_id`` while the block runs, then the chief again."""
    chief = os.environ["KERASTUNER_TUNER_ID"]
    os.environ["KERASTUNER_TUNER_ID"] = tuner_id
    try:
        yield
    finally:
        os.environ["KERASTUNER_TUNER_ID"] = chief
