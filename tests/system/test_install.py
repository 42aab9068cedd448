"""medexempt as other projects install it: a built wheel, fresh environments outside the repository.

- The generated package with only `generator.RUNTIME_REQUIREMENTS` installed: its codec, client
  and server work (a client calls the server over HTTP), and no signing library is imported.
- The wheel without extras: the generator works in an empty project, the reference service's
  stack is not installed, and its commands say what to install; its refusals (a file of the
  user's own, an unknown key, a taken import name) hold there too.
- The build steps: a hatchling build with the medexempt hook, and pre-commit with the hooks of
  this repository.

Offline: one fixture fills a wheelhouse (this checkout's wheel, built here, and the wheels of what
the tests install, from pip's cache when it is warm). Every install a test makes is `--no-index`
from that folder, with the proxies pointing at a closed port, so a step that reached for an index
would fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from medexempt.generator import RUNTIME_REQUIREMENTS, SIGNING_REQUIREMENTS
from tests.harness import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
SERVICE_STACK = ("gunicorn", "sqlalchemy", "alembic", "psycopg", "fonttools", "zxing-cpp", "tqdm")


OLDER_RUFF = "ruff==0.6.9"  # a project's own, older than this repository's
# What the tests install into their venvs, besides this checkout's wheel and its requirements.
TOOLS = ("hatchling", "pre-commit", "pytest")
_CLOSED = "http://127.0.0.1:9"  # the discard port: nothing answers
OFFLINE = {"HTTP_PROXY": _CLOSED, "HTTPS_PROXY": _CLOSED, "ALL_PROXY": _CLOSED,
           "http_proxy": _CLOSED, "https_proxy": _CLOSED, "NO_PROXY": "127.0.0.1,localhost",
           "no_proxy": "127.0.0.1,localhost", "PIP_NO_INDEX": "1"}  # fmt: skip


def _run(
    *command: str | Path, cwd: Path, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env={**base, **(env or {})},
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    return done


def _ok(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = _run(*command, cwd=cwd, env=env)
    assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


def _fresh_venv(folder: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    return folder / "bin" / "python"


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's wheel and every wheel the tests install: the one step that may use an
    index."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    wheel = _wheel(folder)
    download = (sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                "-d", folder)  # fmt: skip
    _ok(*download, "-c", ROOT / "constraints.txt", wheel, *RUNTIME_REQUIREMENTS, *TOOLS, cwd=folder)
    _ok(*download, "--no-deps", OLDER_RUFF, cwd=folder)  # not ours: outside our constraints
    return folder


def _pip(
    python: Path, *args: str | Path, wheelhouse: Path, cwd: Path, constrained: bool = True
) -> None:
    constraints = ("-c", ROOT / "constraints.txt") if constrained else ()
    _ok(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
        "--find-links", wheelhouse, *constraints, *args, cwd=cwd, env=OFFLINE)  # fmt: skip


def _our_wheel(wheelhouse: Path) -> Path:
    [wheel] = wheelhouse.glob("medexempt-*.whl")
    return wheel


def _wheel(folder: Path) -> Path:
    _ok(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "-w", folder, ROOT, cwd=ROOT)  # fmt: skip
    [wheel] = folder.glob("medexempt-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with an older ruff of its own, then the wheel without extras: its bin/ folder."""
    folder = tmp_path_factory.mktemp("installed")
    python = _fresh_venv(folder / "venv")
    _pip(python, OLDER_RUFF, wheelhouse=wheelhouse, cwd=folder, constrained=False)
    _pip(python, _our_wheel(wheelhouse), "pytest", wheelhouse=wheelhouse, cwd=folder)
    return python.parent


