"""The twin of a user's Keras model: a ``scratch.Network`` built from the model itself.

``from_keras(model_or_path)`` reads everything from the model and from Keras's own state,
never from the user: the layers and their settings, the weights, the compiled loss, the
compiled optimizer with its state (step count and slots), the dtype the loss really runs in,
and every Keras quirk that applies to *this* model (``scratch.keras_compat``), each found by
asking Keras (``derive_quirks``).  ``to_keras(net)`` goes the other way.

A model file is untrusted input.  A ``Lambda`` layer stores Python bytecode that runs when
Keras rebuilds the model with its safe mode turned off.  So ``load_model_file`` reads the file's
config first, refuses any class outside ``SUPPORTED`` before Keras deserialises anything,
and loads with ``safe_mode=True``.

Supported now: Sequential models and functional chains without branches of ``Dense`` (its
activation, ``use_bias``, an ``L2`` kernel regularizer), ``Activation``, ``Dropout``,
``BatchNormalization``, ``LayerNormalization``, ``ReLU``, ``LeakyReLU`` and ``Softmax``
layers; the activations of ``ACTIVATIONS`` (leaky_relu: Keras's, slope 0.2, and
``keras_ref``'s, 0.01); the losses binary, categorical and sparse categorical cross-entropy (with
``from_logits`` and ``label_smoothing``), mean squared and absolute error and Huber (its
``delta``), with the reduction ``sum_over_batch_size``; SGD, RMSprop, Adam (``amsgrad``), AdamW
and Adagrad with a constant learning rate, ``weight_decay`` and ``clipnorm``, ``global_clipnorm``
or ``clipvalue``, without EMA, loss scaling or gradient accumulation.  Anything else is refused with a ``ValueError`` that names it and
lists what is supported.
"""
from __future__ import annotations

import contextlib
import json
import os
import warnings
import zipfile

import numpy as np

import scratch
from keras_ref import quiet
from scratch import activations as activations_module
from scratch.keras_compat import QUIRKS

#: Keras classes a model file may contain, beside the model itself.
SUPPORTED_LAYERS = ("InputLayer", "Dense", "Activation", "Dropout", "BatchNormalization", "LayerNormalization",
                    "ReLU", "LeakyReLU", "Softmax")
