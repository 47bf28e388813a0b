import io

import numpy as np
import pytest
from PIL import Image

from harness.drawings import draw, drawing_set
from mnist_demo.drawing.preprocess import load_image, preprocess, stroke_width
from mnist_demo.errors import DrawingError
from mnist_demo.nets.inference import predict_probs


def on_canvas(digit, scale=7, top=70, left=10, polarity="light-on-dark"):
    """An MNIST digit blown up (nearest neighbour) and pasted off-centre on a 280x280 canvas."""
    big = np.kron(digit, np.ones((scale, scale), np.uint8))
    canvas = np.zeros((280, 280), np.uint8)
    canvas[top : top + big.shape[0], left : left + big.shape[1]] = big
    return canvas if polarity == "light-on-dark" else 255 - canvas


def correlation(a, b):
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


@pytest.mark.parametrize("polarity", ["light-on-dark", "dark-on-light"])
def test_large_off_centre_digit_comes_back_as_mnist_made_it(mnist, polarity):
    for i in range(20):
        digit = mnist.x_test[i]
        out = preprocess(on_canvas(digit, top=60 + i, left=5 + 2 * i, polarity=polarity))
        assert out.shape == (28, 28) and out.dtype == np.float32
        assert 0 <= out.min() and out.max() <= 1
        # MNIST's own digit is the reference: the same shape, centred the same way.
        assert correlation(out, digit / 255.0) > 0.85, i


def test_centre_of_mass_is_centred(mnist):
    out = preprocess(on_canvas(mnist.x_test[3], top=5, left=150, scale=4))
    ys, xs = np.indices(out.shape)
    cy, cx = (ys * out).sum() / out.sum(), (xs * out).sum() / out.sum()
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5  # where MNIST puts it
    rows, cols = np.nonzero(out > 0.05)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 21  # fitted into 20x20 (plus antialiasing)


def test_shipped_cnn_reads_pen_drawings(mnist, shipped_cnn):
    """Thick constant-width pen strokes at any size and place, both polarities and an RGBA canvas."""
    n = 1000
    ims, labels = drawing_set(mnist.x_test[-n:], mnist.y_test[-n:], n, seed=3)
    probs = predict_probs(shipped_cnn, np.stack([preprocess(im) for im in ims]))
    right = probs.argmax(1) == labels
    assert right[0::2].mean() >= 0.975, "light ink on dark"
    assert right[1::2].mean() >= 0.975, "dark ink on light"


def test_canvas_rgba_with_ink_only_in_alpha(mnist, shipped_cnn):
    rng = np.random.default_rng(5)
    ims = [draw(mnist.x_test[i], rng, rgba=True).copy() for i in range(200)]
    # Black strokes on a transparent canvas: the colour channels carry nothing, alpha everything.
    for im in ims[::2]:
        im[..., :3] = 0
    probs = predict_probs(shipped_cnn, np.stack([preprocess(im) for im in ims]))
    assert (probs.argmax(1) == mnist.y_test[:200]).mean() >= 0.97


def test_jpeg_photo_of_dark_ink_on_grey_paper(mnist, shipped_cnn):
    rng = np.random.default_rng(9)
    right = 0
    for i in range(40):
        im = draw(mnist.x_test[i], rng, polarity="dark-on-light")[..., 0].astype(float)
        paper = 0.55 * im + 90 + rng.normal(0, 6, im.shape)  # grey paper, dark grey ink, noise
        buf = io.BytesIO()
        Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).resize((640, 640)).save(
            buf, "JPEG", quality=70
        )
        x = preprocess(load_image(buf.getvalue()))[None, ..., None]
        right += int(np.asarray(shipped_cnn(x)).argmax() == mnist.y_test[i])
    assert right >= 38


def test_stroke_width_of_a_bar():
    mask = np.zeros((100, 100), bool)
    mask[20:80, 40:52] = True  # 12 px wide, 60 long
    assert 10 <= stroke_width(mask) <= 16


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((280, 280, 4), np.uint8),
        np.full((280, 280, 3), 255, np.uint8),
        np.full((100, 100), 30, np.uint8),
    ],
)
def test_blank_drawing_is_an_error_not_a_prediction(image):
    with pytest.raises(DrawingError, match="nothing drawn"):
        preprocess(image)


def test_unreadable_inputs(tmp_path):
    with pytest.raises(DrawingError, match="no such file"):
        load_image(tmp_path / "absent.png")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(DrawingError, match="not an image"):
        load_image(text)
    png = io.BytesIO()
    Image.new("L", (50, 50), 255).save(png, "PNG")
    with pytest.raises(DrawingError):
        load_image(png.getvalue()[:60])  # truncated


def test_oversized_image_is_refused_before_decoding(tmp_path):
    p = tmp_path / "huge.png"
    Image.new("1", (5000, 5000)).save(p)  # a few KB on disk, 25 MP once decoded
    with pytest.raises(DrawingError, match="too large"):
        load_image(p)
