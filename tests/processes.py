"""The quick run starts no Python process (a pytest plugin of the suite, tests/conftest.py).

A test that starts one (a fresh interpreter, a command of ours, mypy, a server, an install) is a
system test. While a test that is not runs, its fixtures' setup and teardown included, starting
one fails it, naming the program, so the quick run stays in its own process and the marks stay
true. Watched: subprocess (asyncio's too), os.system and os.posix_spawn (through Python's audit
hooks), and multiprocessing's spawn and forkserver; a command line is read through shells (`sh -c`,
`;`, `&&`, `|`, subshells) and the usual wrappers (`env`, `exec`, `nice`, `nohup`, `timeout`).
Not counted: other programs (the ldconfig a library runs, openssl) and a fork of the test's own
process, which is no fresh Python.
"""

from __future__ import annotations

import filecmp
import multiprocessing.util
import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

_QUICK_TEST: list[str] = []  # the node id of the test that is not a system test, while it runs
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh"})
_OPERATORS = frozenset({";", "&", "&&", "|", "||", "(", ")", "\n", ";;", "|&"})
# Wrappers that run the rest of their line as a program, and their options that take a value.
_WRAPPERS = {
    "env": {"-u", "--unset", "-C", "--chdir"},
    "exec": {"-a"},
    "command": set(),
    "nohup": set(),
    "nice": {"-n", "--adjustment"},
    "timeout": {"-s", "--signal", "-k", "--kill-after"},
    "stdbuf": {"-i", "-o", "-e"},
    "time": set(),
}
_PYTHON_NAME = re.compile(r"(python|pypy)[0-9.]*")


def programs(argv: list[str]) -> Iterator[str]:
    """The programs a command line runs, through shells and wrappers."""
    if not argv:
        return
    name = Path(argv[0]).name
    if name in _SHELLS:
        yield from _shell(argv[1:])
        return
    if name in _WRAPPERS or ("=" in argv[0] and not argv[0].startswith(("/", "."))):
        rest = argv[1:] if name in _WRAPPERS else argv
        takes = _WRAPPERS.get(name, set())
        while rest and (rest[0].startswith("-") or "=" in rest[0]):
            if name == "env" and rest[0] in ("-S", "--split-string") and len(rest) > 1:
                rest = _split(rest[1]) + rest[2:]
                continue
            rest = rest[2:] if rest[0] in takes else rest[1:]
        if name == "timeout" and rest:
            rest = rest[1:]  # the duration
        yield from programs(rest)
        return
    yield argv[0]


def _shell(arguments: list[str]) -> Iterator[str]:
    """The programs of `sh [options] [-c] COMMAND_OR_SCRIPT`, one per simple command of COMMAND."""
    command = False
    rest = list(arguments)
    while rest and rest[0][:1] in ("-", "+") and rest[0] not in ("-", "--"):
        option = rest.pop(0)
        if option in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file") and rest:
            rest.pop(0)  # the option's value
        elif not option.startswith("--") and "c" in option[1:]:
            command = True
    if rest and rest[0] == "--":
        rest.pop(0)
    if not rest:
        return
    if command:
        yield from _commands(rest[0])
    else:
        yield rest[0]  # a script the shell runs


def _commands(text: str) -> Iterator[str]:
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:  # not a command line shlex reads: the shell will say so
        return
    command: list[str] = []
    for token in [*tokens, ";"]:
        if token in _OPERATORS:
            if command and command[0] != "cd":
                yield from programs(command)
            command = []
        else:
            command.append(token)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return []


def runs_python(program: str, env: Mapping[Any, Any] | None = None, cwd: Any = None) -> bool:
    """Whether `program` is a Python interpreter, or a script one runs (medexempt, mypy, a pyenv
    shim)."""
    if os.sep in program and not os.path.isabs(program) and cwd is not None:
        program = os.path.join(os.fsdecode(cwd), program)
    path = None
    for key in ("PATH", b"PATH") if env is not None else ():
        try:
            path = env.get(key)  # type: ignore[union-attr]
        except TypeError:  # os.environ takes str keys only
            continue
        if path is not None:
            break
    found = shutil.which(program, path=os.fsdecode(path) if path is not None else None)
    if found is None:
        return False
    known = (sys.executable, getattr(sys, "_base_executable", ""))
    interpreters = {os.path.realpath(p) for p in known if p}
    real = os.path.realpath(found)
    if real in interpreters or _PYTHON_NAME.fullmatch(Path(real).name):
        return True
    if _PYTHON_NAME.fullmatch(Path(found).name) or "/.pyenv/shims/" in found:
        return True
    if any(_same_file(real, interpreter) for interpreter in interpreters):
        return True  # a copy of the interpreter under another name
    try:
        with open(found, "rb") as file:
            first = file.readline(256)
    except OSError:
        return False
    return first.startswith(b"#!") and re.search(rb"\b(python|pypy)[0-9.]*\b", first) is not None


def _same_file(path: str, interpreter: str) -> bool:
    try:
        if os.path.getsize(path) != os.path.getsize(interpreter):
            return False
        return filecmp.cmp(path, interpreter, shallow=False)
    except OSError:
        return False


def _refuse(program: str) -> None:
    raise AssertionError(f"{_QUICK_TEST[0]} starts {program!r}, a Python process: mark it `system`")


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _QUICK_TEST:
        return
    if event == "subprocess.Popen":
        executable, argv, cwd, env = args
        argv = [argv] if isinstance(argv, (str, bytes, os.PathLike)) else list(argv)
        command = [os.fsdecode(executable), *map(os.fsdecode, argv[1:])]
    elif event == "os.system":
        command, env, cwd = ["/bin/sh", "-c", os.fsdecode(args[0])], None, None
    elif event == "os.posix_spawn":
        command = [os.fsdecode(args[0]), *map(os.fsdecode, list(args[1])[1:])]
        env, cwd = args[2], None
    else:
        return
    for program in programs(command):
        if runs_python(program, env, cwd):
            _refuse(program)


sys.addaudithook(_audit)
_spawn = multiprocessing.util.spawnv_passfds


def _spawn_refused(path: Any, args: Any, passfds: Any) -> int:
    """multiprocessing's spawn and forkserver start a fresh Python through this (no audit event)."""
    if _QUICK_TEST:
        _refuse(os.fsdecode(path))
    return _spawn(path, args, passfds)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    if item.get_closest_marker("system") is not None:
        return (yield)
    _QUICK_TEST.append(item.nodeid)
    multiprocessing.util.spawnv_passfds = _spawn_refused
    try:
        return (yield)
    finally:
        multiprocessing.util.spawnv_passfds = _spawn
        _QUICK_TEST.clear()