SUPPORTED_MODELS = ("Sequential", "Functional", "Model")
#: What a config may name beside layers: dtype policies, initializers, regularizers.
SUPPORTED_OBJECTS = ("DTypePolicy", "FloatDTypePolicy", "L2", "GlorotUniform", "GlorotNormal", "HeUniform",
                     "HeNormal", "LecunUniform", "LecunNormal", "RandomUniform", "RandomNormal", "Zeros", "Ones",
                     "TruncatedNormal", "VarianceScaling", "Constant", "__tensor__", "__numpy__", "__keras_tensor__",
                     # the compile config: these are refused later, by setting, if they use what the twin lacks
                     "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "BinaryCrossentropy", "CategoricalCrossentropy",
                     "SparseCategoricalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "Huber")
SUPPORTED = SUPPORTED_MODELS + SUPPORTED_LAYERS + SUPPORTED_OBJECTS
#: Keras activation -> scratch activation config.  keras_ref's registered leaky_relu has the lecture's slope.
ACTIVATIONS = {
    "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu", "linear": "linear", "softmax": "softmax",
    "leaky_relu": {"name": "leaky_relu", "negative_slope": 0.2},
    "keras_ref>leaky_relu": {"name": "leaky_relu", "negative_slope": 0.01},
    "relu6": "relu6", "elu": {"name": "elu", "alpha": 1.0}, "selu": "selu",
    "gelu": {"name": "gelu", "approximate": False},  # keras.activations.gelu's default (keras.ops.gelu's is True)
    "silu": "silu", "swish": "silu", "softplus": "softplus", "softsign": "softsign", "hard_sigmoid": "hard_sigmoid",
    "exponential": "exponential", "mish": "mish", "log_softmax": "log_softmax",
}
LOSSES = {"binary_crossentropy": "binary_crossentropy", "categorical_crossentropy": "categorical_crossentropy",
          "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
          "mean_squared_error": "mean_squared_error", "mse": "mean_squared_error",
          "mean_absolute_error": "mean_absolute_error", "mae": "mean_absolute_error", "huber": "huber"}
#: Keras loss class -> scratch loss; the class's settings become the scratch loss's (``loss_twin``).
LOSS_CLASSES = {"BinaryCrossentropy": "binary_crossentropy", "CategoricalCrossentropy": "categorical_crossentropy",
                "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
                "MeanSquaredError": "mean_squared_error", "MeanAbsoluteError": "mean_absolute_error", "Huber": "huber"}
OPTIMIZERS = {"SGD": "sgd", "RMSprop": "rmsprop", "Adam": "adam", "AdamW": "adamw", "Adagrad": "adagrad"}
#: Where Keras 3 keeps each scratch slot: the optimizer's list attribute, one entry per variable.
KERAS_SLOTS = {
    "sgd": {"momentum": "momentums"},
    "rmsprop": {"velocity": "_velocities", "momentum": "_momentums", "average_gradient": "_average_gradients"},
    "adam": {"momentum": "_momentums", "velocity": "_velocities", "velocity_hat": "_velocity_hats"},
    "adamw": {"momentum": "_momentums", "velocity": "_velocities", "velocity_hat": "_velocity_hats"},
    "adagrad": {"accumulator": "_accumulators"},
}


def refuse(kind: str, what, valid, where: str = "") -> ValueError:
    """The one-line refusal: what is not supported, where, and what is."""
    return ValueError(f"unsupported {kind} {what!r}{' in ' + where if where else ''}; supported: {', '.join(valid)}")


# --- files --------------------------------------------------------------------------------------

def file_config(path: str) -> dict:
    """The model config inside a ``.keras`` file (a zip) or a legacy ``.h5``/``.hdf5`` file, read as
    JSON only.  The format is chosen by the name, as ``keras.saving.load_model`` chooses it, so
    that the config checked is the config Keras would build."""
    if not os.path.isfile(path):
        raise ValueError(f"no model file at {path}")
    suffix = os.path.splitext(str(path))[1].lower()
    if suffix == ".keras":
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path} is neither a .keras nor an .h5 Keras model file (not a zip archive)")
        try:
            with zipfile.ZipFile(path) as z:
                return json.loads(z.read("config.json"))
        except (KeyError, ValueError, zipfile.BadZipFile) as e:
            raise ValueError(f"{path} is not a Keras model file (no readable config.json: {e})") from None
    if suffix not in (".h5", ".hdf5"):
        raise ValueError(f"{path}: a Keras model file's name ends in .keras, .h5 or .hdf5 (Keras reads the "
                         "format from the name)")
    try:
        import h5py
        with h5py.File(path, "r") as f:
            text = f.attrs.get("model_config")
    except OSError as e:
        raise ValueError(f"{path} is neither a .keras nor an .h5 Keras model file ({e})") from None
    if text is None:
        raise ValueError(f"{path} is an HDF5 file without a Keras model config (weights only?)")
    return json.loads(text.decode() if isinstance(text, bytes) else text)


def nodes(config, depth: int = 0):
    """Every dict in a config, with its depth, in order of appearance."""
    if isinstance(config, dict):
        yield config, depth
        for value in config.values():
            yield from nodes(value, depth + 1)
    elif isinstance(config, list):
        for value in config:
            yield from nodes(value, depth + 1)


def file_dtype(config: dict) -> str | None:
    """The one dtype a model file's layers compute in (their dtype policies' names, or a legacy
    ``.h5``'s strings), or None when they name none or several.  Neither the model's own policy
    nor its input layer's dtype is read: built under a float32 ``floatx()``, both say float32
    around float64 layers (which cast their inputs).  Any shape of JSON is read without error."""
    inner = config.get("config") if isinstance(config, dict) else None
    layers = inner.get("layers") if isinstance(inner, dict) else None
    found = set()
    for layer in layers if isinstance(layers, list) else []:
        if not isinstance(layer, dict) or layer.get("class_name") == "InputLayer":
            continue
        settings = layer.get("config")
        dtype = settings.get("dtype") if isinstance(settings, dict) else None
        if isinstance(dtype, dict):
            policy = dtype.get("config")
            dtype = policy.get("name") if isinstance(policy, dict) else None
        if isinstance(dtype, str):
            found.add(dtype)
    return found.pop() if len(found) == 1 else None


