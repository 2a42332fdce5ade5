"""A real PgBouncer in transaction pooling mode, from the machine's package, in front of a PostgreSQL server.

Started on a free loopback port with its own configuration and auth file in a temporary folder: every database
of the server routes through it (``* = host=… port=…``), so the tests' per-worker databases and the benches'
scratch ones are reached by name. ``auth_type = trust`` toward the clients (loopback only); PgBouncer logs in
to PostgreSQL as the client's user, without a password, as the tests themselves do. PgBouncer refuses to run
as root: run as root, it switches to ``nobody`` (``_run_as``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.services import on_loopback, server_address

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def available() -> bool:
    return os.access(PGBOUNCER, os.X_OK)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def through(url: str, port: int) -> str:
    """``url`` with its server replaced by the PgBouncer on ``port``."""
    return on_loopback(url, port)


def config(upstream: str, port: int, folder: Path, pool_size: int) -> str:
    host, server_port = server_address(upstream)
    return f"""[databases]
* = host={host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
pool_mode = transaction
max_client_conn = 1000
default_pool_size = {pool_size}
ignore_startup_parameters = extra_float_digits
server_login_retry = 1
log_connections = 0
log_disconnections = 0
"""


@contextmanager
def pgbouncer(upstream: str, *, pool_size: int = 20) -> Iterator[int]:
    """A PgBouncer in transaction mode in front of ``upstream``'s server, until the block ends: its port."""
    user = urlsplit(upstream).username or "postgres"
    folder = Path(tempfile.mkdtemp(prefix="guildhall-pgbouncer-"))
    port = free_port()
    try:
        (folder / "users.txt").write_text(f'"{user}" ""\n', encoding="utf-8")
        (folder / "pgbouncer.ini").write_text(config(upstream, port, folder, pool_size), encoding="utf-8")
        for path in (folder / "users.txt", folder / "pgbouncer.ini"):
            path.chmod(0o644)
        folder.chmod(0o755)  # readable by `nobody`
        command = [PGBOUNCER, *_run_as(server_address(upstream)[0]), str(folder / "pgbouncer.ini")]
        with (folder / "pgbouncer.log").open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            _wait_listening(port, process, folder / "pgbouncer.log")
            yield port
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run_as(host: str) -> list[str]:
    """PgBouncer refuses to run as root: then it runs as ``nobody``, or, for a server on a Unix socket (the embedded
    one), as the owner of the socket's directory, which admits nobody else."""
    if os.geteuid() != 0:
        return []
    return ["-u", pwd.getpwuid(os.stat(host).st_uid).pw_name if host.startswith("/") else "nobody"]


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited ({process.returncode}): {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not listen on {port} within 10 s: {log.read_text(errors='replace')}")
