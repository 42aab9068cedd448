"""docs/tutorial.md, run as written: its XSD, its commands, its server and its client."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
import shlex
import sys
from pathlib import Path

from click.testing import CliRunner

from medexempt.cli import main
from tests.harness import serve_in_thread
from tests.support import ROOT

TUTORIAL = ROOT / "docs" / "tutorial.md"


def _blocks(language: str) -> list[str]:
    text = TUTORIAL.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    (xsd,) = _blocks("xml")
    (tmp_path / "library.xsd").write_text(xsd, encoding="utf-8")
    commands = [
        line
        for block in _blocks("sh")
        for line in block.splitlines()
        if line.startswith("medexempt ")
    ]
    assert [shlex.split(c)[1] for c in commands] == ["init", "generate", "check"]
    server_code, client_code = _blocks("python")
    (tmp_path / "server.py").write_text(server_code, encoding="utf-8")
    here = Path.cwd()
    os.chdir(tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        for command in commands:
            result = CliRunner().invoke(main, shlex.split(command)[1:])
            assert result.exit_code == 0, (command, result.output)
        server = importlib.import_module("server")
        with serve_in_thread(server.app) as url:
            code = client_code.replace("http://127.0.0.1:8080/sync", url)
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(code, "client.py", "exec"), {})
        assert printed.getvalue() == "Абай жолы 3\n"
        assert "It prints `Абай жолы 3`" in TUTORIAL.read_text(encoding="utf-8")
    finally:
        os.chdir(here)
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "server" or n.split(".")[0] == "library"]:
            del sys.modules[name]