def check_file_config(config: dict) -> None:
    """Refuse a file before Keras deserialises it when its config names, anywhere: a class outside
    ``SUPPORTED`` (a Lambda, a Conv2D, a custom object); a model inside the model; a function
    other than one of ``ACTIVATIONS`` from Keras's activations (or keras_ref's registered one);
    or an activation name outside ``ACTIVATIONS``."""
    if not isinstance(config, dict):
        raise ValueError("a Keras model file's config is a JSON object; this one is not")
    for node, depth in nodes(config):
        name = node.get("class_name")
        if name == "function":
            function, module = node.get("config"), node.get("module")
            if not isinstance(function, str) or function not in ACTIVATIONS or module not in (
                    None, "keras.activations", "keras.src.activations", "builtins"):
                raise refuse("function", f"{module}.{function}" if module else function, ACTIVATIONS)
        elif name is not None and (not isinstance(name, str) or name not in SUPPORTED):
            raise refuse("layer or object", name, SUPPORTED_LAYERS + (
                "the model classes", "initializers", "L2", ", ".join(OPTIMIZERS), "the losses"))
        elif name in SUPPORTED_MODELS and depth > 0:
            raise refuse("model inside a model", name, ["one Sequential or functional model of layers"])
        activation = node.get("activation") if node.get("class_name") is None else None
        if isinstance(activation, str) and activation not in ACTIVATIONS:
            raise refuse("activation", activation, ACTIVATIONS)


def checked_config(path: str) -> dict:
    """The file's config (``file_config``), refused in one line where it names anything
    ``check_file_config`` does not allow: read once, before Keras reads anything."""
    config = file_config(path)
    check_file_config(config)
    return config


@contextlib.contextmanager
def keras_floatx(dtype: str | None):
    """Keras's ``floatx()`` set to ``dtype`` (left as it is for None) while the block runs, then restored."""
    keras = quiet.keras()
    before = keras.config.floatx()
    if dtype in ("float32", "float64"):
        keras.config.set_floatx(dtype)
    try:
        yield keras.config.floatx()
    finally:
        keras.config.set_floatx(before)


def load_model_file(path: str, config: dict | None = None):
    """A Keras model from ``path``, its config checked first (``config``, where the caller has
    already checked it), loaded with ``safe_mode=True``."""
    if config is None:
        checked_config(path)
    keras = quiet.keras()
    import keras_ref.models  # noqa: F401  (registers keras_ref's leaky_relu, which such files name)
    try:
        with warnings.catch_warnings():
            # A model compiled but never trained saves its optimizer's scalars alone (iterations and
            # the learning rate: 1 or 2 variables); Keras then builds the optimizer, finds more
            # variables and warns that it skips loading them.  The fresh optimizer it keeps is
            # exactly the untrained one that was saved, so the warning says nothing to the user.
            warnings.filterwarnings("ignore", message=r"Skipping variable loading for optimizer .* "
                                                      r"whereas the saved optimizer has [12] variables")
            return keras.saving.load_model(path, safe_mode=True, compile=True)
    except Exception as e:  # a truncated or inconsistent file: one clear line, not Keras's traceback
        raise ValueError(f"{path} could not be loaded as a Keras model: {type(e).__name__}: {e}") from None


