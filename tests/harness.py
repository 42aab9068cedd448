"""The one harness of tests, bench and fuzz: calling a WSGI app in process, serving one on
loopback in a thread, and running a real server process.

`wsgi_call` builds the environ a WSGI server gives (every key the apps read), records what the
app starts its answer with, and checks that Content-Length matches the body. `serve_in_thread`
runs an app under wsgiref for tests that need a real HTTP connection without gunicorn.
`running_server` starts a server command (gunicorn, `medexempt serve`) on a free port, waits until
it answers, and stops it afterwards, its output kept in a log the failure shows.
"""

from __future__ import annotations

import functools
import io
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx

from medexempt.generated import models
from medexempt.generated.envelope import SoapFault, read_response

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class WsgiAnswer:
    """What the app answered: the status code, the headers (lower-case names), the body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def fault(self) -> SoapFault:
        """The answer as a SOAP Fault (it must be one)."""
        fault = read_response(self.body).body
        assert isinstance(fault, SoapFault), fault
        return fault

    def payload(self) -> models.MedicalExemptionSearchResponse:
        """The search answer the reference service's reply carries (it must be one)."""
        assert self.status == 200, self.body
        answer = read_response(self.body).body
        assert isinstance(answer, models.SendMessageResponse), answer
        payload = answer.response.response_data.data
        assert isinstance(payload, models.MedicalExemptionSearchResponse), payload
        return payload


def wsgi_call(
    app: WsgiApp,
    body: bytes,
    *,
    content_type: str = "text/xml; charset=utf-8",
    method: str = "POST",
    path: str = "/sync",
    content_length: str | None = "auto",
    terminated: bool = False,
    extra: dict[str, Any] | None = None,
) -> WsgiAnswer:
    """Call `app` with `body` as a WSGI server would. `content_length`: "auto" (the body's),
    a value of your own, or None for none (then `terminated` says whether the server marks the
    end of a chunked body, as gunicorn does with wsgi.input_terminated)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_TYPE": content_type,
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        **(extra or {}),
    }
    if content_length == "auto":
        environ["CONTENT_LENGTH"] = str(len(body))
    elif content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    if terminated:
        environ["wsgi.input_terminated"] = True
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        started.append((status, headers))

    content = b"".join(app(environ, start_response))
    [(status, headers)] = started
    header_map = {name.lower(): value for name, value in headers}
    if "content-length" in header_map:
        assert int(header_map["content-length"]) == len(content), header_map
    return WsgiAnswer(int(status.split()[0]), header_map, content)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_in_thread(app: WsgiApp, path: str = "/sync") -> Iterator[str]:
    """`app` behind a real HTTP server on loopback, in a thread; yields the URL of `path`."""
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{path}"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_serving(
    url: str,
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float = 30.0,
    status: int | None = None,
) -> None:
    """Return once `url` answers (with `status`, when given); RuntimeError with the log when the
    process exits or is late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            raise RuntimeError(f"the server exited with {process.returncode}:\n{output}")
        try:
            answer = httpx.get(url, timeout=1.0)
            if status is None or answer.status_code == status:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer on {url} within {timeout} s")


@contextmanager
def running_server(
    command: Sequence[str],
    *,
    ready: str,
    log: Path,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float = 60.0,
    status: int | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """`command` running until the block ends, once `ready` (a URL) answers (with `status`, when
    given); stopped with SIGTERM, killed if it does not stop within 20 s."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command), cwd=cwd, env=dict(env), stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_until_serving(ready, process, log, timeout=timeout, status=status)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- the `medexempt` command, in this process as a fresh one would run it -------------------------


def run_medexempt(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`medexempt ARGS` run in `cwd`, in this process (a child would spend 0.6 s importing): with
    the state `python -m medexempt` started there has — that working directory, `sys.path` with
    it first and this checkout last (as the editable install's .pth puts it), and no module of a
    temporary folder that tests wrote (packages other tests generated and imported) importable by
    name, nor their folders on `sys.path`. Exit code, stdout and stderr as a child's; an exception
    the command does not handle is raised."""
    from click.testing import CliRunner

    from medexempt.cli import main

    with _as_a_fresh_process_in(cwd):
        result = CliRunner().invoke(main, list(args), prog_name="medexempt")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        ["medexempt", *args], result.exit_code, result.stdout, result.stderr
    )


@contextmanager
def _as_a_fresh_process_in(cwd: Path) -> Iterator[None]:
    import importlib
    import os
    import sys

    written = _written_by_tests()

    def generated_by_other_tests() -> dict[str, Any]:
        return {
            name: module
            for name, module in list(sys.modules.items())
            if written(getattr(module, "__file__", None) or "")
        }

    checkout = str(_CHECKOUT)
    before, path = os.getcwd(), sys.path[:]
    hidden = generated_by_other_tests()
    for name in hidden:
        del sys.modules[name]
    # Folders of other tests' generated packages (a fresh process has none of them on its path).
    rest = [p for p in path if p not in ("", checkout) and not written(p)]
    sys.path[:] = [str(cwd), *rest, checkout]
    os.chdir(cwd)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        os.chdir(before)
        sys.path[:] = path
        for name in generated_by_other_tests():
            del sys.modules[name]
        sys.modules.update(hidden)
        importlib.invalidate_caches()


_CHECKOUT = Path(__file__).resolve().parent.parent


@functools.cache
def _written_by_tests() -> Callable[[str], bool]:
    """Whether a file or folder is one tests wrote: under the temporary folder, but not this
    checkout's nor the environment's (both may be there too, as in CI's clean clone in /tmp)."""
    import os
    import sys
    import sysconfig
    import tempfile

    @functools.cache  # asked for every loaded module at every run: thousands of lstat calls each
    def real(path: str) -> str:
        return os.path.realpath(path) + os.sep

    temporary = real(tempfile.gettempdir())
    installed = {real(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    installed |= {real(p) for p in sysconfig.get_paths().values()}
    installed.add(real(str(_CHECKOUT)))

    def written(path: str) -> bool:
        if not path:
            return False
        where = real(path)
        return where.startswith(temporary) and not any(where.startswith(p) for p in installed)

    return written
