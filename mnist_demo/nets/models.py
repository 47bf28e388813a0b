"""The seed's two networks, built by name: `cnn` (the TensorFlow tutorial CNN) and `mlp` (the Keras MLP).

Both take (n, 28, 28, 1) float32 in [0, 1] and return (n, 10) float32 softmax probabilities.
"""

from __future__ import annotations

from functools import cache

import keras
from keras import layers

from mnist_demo import MODEL_NAMES, settings
from mnist_demo.data import IMAGE_SHAPE, NUM_CLASSES
from mnist_demo.errors import MnistDemoError, UnknownModelError

INPUT_SHAPE = (*IMAGE_SHAPE, 1)  # one grey channel
PRECISIONS = ("float32", "mixed_bfloat16")


def build_model(
    name: str, precision: str = "float32", *, training: bool = False, init: str = "seed"
) -> keras.Model:
    """A fresh, uncompiled network. `precision` is a Keras dtype policy for every layer but the
    softmax, which stays float32 so probabilities sum to one exactly enough. `training`: the
    network the engine trains (the CNN's convolutions with their poolings and its first dense
    layer computed faster: convpool.py, conv.py, pool.py, dense.py); its weights are the plain
    network's. `init`: the CNN's first weights, the seed's or "he" (recipes.Recipe.init)."""
    if name not in MODEL_NAMES:
        raise UnknownModelError(f"unknown model {name!r}: choose one of {', '.join(MODEL_NAMES)}")
    if precision not in PRECISIONS:
        raise UnknownModelError(
            f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}"
        )
    if name == "mlp":
        return _mlp(precision)
    if training:
        return _training_cnn(precision, init)
    return _cnn(precision, init)


def _init(how: str, dtype: str) -> dict:
    # The seed initialises every weight from a truncated normal (stddev 0.1) and every bias at 0.1.
    if how == "he":
        return {"kernel_initializer": "he_normal", "bias_initializer": "zeros", "dtype": dtype}
    return {
        "kernel_initializer": keras.initializers.TruncatedNormal(stddev=0.1),
        "bias_initializer": keras.initializers.Constant(0.1),
        "dtype": dtype,
    }


def _cnn(dtype: str, how: str) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            layers.Conv2D(
                32, 5, padding="same", activation="relu", name="conv1", **_init(how, dtype)
            ),
            layers.MaxPooling2D(2, padding="same", name="pool1", dtype=dtype),
            layers.Conv2D(
                64, 5, padding="same", activation="relu", name="conv2", **_init(how, dtype)
            ),
            layers.MaxPooling2D(2, padding="same", name="pool2", dtype=dtype),
            layers.Flatten(name="flatten", dtype=dtype),
            layers.Dense(1024, activation="relu", name="fully_connected", **_init(how, dtype)),
            layers.Dropout(0.5, name="dropout", dtype=dtype),  # keep_prob 0.5 while training
            layers.Dense(NUM_CLASSES, name="readout", **_init(how, dtype)),
            layers.Activation("softmax", name="softmax", dtype="float32"),
        ],
        name="cnn",
    )


def _training_cnn(dtype: str, how: str) -> keras.Model:
    """The same network, its weights in the same order, computed faster for training: each
    convolution and its pooling as one layer (conv.py), the dense layer's gradient (dense.py)."""
    from mnist_demo.nets.convpool import TrainingConvPool
    from mnist_demo.nets.dense import TrainingDense

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            TrainingConvPool(32, 5, name="conv1", **_init(how, dtype)),
            TrainingConvPool(64, 5, name="conv2", **_init(how, dtype)),
            layers.Flatten(name="flatten", dtype=dtype),
            TrainingDense(1024, activation="relu", name="fully_connected", **_init(how, dtype)),
            layers.Dropout(0.5, name="dropout", dtype=dtype),
            layers.Dense(NUM_CLASSES, name="readout", **_init(how, dtype)),
            layers.Activation("softmax", name="softmax", dtype="float32"),
        ],
        name="cnn",
    )


def _mlp(dtype: str) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            layers.Flatten(name="flatten", dtype=dtype),  # the seed feeds 784 pixels
            layers.Dense(512, activation="relu", name="dense1", dtype=dtype),
            layers.Dropout(0.2, name="dropout1", dtype=dtype),
            layers.Dense(512, activation="relu", name="dense2", dtype=dtype),
            layers.Dropout(0.2, name="dropout2", dtype=dtype),
            layers.Dense(NUM_CLASSES, name="readout", dtype=dtype),
            layers.Activation("softmax", name="softmax", dtype="float32"),
        ],
        name="mlp",
    )


def as_float32(model: keras.Model) -> keras.Model:
    """The same network and weights under the float32 policy: portable to any CPU, no optimizer."""
    clone = build_model(model.name)
    clone.set_weights(model.get_weights())
    return clone


# oneDNN ISA caps (ONEDNN_MAX_CPU_ISA) that leave out its bfloat16 kernels: with one of them set
# on a CPU that has AMX or AVX-512 BF16, TensorFlow still picks bfloat16 kernels that then fail.
ISA_WITHOUT_BF16 = (
    "SSE41",
    "AVX",
    "AVX2",
    "AVX2_VNNI",
    "AVX2_VNNI_2",
    "AVX512_CORE",
    "AVX512_CORE_VNNI",
)


@cache
def cpu_has_bf16() -> bool:
    """True when the CPU has native bfloat16 matrix instructions (AMX or AVX-512 BF16)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def isa_capped_below_bf16() -> bool:
    """True when ONEDNN_MAX_CPU_ISA names an instruction set without bfloat16 (a machine
    measuring itself as a 2-core AVX2 CPU would)."""
    return settings.ISA_CAP.get() in ISA_WITHOUT_BF16


def bf16_supported() -> bool:
    """True when mixed bfloat16 runs natively here: the CPU has the instructions and oneDNN is
    not capped below them. Without them TensorFlow emulates bfloat16, slower than float32."""
    return cpu_has_bf16() and not isa_capped_below_bf16()


PRECISION_VAR = settings.PRECISION.name  # "auto" (the default), "float32" or "mixed_bfloat16"


def resolve_precision(precision: str) -> str:
    """'auto' -> $MNIST_STUDIO_PRECISION when it names a precision (a server measuring itself as
    a CPU without AMX would, with ONEDNN_MAX_CPU_ISA=AVX2), else mixed_bfloat16 where the CPU
    supports it, else float32."""
    if precision == "auto":
        forced = settings.PRECISION.get()
        fallback = "mixed_bfloat16" if bf16_supported() else "float32"
        precision = forced if forced in PRECISIONS else fallback
    if precision == "mixed_bfloat16" and cpu_has_bf16() and isa_capped_below_bf16():
        raise MnistDemoError(
            "mixed_bfloat16 needs oneDNN's bfloat16 kernels, which ONEDNN_MAX_CPU_ISA="
            f"{settings.ISA_CAP.get()} leaves out: choose float32 or unset it"
        )
    return precision
