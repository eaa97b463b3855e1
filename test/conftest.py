"""Settings every test shares."""

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _repro_dumps_stay_in_the_session_folder(tmp_path_factory):
    """Pipelines that fail on purpose in tests dump their input; keep those dumps with pytest's
    own temporary files instead of the machine's temp folder."""
    if os.environ.get("FUSEFLOW_REPRO_DIR"):
        yield
        return
    os.environ["FUSEFLOW_REPRO_DIR"] = str(tmp_path_factory.mktemp("repro"))
    yield
    os.environ.pop("FUSEFLOW_REPRO_DIR", None)


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    """The address of a Ray cluster of 2 CPUs started for the session on loopback (its head in a
    process group of its own, stopped at the end: other Ray instances on the machine are left
    alone). Token authentication is off for this private cluster."""
    import shutil
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    os.environ["RAY_AUTH_MODE"] = "disabled"  # for the clients: this process and its CLIs
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ray = shutil.which("ray", path=str(Path(sys.executable).parent))
    log = (tmp_path_factory.mktemp("ray") / "head.log").open("w")
    head = subprocess.Popen([ray, "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
                             "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
                             f"--object-store-memory={128 * 1024 * 1024}"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if head.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Ray head did not start (see {log.name})") from None
                time.sleep(0.5)
        yield address
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        log.close()