USE_THE_PACKAGE = """
import importlib.util, sys, threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

from generated import SoapVersion, models
from generated.client import Client
from generated.server import ServerConfig, Servicer, make_app
import generated.wssecurity  # importable without the signing libraries

class Quiet(WSGIRequestHandler):
    def log_message(self, *args): pass

class Found(Servicer):
    def medical_exemption_search(self, request, context):
        return models.MedicalExemptionSearchResponse(
            status=models.Status(code="NOT_FOUND", message="no " + request.number))

server = make_server("127.0.0.1", 0, make_app(Found(), ServerConfig(max_message_age=None)),
                     handler_class=Quiet)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_port}/sync"
for version in ("1.1", "1.2"):
    with Client(url, sender_id="mis", soap_version=SoapVersion(version)) as client:
        request = models.MedicalExemptionSearchRequest(number="01085")
        answer = client.medical_exemption_search(request)
    assert answer.status.message == "no 01085", answer
server.shutdown()
signing = ("cryptography", "gmpy2", "signxml")
loaded = sorted(name for name in signing if name in sys.modules)
missing = sorted(name for name in signing if importlib.util.find_spec(name) is None)
print("loaded", loaded, "missing", missing)
"""


def test_the_generated_package_runs_with_only_its_stated_requirements(
    tmp_path: Path, wheelhouse: Path
) -> None:
    python = _fresh_venv(tmp_path / "venv")
    _pip(python, *RUNTIME_REQUIREMENTS, wheelhouse=wheelhouse, cwd=tmp_path)
    project = tmp_path / "project"
    shutil.copytree(ROOT / "generated", project / "generated",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    (project / "use.py").write_text(USE_THE_PACKAGE)
    out = _ok(python, "use.py", cwd=project)
    assert "loaded [] missing ['cryptography', 'gmpy2', 'signxml']" in out, out
    assert len(SIGNING_REQUIREMENTS) == 3


def test_the_wheel_installs_one_import_name(wheelhouse: Path) -> None:
    """Nothing generic lands in a user's site-packages: every module is under medexempt."""
    import zipfile

    names = zipfile.ZipFile(_our_wheel(wheelhouse)).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"medexempt"}, tops
    assert "medexempt/generated/service.wsdl" in names
    assert "medexempt/generator/gateway/SyncChannel.xsd" in names
    assert "medexempt/generator/templates/client.py.jinja" in names


def test_nothing_imports_the_folders_by_their_own_names() -> None:
    """In a checkout the folders are importable by their names too (the editable install puts
    the root on sys.path); code that did so would get second copies of every class."""
    import re

    bare = re.compile(r"^\s*(?:from|import) (?:generated|generator|exemptions)\b", re.M)
    found = [
        str(path.relative_to(ROOT))
        for folder in ("generator", "generated", "exemptions", "tests", "bench", "fuzz")
        for path in (ROOT / folder).rglob("*.py")
        if bare.search(path.read_text(encoding="utf-8"))
        and path.name != "test_install.py"  # its script imports a copy named generated
    ]
    assert not found, found


CALL_THE_SERVICE = """
import os

import pytest

from from_xsd import SoapVersion, models
from from_xsd.client import Client


@pytest.mark.parametrize("version", [SoapVersion.SOAP11, SoapVersion.SOAP12])
def test_the_service_finds_the_demo_record(version):
    url = os.environ["SERVICE_URL"]
    with Client(url, sender_id="sender", password="password", soap_version=version) as c:
        answer = c.medical_exemption_search(models.MedicalExemptionSearchRequest(number="01085"))
    (item,) = answer.medical_exemption_list
    assert item.certificate is not None
    print(answer.status.code, item.number, "certificate", item.certificate[:4].decode())
"""


