import numpy as np
import pytest

from mnist_demo.errors import MnistDemoError, UnknownModelError
from mnist_demo.nets import models
from mnist_demo.nets.models import as_float32, bf16_supported, build_model, resolve_precision

# bfloat16 kernels: on AMX or AVX-512 BF16 CPUs, not under an ISA cap that leaves them out
needs_bf16 = pytest.mark.skipif(
    not bf16_supported(), reason="no native bfloat16 here (the CPU, or ONEDNN_MAX_CPU_ISA)"
)
BF16 = pytest.param("mixed_bfloat16", marks=needs_bf16)


def seed_cnn_params():
    """Counted from the seed's variable shapes: W_conv1 [5,5,1,32], W_conv2 [5,5,32,64],
    W_fc [7*7*64, 1024], W_fc2 [1024, 10], each with its bias."""
    shapes = [(5 * 5 * 1, 32), (5 * 5 * 32, 64), (7 * 7 * 64, 1024), (1024, 10)]
    return sum(i * o + o for i, o in shapes)


def seed_mlp_params():
    shapes = [(784, 512), (512, 512), (512, 10)]
    return sum(i * o + o for i, o in shapes)


def test_parameter_counts_equal_the_seeds():
    assert build_model("cnn").count_params() == seed_cnn_params() == 3_274_634
    assert build_model("mlp").count_params() == seed_mlp_params() == 669_706


@pytest.mark.parametrize("name", ["cnn", "mlp"])
@pytest.mark.parametrize("precision", ["float32", BF16])
def test_output_is_a_probability_distribution(name, precision):
    model = build_model(name, precision)
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    p = np.asarray(model(x, training=False))
    assert p.shape == (4, 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)


def test_seed_initialisation():
    model = build_model("cnn")
    kernel, bias = model.get_layer("conv1").get_weights()
    np.testing.assert_allclose(bias, 0.1)
    # Truncated at two standard deviations of 0.1, like tf.truncated_normal.
    assert abs(kernel).max() <= 0.2 + 1e-6 and 0.05 < kernel.std() < 0.1


@needs_bf16
def test_float32_copy_keeps_weights():
    model = build_model("mlp", "mixed_bfloat16")
    copy = as_float32(model)
    assert copy.dtype_policy.name == "float32"
    for a, b in zip(model.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unknown_name_is_a_clear_error():
    with pytest.raises(UnknownModelError, match="choose one of cnn, mlp"):
        build_model("resnet")
    with pytest.raises(ValueError):  # also a ValueError, as callers expect
        build_model("")


def test_he_first_weights_are_scaled_to_each_layers_inputs_and_the_seeds_are_the_tutorials():
    """He et al. (2015): a ReLU layer's weights drawn with variance 2 / fan_in; the tutorial's
    truncated normal of stddev 0.1 (cut at 2 sigma: stddev 0.088) with biases at 0.1."""
    import keras

    keras.utils.set_random_seed(0)
    he, seed = build_model("cnn", init="he"), build_model("cnn")
    for layer in ("conv2", "fully_connected"):
        kernel = he.get_layer(layer).kernel.numpy()
        fan_in = int(np.prod(kernel.shape[:-1]))
        assert abs(kernel.std() / np.sqrt(2 / fan_in) - 1) < 0.05
        assert not he.get_layer(layer).bias.numpy().any()
        assert abs(seed.get_layer(layer).kernel.numpy().std() - 0.088) < 0.003
        assert np.allclose(seed.get_layer(layer).bias.numpy(), 0.1)


def test_an_isa_cap_without_bfloat16_turns_auto_to_float32_and_refuses_bfloat16(monkeypatch):
    """As on a CPU with AMX measured as a 2-core AVX2 one: TensorFlow would still pick bfloat16
    kernels, which oneDNN then cannot build (an AbortedError from the first Conv2D)."""
    monkeypatch.setattr(models, "cpu_has_bf16", lambda: True)
    monkeypatch.setenv("MNIST_STUDIO_PRECISION", "auto")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert resolve_precision("auto") == "mixed_bfloat16"
    assert resolve_precision("mixed_bfloat16") == "mixed_bfloat16"
    for cap in ("AVX2", "avx512_core"):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
        assert resolve_precision("auto") == "float32"
        with pytest.raises(MnistDemoError, match="ONEDNN_MAX_CPU_ISA=" + cap.upper()):
            resolve_precision("mixed_bfloat16")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert resolve_precision("auto") == "mixed_bfloat16"
