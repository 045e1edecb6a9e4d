"""A real TensorBoard server on loopback, in this process, and its HTTP API as JSON."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class TensorBoardAPI:
    """GET / POST JSON against a running TensorBoard at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def get(self, path: str, body: Any = None) -> Any:
        """The route's JSON; with ``body``, a POST of it (the hparams plugin's routes take requests)."""
        data = None if body is None else json.dumps(body).encode()
        # TensorBoard refuses a POST without this header (its XSRF guard).
        headers = {"Content-Type": "application/json", "X-XSRF-Protected": "1"}
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


@contextmanager
def tensorboard_server(logdir: Path, timeout: float = 60.0) -> Iterator[TensorBoardAPI]:
    """TensorBoard serving ``logdir`` on 127.0.0.1 at a free port, once it has loaded a run; shut down on
    exit. The Python data loader (``--load_fast false``), read once (``--reload_interval 0``)."""
    from tensorboard import program

    tb = program.TensorBoard()
    argv = ["tensorboard", "--logdir", str(logdir), "--host", "127.0.0.1", "--port", "0"]
    tb.configure(argv=[*argv, "--load_fast", "false", "--reload_interval", "0"])
    # What TensorBoard.launch() does, keeping the server so that it can be shut down (launch drops it).
    server = tb._make_server()
    thread = threading.Thread(target=server.serve_forever, name="TensorBoard", daemon=True)
    thread.start()
    try:
        api = TensorBoardAPI(server.get_url())
        deadline = time.monotonic() + timeout
        while not api.get("/data/plugin/scalars/tags"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"TensorBoard loaded no run of {logdir} in {timeout} s")
            time.sleep(0.1)
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