def test_the_wheel_brings_the_generator_and_not_the_service(
    tmp_path: Path, installed: Path
) -> None:
    """Into a venv with an older ruff of its own (which stays): no service stack, and the
    generator writes the very bytes of this repository's generated/; init from an XSD and from a
    WSDL, generate and check with no options, the project's own tests call the reference service."""
    python, medexempt = installed / "python", installed / "medexempt"
    listed = _ok(python, "-m", "pip", "list", "--format=freeze", cwd=tmp_path).lower()
    assert not [name for name in SERVICE_STACK if f"\n{name}" in f"\n{listed}"], listed
    assert OLDER_RUFF in listed.splitlines(), listed
    same = tmp_path / "same"  # a project set up as this repository is
    same.mkdir()
    (same / "pyproject.toml").write_text(
        f'[tool.medexempt]\nxsd-dir = "{os.path.relpath(ROOT / "xsd", same)}"\nout = "generated"\n'
        'package = "medexempt.generated"\n'
    )
    _ok(medexempt, "generate", "--allow-shadowed-name", cwd=same)
    for path in (ROOT / "generated").iterdir():
        if path.is_file():
            assert (same / "generated" / path.name).read_bytes() == path.read_bytes(), path.name
    for source, package in ((ROOT / "xsd" / "MedicalExemptionSearch.xsd", "from_xsd"),
                            (ROOT / "generated" / "service.wsdl", "from_wsdl")):  # fmt: skip
        project = tmp_path / package  # empty: init writes xsd/ and pyproject.toml
        project.mkdir()
        _ok(medexempt, "init", "--from", source, "--service-id", "EHEALTH_MEDICAL_EXEMPTION_SEARCH",
            "--package", package, cwd=project)  # fmt: skip
        assert (project / "xsd" / "shep" / "SyncChannel.xsd").is_file()  # from the wheel
        _ok(medexempt, "generate", cwd=project)
        _ok(medexempt, "check", cwd=project / "xsd")
        _ok(python, "-c", f"import {package}.client, {package}.server", cwd=project)
    # The project's own test, with its own client, against the reference service of this checkout.
    (tmp_path / "from_xsd" / "tests").mkdir()
    (tmp_path / "from_xsd" / "tests" / "test_call.py").write_text(CALL_THE_SERVICE)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "medexempt", "serve", "--demo", "--port", str(port)],
            cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until_serving(f"http://127.0.0.1:{port}/healthz", server, log, timeout=60)
            out = _ok(python, "-m", "pytest", "-q", "-s", "tests", cwd=tmp_path / "from_xsd",
                      env={"SERVICE_URL": f"http://127.0.0.1:{port}/sync"})  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=20)
    assert "SUCCESS 01085 certificate %PDF" in out and "2 passed" in out, out
    refused = _run(medexempt, "serve", "--demo", cwd=project)
    assert refused.returncode == 2, refused
    assert "pip install 'medexempt[service]'" in refused.stderr, refused.stderr
    assert "gunicorn" in refused.stderr or "sqlalchemy" in refused.stderr, refused.stderr


def test_the_installed_generator_refuses_what_it_does_not_handle(
    tmp_path: Path, installed: Path
) -> None:
    """From the wheel: a file of the user's own in the output folder, an unknown key in
    [tool.medexempt] or services.toml, an import name taken by an installed module (the project's
    own ruff): each is exit 2 naming it, and nothing is written."""
    medexempt = installed / "medexempt"
    project = _project(medexempt, tmp_path / "clinic", "clinic_soap")
    _ok(medexempt, "generate", cwd=project)
    mine = project / "clinic_soap" / "client.py"
    mine.write_text("# my own client, no header\n")
    done = _run(medexempt, "generate", cwd=project)
    assert done.returncode == 2 and "clinic_soap/client.py" in done.stderr, done.stderr
    assert "not a file medexempt generated" in done.stderr, done.stderr
    assert mine.read_text() == "# my own client, no header\n"
    mine.unlink()

    pyproject = project / "pyproject.toml"
    table = pyproject.read_text()
    pyproject.write_text(table.replace("[tool.medexempt]\n", '[tool.medexempt]\noot = "x"\n'))
    done = _run(medexempt, "check", cwd=project)
    assert done.returncode == 2, done
    assert "unknown key 'oot' in [tool.medexempt]; did you mean 'out'?" in done.stderr, done.stderr
    pyproject.write_text(table)

    manifest = project / "xsd" / "services.toml"
    original = manifest.read_text()
    manifest.write_text(original.replace("[wsdl]\n", "[wsdl]\nnmae = 'X'\n", 1))
    done = _run(medexempt, "check", cwd=project)
    assert done.returncode == 2 and "[wsdl] nmae" in done.stderr, done.stderr
    assert "unknown key" in done.stderr, done.stderr
    manifest.write_text(original)

    done = _run(medexempt, "generate", "--out", "ruff", cwd=project)
    assert done.returncode == 2 and "'ruff' is taken" in done.stderr, done.stderr
    assert not (project / "ruff").exists()
    assert not mine.exists()  # no refused run wrote anything
    _ok(medexempt, "generate", cwd=project)
    _ok(medexempt, "check", cwd=project)


