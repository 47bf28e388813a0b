"""`streamlit run` in a server that kills itself whole (SIGKILL: no clean-up, as a power cut or
the kernel's OOM killer would) between two steps of a save, when the file $KILL_AT names that
step ("archive", "record", "rename"...: saving._after's names). Until the file says so, it is
the plain server.

    python harness/kill_server.py app.py --server.port 8501
"""

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_demo.storage import saving  # noqa: E402

KILL_AT = Path(os.environ["KILL_AT"])


def _after(step: str) -> None:
    if KILL_AT.exists() and KILL_AT.read_text().strip() == step:
        os.kill(os.getpid(), signal.SIGKILL)


saving._after = _after

if __name__ == "__main__":
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", *sys.argv[1:]]
    sys.exit(cli.main())