@contextlib.contextmanager
def loaded(path: str, loss: str | None = None, floatx: str = "auto"):
    """``with loaded(path) as (model, twin, floatx):`` a model file and its twin, for the
    commands that check or time it, with Keras's ``floatx()`` set while they do.

    The config is read and checked once, before Keras reads anything.  ``floatx``: ``auto``
    is the dtype the file's layers name (``file_dtype``), since Keras rebuilds a loss saved by
    name in the ``floatx()`` of the moment it loads the file, and a float64 model loaded under
    the default float32 would get a float32 loss (which the twin refuses); ``auto`` loads it
    as it was most likely trained.  A model saved uncompiled is compiled with ``loss`` and
    Adam; without ``loss`` it is refused.
    """
    config = checked_config(path)
    with keras_floatx(file_dtype(config) if floatx == "auto" else floatx) as chosen:
        model = load_model_file(path, config)
        if getattr(model, "optimizer", None) is None:
            if loss is None:
                raise ValueError(f"{path} holds an uncompiled model: give its loss with --loss ({', '.join(LOSSES)})")
            model.compile(loss=keras_loss(loss, model_dtype(model)), optimizer="adam")
        yield model, from_keras(model), chosen


# --- layers -------------------------------------------------------------------------------------

def activation_of(fn, where: str):
    keras = quiet.keras()
    name = keras.activations.serialize(fn)
    if isinstance(name, dict):
        name = name.get("config")
    if name not in ACTIVATIONS:
        raise refuse("activation", name, ACTIVATIONS, where)
    return ACTIVATIONS[name]


