"""A Download's press against its file's read: the rerun the press starts waits for the read."""

import threading
import time

from studio import library


def test_a_download_press_waits_for_its_file_to_be_read_then_goes_on(tmp_path, monkeypatch):
    path = tmp_path / "cnn.keras"
    path.write_bytes(b"model bytes")
    monkeypatch.setattr(library, "READ_WAIT_S", 5.0)
    got = []
    # The browser's request for the file, coming after the press's rerun has started.
    request = threading.Timer(0.3, lambda: got.append(library._read(path)))
    pressed = time.monotonic()
    request.start()
    library.gone_check("cnn", path)
    returned = time.monotonic()
    request.join()
    assert got == [b"model bytes"]
    assert library._READS[str(path)] <= returned  # it went on once the file was read ...
    assert returned - pressed < 4.0  # ... not at the cap


def test_a_press_whose_file_was_read_already_goes_on_at_once(tmp_path):
    path = tmp_path / "mlp.keras"
    path.write_bytes(b"mlp")
    assert library._read(path) == b"mlp"
    t = time.monotonic()
    library.gone_check("mlp", path)
    assert time.monotonic() - t < library.READ_WAIT_S  # it did not wait for a read to come
