"""How large a .keras archive's network says it is, from its config alone, before Keras builds it.

Keras allocates every weight a config declares while it builds the model, before it reads a
single stored value: a 2 MB file can declare a Dense layer of 784 x 1,000,000 and cost gigabytes
on load. So the shapes are followed through the config here (Sequential or functional, nested
models too) and each layer's weights counted; a layer whose size cannot be followed is refused.
"""

from __future__ import annotations

import math

from mnist_demo.errors import ModelFileError

SEED_CNN_PARAMS = 3_274_634  # the seed CNN: the largest network the project trains
MAX_PARAMS = 4 * SEED_CNN_PARAMS
_SAME_SHAPE = {
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Softmax",
    "Rescaling",
    "Identity",
    "ActivityRegularization",
}
_MERGE = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}
_MODELS = {"Sequential", "Functional", "Model"}
Shape = tuple  # (None, 28, 28, 1): None for the batch and for any size not known


class _Count:
    def __init__(self, name: str):
        self.name, self.params, self.largest = name, 0, 0

    def add(self, *sizes: int) -> None:
        self.params += sum(sizes)
        self.largest = max(self.largest, *sizes)
        if self.params > 1 << 62:
            self.refuse("declares more weights than any machine holds")

    def take(self, other: _Count) -> None:
        self.params += other.params
        self.largest = max(self.largest, other.largest)
        self.add(0)

    def refuse(self, why: str):
        raise ModelFileError(f"{self.name} {why}: refused, not loaded")


def check_declared(name: str, config: dict) -> int:
    """The parameter count `config` declares; ModelFileError above MAX_PARAMS (4x the seed CNN)
    or for a layer whose size cannot be followed."""
    count = _Count(name)
    _model(count, config, None)
    if count.params > MAX_PARAMS:
        count.refuse(
            f"declares {count.params:,} parameters (largest tensor {count.largest:,}), over "
            f"this server's {MAX_PARAMS:,} (4x the seed CNN's {SEED_CNN_PARAMS:,})"
        )
    return count.params


def _int(count: _Count, v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 < v < 1 << 40:
        count.refuse(f"declares a {what} that is not a whole number in range ({str(v)[:20]})")
    return v


def _dims(count: _Count, v, what: str, n: int) -> list[int]:
    values = v if isinstance(v, list | tuple) else [v] * n
    if len(values) != n:
        count.refuse(f"declares a {what} of the wrong rank")
    return [_int(count, x, what) for x in values]


def _shape(count: _Count, v) -> Shape | None:
    if not isinstance(v, list | tuple) or not v or len(v) > 8:
        return None
    if any(isinstance(x, list | tuple | dict) for x in v):
        return None  # a merge layer's shapes: followed from its inputs instead
    return tuple(None if x is None else _int(count, x, "shape") for x in v)


def _model(count: _Count, node: dict, given: Shape | None) -> Shape | None:
    config = node.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        count.refuse("has a model without layers")
    built = _shape(count, (node.get("build_config") or {}).get("input_shape"))
    if node.get("class_name") == "Sequential":
        shape = given or built
        for layer in config["layers"]:
            shape = _layer(count, layer, [shape] if shape else [])
        return shape
    outputs: dict[str, Shape | None] = {}
    for layer in config["layers"]:
        inputs = [outputs.get(n) for n in _inbound(layer)]
        outputs[str(layer.get("name"))] = _layer(count, layer, [s for s in inputs if s])
    return next(reversed(outputs.values()), None)


def _inbound(layer: dict) -> list[str]:
    """The names of the layers a functional model's layer is called on."""
    names: list[str] = []

    def walk(v):
        if isinstance(v, dict):
            history = v.get("keras_history") if v.get("class_name") == "__keras_tensor__" else None
            if isinstance((v.get("config") or {}).get("keras_history"), list):
                history = v["config"]["keras_history"]
            if isinstance(history, list) and history:
                names.append(str(history[0]))
                return
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(layer.get("inbound_nodes") or [])
    return names


def _layer(count: _Count, layer, inputs: list[Shape]) -> Shape | None:
    if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict):
        count.refuse("has a layer without a config")
    cls, cfg = str(layer.get("class_name")), layer["config"]
    if cls in _MODELS:
        return _model(count, layer, inputs[0] if inputs else None)
    if cls == "InputLayer":
        return _shape(count, cfg.get("batch_shape") or cfg.get("batch_input_shape"))
    own = _shape(count, (layer.get("build_config") or {}).get("input_shape"))
    shapes = [s for s in (inputs[0] if inputs else None, own) if s is not None]
    if cls in _MERGE or cls == "Concatenate":
        return _merge(cls, cfg, inputs)
    if not shapes:
        count.refuse(f"has a {cls[:40]} layer whose input size is not declared")
    # Counted for each shape the layer could be built with, its own and the one followed to
    # it: the larger counts.
    counts = [(_Count(count.name), s) for s in shapes]
    outs = [_weights(c, cls, cfg, s) for c, s in counts]
    count.take(max((c for c, _ in counts), key=lambda c: c.params))
    return outs[0]