def chain(model) -> list:
    """The model's layers in order, for a Sequential model or a functional chain without branches."""
    keras = quiet.keras()
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not isinstance(model, keras.Sequential):
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise ValueError(f"model {model.name!r} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                             "supported: one input, one output, layers in a chain")
        for prev, layer in zip(layers, layers[1:]):
            inbound = [getattr(t, "_keras_history", None) for t in (layer.input if isinstance(layer.input, list)
                                                                  else [layer.input])]
            if len(inbound) != 1 or inbound[0] is None or inbound[0].operation is not prev:
                raise ValueError(f"model {model.name!r} branches at layer {layer.name!r}; supported: a chain "
                                 "of layers, each taking the previous one's output")
    return layers


def layer_twin(layer):
    """The scratch layer for one Keras layer."""
    keras = quiet.keras()
    where = f"layer {layer.name!r}"
    if isinstance(layer, keras.layers.Dense):
        regularizer = layer.kernel_regularizer
        if regularizer is not None and type(regularizer) is not keras.regularizers.L2:
            raise refuse("kernel regularizer", type(regularizer).__name__, ["L2"], where)
        for attribute in ("bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"):
            if getattr(layer, attribute, None) is not None:
                raise refuse(attribute, type(getattr(layer, attribute)).__name__, ["none"], where)
        return scratch.Dense(layer.units, activation_of(layer.activation, where), use_bias=layer.use_bias,
                             kernel_regularizer=None if regularizer is None else scratch.layers.regularizers.L2(
                                 float(regularizer.l2)), name=layer.name)
    if type(layer) is keras.layers.Activation:
        return scratch.Activation(activation_of(layer.activation, where), name=layer.name)
    if type(layer) is keras.layers.ReLU:
        return scratch.ReLU(max_value=None if layer.max_value is None else float(layer.max_value),
                            negative_slope=float(layer.negative_slope), threshold=float(layer.threshold),
                            name=layer.name)
    if type(layer) is keras.layers.LeakyReLU:
        return scratch.LeakyReLU(float(layer.negative_slope), name=layer.name)
    if type(layer) is keras.layers.Softmax:
        if layer.axis not in (-1, 1, [-1], (-1,)):
            raise refuse("Softmax axis", layer.axis, ["-1"], where)
        return scratch.Softmax(name=layer.name)
    if type(layer) is keras.layers.Dropout:
        if layer.noise_shape is not None:
            raise refuse("Dropout noise_shape", layer.noise_shape, ["None"], where)
        return scratch.Dropout(layer.rate, name=layer.name)
    if type(layer) in (keras.layers.BatchNormalization, keras.layers.LayerNormalization):
        config = layer.get_config()
        axis = config["axis"][0] if isinstance(config["axis"], (list, tuple)) and len(config["axis"]) == 1 \
            else config["axis"]
        if axis not in (-1, 1):
            raise refuse("normalization axis", config["axis"], ["-1 (the features)"], where)
        for key in ("renorm", "synchronized", "rms_scaling"):
            if config.get(key):
                raise refuse(key, True, ["False"], where)
        for key in ("beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"):
            if config.get(key) is not None:
                raise refuse(key, config[key], ["None"], where)
        settings = dict(epsilon=config["epsilon"], center=config["center"], scale=config["scale"], name=layer.name)
        if type(layer) is keras.layers.BatchNormalization:
            return scratch.BatchNormalization(momentum=config["momentum"], **settings)
        return scratch.LayerNormalization(**settings)
    raise refuse("layer", f"{type(layer).__name__} ({layer.name})", SUPPORTED_LAYERS[1:])


def model_dtype(model) -> str:
    dtypes = {np.dtype(v.dtype).name for v in model.weights}
    if len(dtypes) != 1 or not dtypes <= {"float32", "float64"}:
        raise refuse("variable dtypes", sorted(dtypes), ["all float32", "all float64"])
    return dtypes.pop()


# --- Dropout's masks ---------------------------------------------------------------------------

def dropout_masks(model, net: scratch.Network, batch_size: int) -> list[np.ndarray]:
    """The masks Keras's Dropout layers will draw at the model's next training call, taken without
    spending them: each layer's seed generator is read, a dropout of ones is drawn with it (the
    same shape and dtype as in the model, hence the same uniform numbers), and the generator is
    set back.  ``replay`` hands them to the twin, so both sides drop the same units."""
    keras = quiet.keras()
    layers = [layer for layer in chain(model) if type(layer) is keras.layers.Dropout and layer.rate > 0]
    widths = [n_in for layer, n_in in zip(net.layers, net.widths) if isinstance(layer, scratch.Dropout)
              and layer.rate > 0]
    masks = []
    for layer, n_in in zip(layers, widths):
        state = layer.seed_generator.state
        saved = np.asarray(state.value)
        ones = keras.ops.ones((batch_size, n_in), dtype=net.dtype)
        masks.append(np.asarray(keras.random.dropout(ones, layer.rate, seed=layer.seed_generator)) != 0)
        state.assign(saved)
    return masks


def replay(net: scratch.Network, masks: list[np.ndarray]) -> None:
    """Queue each mask of ``dropout_masks`` on the twin's Dropout layers, for its next training pass."""
    for layer, mask in zip([l for l in net.layers if isinstance(l, scratch.Dropout) and l.rate > 0], masks):
        layer.replay(mask)


# --- loss and optimizer ---------------------------------------------------------------------------

def loss_twin(model, loss=None) -> tuple[str | dict, str]:
    """(the scratch loss as ``scratch.losses.get_config`` gives it: its name, or a dict with its
    settings; the dtype Keras's compiled loss runs in).

    A loss object's settings are read from the settings it computes with (``_fn_kwargs``):
    Keras 3.15's ``Huber.get_config()`` leaves out ``delta``, so a saved model's Huber comes
    back with delta 1.0, which is then what Keras trains with and what the twin gets.  Only
    the reduction ``sum_over_batch_size``, ``axis=-1`` and no ``ignore_class`` are supported.
    A loss given by name is wrapped when ``compile`` first builds it, in the ``floatx()`` of
    that moment, whatever the model's dtype.  Once built, its dtype is read; before, it is the
    current ``floatx()``, which is what the next ``fit`` would use.
    """
    keras = quiet.keras()
    given = loss if loss is not None else getattr(model, "loss", None)
    if given is None:
        raise ValueError(f"model {model.name!r} is not compiled: there is no loss to take gradients of "
                         f"(give one: supported {', '.join(LOSSES)})")
    dtype = keras.config.floatx()
    if isinstance(given, keras.losses.Loss):
        kind = type(given).__name__
        if kind not in LOSS_CLASSES or type(given) is not getattr(keras.losses, kind):
            raise refuse("loss", kind, LOSS_CLASSES)
        if given.reduction != "sum_over_batch_size":
            raise refuse("loss reduction", given.reduction, ["sum_over_batch_size"])
        settings = dict(getattr(given, "_fn_kwargs", {}))
        if settings.pop("axis", -1) != -1:
            raise refuse("loss setting axis", given._fn_kwargs["axis"], ["-1"])
        if settings.pop("ignore_class", None) is not None:
            raise refuse("loss setting ignore_class", given._fn_kwargs["ignore_class"], ["None"])
        spec = {"name": LOSS_CLASSES[kind], **settings}
        dtype = given.dtype
    else:
        name = given if isinstance(given, str) else getattr(given, "__name__", repr(given))
        if name not in LOSSES:
            raise refuse("loss", name, LOSSES)
        spec = LOSSES[name]
        built = getattr(getattr(model, "_compile_loss", None), "_flat_losses", None)
        if built:
            dtype = getattr(built[0], "loss", built[0]).dtype
    try:
        spec = scratch.losses.get_config(scratch.losses.get(spec))
    except ValueError as e:  # a setting outside what the loss supports: Keras's words, then ours
        raise ValueError(f"unsupported loss setting in model {model.name!r}: {e}") from None
    return spec, np.dtype(dtype).name


def optimizer_twin(optimizer) -> scratch.optimizers.Optimizer | None:
    """The scratch optimizer with the Keras optimizer's kind and settings (state: ``copy_state``).

    Each optimizer's own settings, a constant learning rate, ``weight_decay`` (on every
    variable) and one of ``clipnorm``, ``global_clipnorm``, ``clipvalue`` (Keras reads a
    threshold <= 0 as none) carry over.  Refused, by name: ``use_ema``, ``loss_scale_factor``,
    ``gradient_accumulation_steps``, a learning-rate schedule, and variables excluded from
    weight decay (``exclude_from_weight_decay``).
    """
    if optimizer is None:
        return None
    kind = OPTIMIZERS.get(type(optimizer).__name__)
    if kind is None:
        raise refuse("optimizer", type(optimizer).__name__, OPTIMIZERS)
    config = optimizer.get_config()
    own = {"sgd": ("momentum", "nesterov"), "rmsprop": ("rho", "momentum", "epsilon", "centered"),
           "adam": ("beta_1", "beta_2", "epsilon", "amsgrad"), "adamw": ("beta_1", "beta_2", "epsilon", "amsgrad"),
           "adagrad": ("initial_accumulator_value", "epsilon")}[kind]
    clips = ("clipnorm", "global_clipnorm", "clipvalue")
    supported = ("learning_rate (a constant)",) + own + ("weight_decay",) + clips
    for key in ("use_ema", "loss_scale_factor", "gradient_accumulation_steps"):
        if config.get(key):
            raise refuse(f"optimizer setting {key}", config[key], supported)
    if not isinstance(config["learning_rate"], (int, float)):
        raise refuse("learning rate", config["learning_rate"], ["a constant"])
    if config.get("weight_decay") is not None and (getattr(optimizer, "_exclude_from_weight_decay", None)
                                                   or getattr(optimizer, "_exclude_from_weight_decay_pattern", None)):
        raise refuse("optimizer setting", "exclude_from_weight_decay", supported)
    settings = {k: config[k] for k in ("learning_rate",) + own}
    settings |= {k: config[k] for k in clips if config.get(k) is not None and config[k] > 0}
    if config.get("weight_decay") is not None:
        settings["weight_decay"] = config["weight_decay"]
    return scratch.optimizers.OPTIMIZERS[kind](**settings)


def copy_state(optimizer, model, net: scratch.Network) -> None:
    """The Keras optimizer's step count and slots into the twin's optimizer, if it has stepped.

    An optimizer that does not hold the model's variables has no state to copy: a legacy
    ``.h5`` file comes back (Keras 3.15) with its step count but an optimizer built for no
    variables, which cannot train the model ("Unknown variable").  The twin then starts its
    optimizer afresh, as recompiling the model would.
    """
    if optimizer is None or not optimizer.built or int(optimizer.iterations.numpy()) == 0:
        return
    if len(getattr(optimizer, "_trainable_variables", [])) != len(model.trainable_variables):
        return
    slots = {name: np.concatenate([np.asarray(v).ravel() for v in getattr(optimizer, attribute)]).astype(net.dtype)
             for name, attribute in KERAS_SLOTS[net.optimizer.name].items() if name in net.optimizer._slot_names()}
    net.set_optimizer_state(int(optimizer.iterations.numpy()), slots)


# --- quirks ---------------------------------------------------------------------------------------

def derive_quirks(model, dtype: str) -> frozenset:
    """The Keras quirks (``scratch.keras_compat.QUIRKS``) that apply to this model, each found by
    asking Keras: probes run through Keras's own code, and the optimizer's variables are read.

    - ``crossed_logits``: the TensorFlow backend attaches ``_keras_logits`` to sigmoid and softmax outputs.
    - ``leaky_relu_slope``: ``keras.activations.leaky_relu`` on a float64 -1 gives -float32(slope).
    - ``l2_factor``: the model's L2 regularizer on a float64 one gives float32(l2).
    - ``learning_rate``: the optimizer's learning-rate variable is float32.
    - ``sgd_momentum``, ``adam_betas``: ``keras.ops.cast`` of a Python float to float64 goes
      through float32 (it does under a float32 ``floatx()``).
    - ``loss_value_floatx``: the compiled loss (``model._compile_loss``, made by ``compile``)
      has float32 as its dtype, to which it casts the loss value.
    In a float32 model none of the roundings changes anything; ``crossed_logits`` still applies.
    """
    keras = quiet.keras()
    quirks = set()
    if keras.backend.backend() == "tensorflow":
        quirks.add("crossed_logits")
    if dtype != "float64":  # the roundings are float32's own: reproducing them changes nothing
        return frozenset(quirks | (set(QUIRKS) - {"crossed_logits"}))
    minus_one = keras.ops.convert_to_tensor(np.array([-1.0]), dtype="float64")
    probe = float(keras.ops.convert_to_numpy(keras.activations.leaky_relu(minus_one, negative_slope=0.3))[0])
    if probe == -float(np.float32(0.3)):
        quirks.add("leaky_relu_slope")
    one = keras.ops.convert_to_tensor(np.array([1.0]), dtype="float64")
    if float(keras.ops.convert_to_numpy(keras.regularizers.L2(0.3)(one))) == float(np.float32(0.3)):
        quirks.add("l2_factor")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and np.dtype(optimizer.learning_rate.dtype) == np.float32:
        quirks.add("learning_rate")
    compiled = getattr(model, "_compile_loss", None)
    if compiled is not None and np.dtype(compiled.dtype) == np.float32:
        quirks.add("loss_value_floatx")
    if float(keras.ops.convert_to_numpy(keras.ops.cast(0.3, "float64"))) == float(np.float32(0.3)):
        quirks |= {"sgd_momentum", "adam_betas"}
    return frozenset(quirks)


# --- both directions ------------------------------------------------------------------------------

def from_keras(model_or_path, loss=None) -> scratch.Network:
    """The twin of a Keras model (a live ``keras.Model``, or a path to a ``.keras`` or ``.h5`` file)."""
    if isinstance(model_or_path, (str, os.PathLike)):  # loaded under its own dtype, as it was trained
        config = checked_config(str(model_or_path))
        with keras_floatx(file_dtype(config)):
            return from_keras(load_model_file(str(model_or_path), config), loss)
    model = model_or_path
    keras = quiet.keras()
    if not isinstance(model, keras.Model):
        raise ValueError(f"expected a keras.Model or a model file, got {type(model).__name__}")
    layers = [layer_twin(layer) for layer in chain(model)]
    if len(model.inputs[0].shape) != 2:
        raise refuse("input shape", tuple(model.inputs[0].shape), ["(batch, features)"])
    dtype = model_dtype(model)
    loss_name, loss_dtype = loss_twin(model, loss)
    if loss_dtype != dtype:
        raise ValueError(f"model {model.name!r} is {dtype} but its compiled loss runs in {loss_dtype} "
                         f"(a loss given by name follows floatx(), {keras.config.floatx()} now); not supported yet: "
                         f"compile with a loss object of dtype {dtype!r}")
    optimizer = getattr(model, "optimizer", None)
    net = scratch.Network(layers=[scratch.Input(int(model.inputs[0].shape[1]))] + layers,
                          loss=loss_name, dtype=dtype, keras_compat=derive_quirks(model, dtype),
                          optimizer=optimizer_twin(optimizer))
    net.set_weights(model.get_weights())
    copy_state(optimizer, model, net)
    return net


def to_keras(net: scratch.Network):
    """A compiled ``keras.Model`` with the twin's layers, weights, loss and optimizer settings."""
    keras = quiet.keras()
    from keras_ref.models import leaky_relu

    def activation(a):
        """The Keras activation that computes ``a`` and saves by name (no lambda, which would not)."""
        if a.name == "leaky_relu":
            slope = np.float32(a.config["negative_slope"])
            if slope in (np.float32(0.01), np.float32(0.2)):
                return leaky_relu if slope == np.float32(0.01) else "leaky_relu"
            raise refuse("leaky_relu slope in a Dense or Activation layer", float(slope),
                         ["0.01 (keras_ref's)", "0.2 (Keras's)", "any, as a LeakyReLU layer"])
        defaults = activations_module.get(a.name).config
        if a.config != defaults:
            raise refuse(f"{a.name} setting for Keras", a.config, [f"{a.name}'s defaults {defaults}"])
        return a.name

    inputs = keras.Input(shape=(net.widths[0],), dtype=net.dtype)
    A = inputs
    for layer in net.layers:
        if isinstance(layer, scratch.Dense):
            reg = layer.kernel_regularizer
            A = keras.layers.Dense(layer.units, activation=activation(layer.activation), use_bias=layer.use_bias,
                                   kernel_regularizer=None if reg is None else keras.regularizers.L2(reg.l2),
                                   dtype=net.dtype, name=layer.name)(A)
        elif isinstance(layer, scratch.LeakyReLU):
            A = keras.layers.LeakyReLU(layer.negative_slope, dtype=net.dtype, name=layer.name)(A)
        elif isinstance(layer, scratch.ReLU):
            A = keras.layers.ReLU(max_value=layer.max_value, negative_slope=layer.negative_slope,
                                  threshold=layer.threshold, dtype=net.dtype, name=layer.name)(A)
        elif isinstance(layer, scratch.Softmax):
            A = keras.layers.Softmax(dtype=net.dtype, name=layer.name)(A)
        elif isinstance(layer, scratch.Activation):
            A = keras.layers.Activation(activation(layer.activation), dtype=net.dtype, name=layer.name)(A)
        elif isinstance(layer, scratch.Dropout):
            A = keras.layers.Dropout(layer.rate, dtype=net.dtype, name=layer.name)(A)
        elif isinstance(layer, (scratch.BatchNormalization, scratch.LayerNormalization)):
            keras_class = getattr(keras.layers, type(layer).__name__)
            settings = layer.get_config()
            A = keras_class(**{k: v for k, v in settings.items() if k != "name"}, dtype=net.dtype,
                            name=layer.name)(A)
        else:
            raise refuse("layer", type(layer).__name__, list(scratch.layers.LAYERS))
    model = keras.Model(inputs, A)
    model.set_weights(net.get_weights())
    optimizer = net.optimizer or scratch.Adam()
    keras_optimizer = {kind: getattr(keras.optimizers, name) for name, kind in OPTIMIZERS.items()}[
        optimizer.name](**optimizer.get_config())
    model.compile(loss=keras_loss(net.loss, net.dtype), optimizer=keras_optimizer)
    return model


def keras_loss(spec, dtype: str):
    """The Keras loss object for a scratch loss, computing in ``dtype`` (not ``floatx()``).

    ``spec``: a name (``LOSSES``' aliases too), a ``scratch.losses.get_config`` dict, or a
    ``scratch.losses.Loss``; its settings become the Keras class's arguments.
    """
    if isinstance(spec, str):
        if spec not in LOSSES:
            raise refuse("loss", spec, LOSSES)
        spec = LOSSES[spec]
    loss = scratch.losses.get(spec)
    keras = quiet.keras()
    classes = {name: getattr(keras.losses, kind) for kind, name in LOSS_CLASSES.items()}
    return classes[loss.name](**loss.config, dtype=dtype)