@pytest.mark.parametrize("command", ["serve", "db", "inspect", "search", "hash-password", "init"])
def test_the_service_commands_are_listed(command: str) -> None:
    from click.testing import CliRunner

    from medexempt.cli import main

    assert command in CliRunner().invoke(main, ["--help"]).output


def _project(medexempt: Path, folder: Path, package: str) -> Path:
    folder.mkdir()
    _ok(medexempt, "init", "--from", ROOT / "xsd" / "MedicalExemptionSearch.xsd", "--service-id",
        "EHEALTH_MEDICAL_EXEMPTION_SEARCH", "--package", package, cwd=folder)  # fmt: skip
    return folder


def test_a_hatchling_build_regenerates_or_checks_the_bindings(
    tmp_path: Path, wheelhouse: Path
) -> None:
    """`pip wheel` of a project with the medexempt build hook writes its package first (mode
    generate), or fails while it is stale (mode check)."""
    python = _fresh_venv(tmp_path / "venv")
    _pip(python, _our_wheel(wheelhouse), "hatchling", wheelhouse=wheelhouse, cwd=tmp_path)
    project = _project(tmp_path / "venv" / "bin" / "medexempt", tmp_path / "clinic", "clinic_soap")
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling", "medexempt"]\n'
        'build-backend = "hatchling.build"\n\n'
        + text
        + '\n[tool.hatch.build.targets.wheel]\npackages = ["clinic_soap"]\n'
        '\n[tool.hatch.build.hooks.medexempt]\nmode = "generate"\n'
    )
    assert not (project / "clinic_soap").exists()
    build = (python, "-m", "pip", "wheel", "--quiet", "--no-build-isolation", "--no-deps",
             "-w", project / "out", ".")  # fmt: skip
    _ok(*build, cwd=project, env=OFFLINE)
    import zipfile

    [wheel] = (project / "out").glob("*.whl")
    assert "clinic_soap/models.py" in zipfile.ZipFile(wheel).namelist()
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text().replace('mode = "generate"', 'mode = "check"')
    )
    (project / "clinic_soap" / "client.py").write_text("# Generated by medexempt, by hand\n")
    failed = _run(*build, cwd=project, env=OFFLINE)
    assert failed.returncode != 0
    assert "stale: clinic_soap/client.py" in failed.stdout + failed.stderr


def test_the_pre_commit_hooks_check_and_regenerate(tmp_path: Path, wheelhouse: Path) -> None:
    """pre-commit (from PyPI) installs the hooks from this repository's HEAD, offline (its hook
    environment is built from the wheelhouse): medexempt-check passes on a fresh project and fails
    on a stale one; medexempt-generate brings it back."""
    python = _fresh_venv(tmp_path / "venv")
    _pip(python, "pre-commit", wheelhouse=wheelhouse, cwd=tmp_path)
    project = _project(
        Path(sys.executable).with_name("medexempt"), tmp_path / "clinic", "clinic_soap"
    )
    head = _ok("git", "rev-parse", "HEAD", cwd=ROOT).strip()
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {head}\n    hooks:\n"
        "      - id: medexempt-generate\n      - id: medexempt-check\n"
    )
    for command in (("init", "-q"), ("add", "-A")):
        _ok("git", *command, cwd=project)
    pre_commit = tmp_path / "venv" / "bin" / "pre-commit"
    env_home = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), **OFFLINE,
                "PIP_FIND_LINKS": str(wheelhouse)}  # fmt: skip
    first = _run(pre_commit, "run", "--all-files", cwd=project, env=env_home, timeout=900)
    # The first run generates the package (the hook changed files: pre-commit says failed).
    assert (project / "clinic_soap" / "models.py").is_file(), first.stdout + first.stderr
    _ok("git", "add", "-A", cwd=project)
    clean = _run(pre_commit, "run", "--all-files", cwd=project, env=env_home, timeout=900)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (project / "clinic_soap" / "client.py").write_text("# Generated by medexempt, by hand\n")
    check_only = _run(
        pre_commit, "run", "medexempt-check", "--all-files", cwd=project, env=env_home
    )
    assert check_only.returncode == 1 and "stale: clinic_soap/client.py" in check_only.stdout