def _merge(cls: str, cfg: dict, inputs: list[Shape]) -> Shape | None:
    if not inputs:
        return None
    if cls != "Concatenate":
        return inputs[0]
    axis = cfg.get("axis", -1)
    try:
        total = sum(s[axis] for s in inputs)
        shape = list(inputs[0])
        shape[axis] = total
        return tuple(shape)
    except (TypeError, IndexError):
        return None


def _weights(count: _Count, cls: str, cfg: dict, shape: Shape) -> Shape | None:
    """Counts the weights `cls` makes on an input of `shape`; returns its output shape."""
    last = shape[-1]
    if cls in _SAME_SHAPE:
        return shape
    if cls == "Flatten":
        rest = shape[1:]
        return (shape[0], math.prod(rest) if None not in rest else None)
    if cls == "Reshape":
        target = cfg.get("target_shape")
        return (shape[0], *_dims(count, target, "shape", len(target or [1])))
    if last is None:
        count.refuse(f"has a {cls[:40]} layer whose input size is not declared")
    if cls == "Dense":
        units = _int(count, cfg.get("units"), "width")
        count.add(last * units, units)
        return (*shape[:-1], units)
    if cls in ("BatchNormalization", "LayerNormalization"):
        count.add(*[last] * (4 if cls == "BatchNormalization" else 2))
        return shape
    if cls == "Embedding":
        out = _int(count, cfg.get("output_dim"), "width")
        count.add(_int(count, cfg.get("input_dim"), "vocabulary") * out)
        return (*shape, out)
    return _spatial(count, cls, cfg, shape)


def _spatial(count: _Count, cls: str, cfg: dict, shape: Shape) -> Shape | None:
    """Convolutions and pooling, channels last: their weights and output shape."""
    rank, channels = len(shape) - 2, shape[-1]
    if rank < 1 or cfg.get("data_format") not in (None, "channels_last"):
        count.refuse(f"has a {cls[:40]} layer laid out in a way not checked here")
    if cls.startswith("Global") and "Pooling" in cls:
        return (shape[0], channels)
    pooling = "Pooling" in cls
    window = _dims(count, cfg.get("pool_size" if pooling else "kernel_size"), "window", rank)
    stride = (cfg.get("strides") or window) if pooling else cfg.get("strides", 1)
    strides = _dims(count, stride, "stride", rank)
    out_channels = channels
    if cls.startswith("Conv") and cls[4:6] in ("1D", "2D", "3D"):
        out_channels = _int(count, cfg.get("filters"), "number of filters")
        count.add(math.prod(window) * channels * out_channels, out_channels)
    elif cls in ("DepthwiseConv2D", "DepthwiseConv1D"):
        out_channels = channels * _int(count, cfg.get("depth_multiplier", 1), "multiplier")
        count.add(math.prod(window) * out_channels, out_channels)
    elif cls in ("SeparableConv2D", "SeparableConv1D"):
        depth = channels * _int(count, cfg.get("depth_multiplier", 1), "multiplier")
        out_channels = _int(count, cfg.get("filters"), "number of filters")
        count.add(math.prod(window) * depth, depth * out_channels, out_channels)
    elif not pooling:
        count.refuse(f"has a {cls[:40]} layer whose size is not checked here")
    transpose, padding = "Transpose" in cls, cfg.get("padding")
    sizes = [_out(d, k, s, padding, transpose) for d, k, s in zip(shape[1:-1], window, strides)]
    return (shape[0], *sizes, out_channels)


def _out(d: int | None, k: int, s: int, padding, transpose: bool) -> int | None:
    if d is None:
        return None
    if transpose:
        return d * s
    return -(-d // s) if padding == "same" else max(0, -(-(d - k + 1) // s))
