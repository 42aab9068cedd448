"""The generator's commands: generate bindings and check that they are up to date."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .errors import GeneratorError, closest_known
from .load import load
from .model import Service
from .render import GeneratedFile, render
from .write import stale, write

EXIT_STALE = 1
EXIT_ERROR = 2
_COMMAND_LINE = click.core.ParameterSource.COMMANDLINE
_DEFAULT_MAP = click.core.ParameterSource.DEFAULT_MAP


@dataclass(frozen=True)
class Target:
    """Where the generator reads from and writes to."""

    xsd_dir: Path
    manifest: Path
    out: Path
    package: str

    def files(self) -> list[GeneratedFile]:
        import dataclasses

        project = load(self.xsd_dir, self.manifest, self.package)
        return render(dataclasses.replace(project, command=self.command()))

    def command(self) -> str:
        """`medexempt generate` with what differs from a bare run in the project's folder (the
        nearest one above the output with a pyproject.toml, else the output's parent), and that
        folder: no options when its [tool.medexempt] says it all. The same for generate and
        check, however the options were given."""
        import shlex

        out = self.out.resolve()
        project = next((d for d in out.parents if (d / "pyproject.toml").is_file()), None)
        root = project or out.parent
        table = _project_settings(root) if (root / "pyproject.toml").is_file() else {}
        # What each option resolves to without its flag, as generate resolves it.
        xsd_dir = (root / table.get("xsd_dir", "xsd")).resolve()
        flags: dict[str, str] = {}
        if self.xsd_dir.resolve() != xsd_dir:
            flags["--xsd-dir"] = self._relative(self.xsd_dir, root)
        manifest = (
            root / table["manifest"] if "manifest" in table else self.xsd_dir / "services.toml"
        )
        if self.manifest.resolve() != manifest.resolve():
            flags["--manifest"] = self._relative(self.manifest, root)
        if out != (root / table.get("out", "generated")).resolve():
            flags["--out"] = self._relative(self.out, root)
        package = table.get("package") if "--out" not in flags else None
        if self.package != (package or out.name):
            flags["--package"] = self.package
        words = ["medexempt", "generate"]
        for flag, value in flags.items():
            words += [flag, value]
        where = "the folder of pyproject.toml" if project else "the folder that holds the package"
        return f"`{shlex.join(words)}` in {where}"

    @staticmethod
    def _relative(path: Path, root: Path) -> str:
        import os

        return Path(os.path.relpath(path.resolve(), root)).as_posix()


def _xsd_dir_option(help: str) -> Callable[[click.decorators.FC], click.decorators.FC]:
    """--xsd-dir, as every command that reads the contract folder takes it."""
    return click.option(
        "--xsd-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("xsd"),
        show_default=True,
        help=help,
    )


class _DerivedDefault(click.Option):
    """An option whose default follows another's (`derived`, shown in the help) unless
    [tool.medexempt] sets it, when the help shows that value, as it does for the other options."""

    def __init__(self, *args: Any, derived: str, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "show_default": True})
        self.derived = derived

    def get_help_extra(self, ctx: click.Context) -> Any:
        extra = super().get_help_extra(ctx)
        extra.setdefault("default", self.derived)
        return extra


def _target_options(func: click.decorators.FC) -> click.decorators.FC:
    options = [
        _xsd_dir_option("Folder of the XSD files."),
        click.option(
            "--manifest",
            cls=_DerivedDefault,
            derived="XSD_DIR/services.toml",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="The services manifest.",
        ),
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("generated"),
            show_default=True,
            help="Folder of the generated package.",
        ),
        click.option(
            "--package",
            cls=_DerivedDefault,
            derived="the --out folder's name",
            default=None,
            help="Import name of the generated package.",
        ),
        click.option(
            "--allow-shadowed-name",
            is_flag=True,
            help="Write even when an installed module has the package's import name (warned).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _target(
    xsd_dir: Path, manifest: Path | None, out: Path, package: str | None, shadowed_ok: bool = False
) -> Target:
    context = click.get_current_context(silent=True)
    if context is not None:
        sources = {key: context.get_parameter_source(key) for key in ("out", "package")}
        table_out = (context.default_map or {}).get("out")
        if (sources["out"], sources["package"]) == (_COMMAND_LINE, _DEFAULT_MAP) and (
            table_out is None or Path(table_out).resolve() != out.resolve()
        ):
            package = None  # [tool.medexempt]'s package names its out, not another one given here
    name = package or out.resolve().name
    if not all(part.isidentifier() for part in name.split(".")):
        where = "--package" if package else f"the --out folder's name {name!r}"
        raise click.BadParameter(f"{where} is not a Python import name; give --package NAME")
    shadow = _taken(name, out)
    if shadow is not None:
        said = (
            f"the import name {name!r} is taken in this environment by {shadow}: "
            f"`import {name.split('.')[0]}` could find that instead of the package written to {out}"
        )
        if not shadowed_ok:
            click.echo(f"error: {said}; choose another --out folder name or --package", err=True)
            sys.exit(EXIT_ERROR)
        click.echo(f"warning: {said}", err=True)
    return Target(
        xsd_dir=xsd_dir,
        manifest=manifest or xsd_dir / "services.toml",
        out=out,
        package=name,
    )


def _taken(package: str, out: Path) -> str | None:
    """Where an installed or standard-library module of the package's top-level name lives,
    unless it is the very folder being written (a project installed in editable mode)."""
    import importlib.util

    top = package.split(".")[0]
    if top in sys.builtin_module_names:
        return "a built-in module"
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    # Where `import package` lands through the installed top-level package (links followed):
    # the folder being written is fine, anything else takes the name.
    rest = package.split(".")[1:]
    found = list(spec.submodule_search_locations or []) or ([spec.origin] if spec.origin else [])
    places = [Path(place, *rest) for place in found if Path(place).is_absolute()]
    if any(place.resolve() == out.resolve() for place in places):
        return None
    return ", ".join(str(place) for place in places) or f"the module {top}"


class _ProjectCommand(click.Command):
    """A command whose option defaults are the `[tool.medexempt]` settings of the nearest
    pyproject.toml that it takes (`takes`: the option names); the command line overrides them."""

    def __init__(self, *args: Any, takes: frozenset[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.takes = takes

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if "default_map" not in extra:
            settings = _project_settings(Path.cwd())
            defaults = {k: v for k, v in settings.items() if k in self.takes}
            handed = parent.default_map if parent is not None else None
            if handed is not None and info_name is not None:  # a caller's defaults win
                defaults |= handed.get(info_name) or {}
            extra["default_map"] = defaults
        return super().make_context(info_name, args, parent, **extra)


@click.group()
@click.version_option(__version__, prog_name="medexempt")
def main() -> None:
    """The generator's commands (the `medexempt` command gathers them with the service's:
    medexempt/cli.py).

    `generate` and `check` take their options from `[tool.medexempt]` of the nearest
    pyproject.toml (keys xsd-dir, manifest, out, package; paths relative to that file), and
    the command line overrides them; `diff` and `example` take its xsd-dir and manifest."""


# [tool.medexempt] keys, and the option each one sets.
SETTINGS = {"xsd-dir": "xsd_dir", "manifest": "manifest", "out": "out", "package": "package"}


def _project_settings(start: Path) -> dict[str, str]:
    """The options `[tool.medexempt]` of the nearest pyproject.toml sets, paths made relative to
    `start`; exit 2 naming the file and the key when the table is wrong."""
    import os
    import tomllib

    found = next(
        (d / "pyproject.toml" for d in (start, *start.parents) if (d / "pyproject.toml").is_file()),
        None,
    )
    if found is None:
        return {}

    def refuse(message: str) -> NoReturn:
        click.echo(f"error: {found}: {message}", err=True)
        sys.exit(EXIT_ERROR)

    try:
        document = tomllib.loads(found.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        refuse(f"not valid TOML: {exc}")
    tool = document.get("tool", {})
    table = tool.get("medexempt", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        refuse("[tool.medexempt] must be a table")
    settings = {}
    for key, value in table.items():
        if key not in SETTINGS:
            refuse(f"unknown key {key!r} in [tool.medexempt]{closest_known(key, list(SETTINGS))}")
        if not isinstance(value, str) or not value:
            refuse(f"[tool.medexempt] {key} must be a non-empty string")
        if key == "package":
            settings[SETTINGS[key]] = value
        else:
            settings[SETTINGS[key]] = os.path.relpath(found.parent / value, start)
    return settings


@main.command(cls=_ProjectCommand, takes=frozenset(SETTINGS.values()))
@_target_options
def generate(
    xsd_dir: Path, manifest: Path | None, out: Path, package: str | None, allow_shadowed_name: bool
) -> None:
    """Generate the typed package (models, codecs, WSDL) from the XSD folder."""
    target = _target(xsd_dir, manifest, out, package, allow_shadowed_name)
    try:
        changes = write(target.files(), target.out)
    except GeneratorError as exc:
        _fail(exc)
    except Exception as exc:  # a bug of ours: still exit 2, with what happened
        _crash(exc)
    for path in changes.written:
        click.echo(f"wrote {target.out / path}")
    for path in changes.removed:
        click.echo(f"removed {target.out / path}")
    click.echo(f"{target.out}: {len(changes.written) + len(changes.removed)} file(s) changed")


@main.command(cls=_ProjectCommand, takes=frozenset(SETTINGS.values()))
@_target_options
@click.option(
    "--against",
    metavar="REV",
    default=None,
    help="Also fail (exit 1) when the XSD breaks the wire contract of this git revision.",
)
def check(
    xsd_dir: Path,
    manifest: Path | None,
    out: Path,
    package: str | None,
    allow_shadowed_name: bool,
    against: str | None,
) -> None:
    """Exit 0 if the generated package is up to date, 1 if stale (naming the files), 2 on error.

    With --against REV, also 1 when the schemas break senders or receivers of REV's contract
    (`medexempt diff --git REV`).
    """
    target = _target(xsd_dir, manifest, out, package, allow_shadowed_name)
    try:
        differ = stale(target.files(), target.out)
    except GeneratorError as exc:
        _fail(exc)
    except Exception as exc:  # a bug of ours: never "stale" (1), always an error (2)
        _crash(exc)
    if differ:
        for path in differ:
            click.echo(f"stale: {target.out / path}", err=True)
        click.echo(f"run `{_generate_command()}` to bring it up to date", err=True)
        sys.exit(EXIT_STALE)
    click.echo(f"{target.out} is up to date")
    if against is not None:
        status = _diff_revision(target.xsd_dir, target.manifest, against, as_json=False)
        sys.exit(status)


def _generate_command() -> str:
    """`medexempt generate` with the options this check was given, as a shell command."""
    import shlex

    context = click.get_current_context()
    words = ["medexempt", "generate"]
    for name, flag in (("xsd_dir", "--xsd-dir"), ("manifest", "--manifest"), ("out", "--out"),
                       ("package", "--package"),
                       ("allow_shadowed_name", "--allow-shadowed-name")):  # fmt: skip
        source = context.get_parameter_source(name)
        value = context.params.get(name)
        # What [tool.medexempt] sets, the same command finds again; only the command line's own.
        if source is not click.core.ParameterSource.COMMANDLINE:
            continue
        if value is True:
            words.append(flag)
        elif value not in (None, False):
            words += [flag, str(value)]
    return shlex.join(words)


def _fail(exc: GeneratorError) -> NoReturn:
    for problem in exc.problems:
        click.echo(f"error: {problem}", err=True)
    sys.exit(EXIT_ERROR)


def _crash(exc: Exception) -> NoReturn:
    click.echo(f"error: the generator failed: {type(exc).__name__}: {exc}", err=True)
    sys.exit(EXIT_ERROR)


@main.command()
@click.option(
    "--from",
    "sources",
    required=True,
    multiple=True,
    help="The service's XSD or WSDL: a path or an http(s) URL (repeatable: request and response "
    "schemas apart).",
)
@click.option(
    "--service-id", required=True, help="The serviceId the gateway routes the service by."
)
@click.option(
    "--package", default=None, help="Import name to generate  [default: from the type names]."
)
@click.option("--request", default=None, help="The request type, {namespace}Name or Name.")
@click.option("--response", default=None, help="The response type, {namespace}Name or Name.")
def init(
    sources: tuple[str, ...],
    service_id: str,
    package: str | None,
    request: str | None,
    response: str | None,
) -> None:
    """Start a service project here: xsd/ with the gateway and the service's schemas,
    xsd/services.toml, and [tool.medexempt] in pyproject.toml. Never overwrites."""
    from .init import manifest, plan, snake

    project = Path.cwd()
    xsd = project / "xsd"
    pyproject = project / "pyproject.toml"
    if xsd.is_dir() and any(xsd.iterdir()):
        _stop(f"{xsd} already holds files; init writes only into an empty or missing xsd/")
    if pyproject.is_file() and re.search(r"(?m)^\[tool\.medexempt\]", pyproject.read_text()):
        _stop(f"{pyproject} already has a [tool.medexempt] table")
    try:
        planned = plan(list(sources), service_id, request, response)
    except GeneratorError as exc:
        _fail(exc)
    name = package or snake(planned.name)
    if not all(part.isidentifier() for part in name.split(".")):
        _stop(f"{name!r} is not a Python import name; give --package NAME")
    out = ("src/" if (project / "src").is_dir() else "") + name.replace(".", "/")
    shadow = _taken(name, project / out)
    if shadow is not None:
        _stop(f"the import name {name!r} is taken in this environment by {shadow}; give --package")
    for relative, content in sorted(planned.files.items()):
        path = xsd / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (xsd / "services.toml").write_text(manifest(planned), encoding="utf-8")
    table = f'[tool.medexempt]\nxsd-dir = "xsd"\nout = "{out}"\n'
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
        pyproject.write_text(text + ("" if text.endswith("\n") else "\n") + "\n" + table)
    else:
        pyproject.write_text(f'[project]\nname = "{project.name}"\nversion = "0.1.0"\n\n{table}')
    click.echo(
        f"wrote {len(planned.files) + 1} file(s) under {xsd}, and [tool.medexempt] in {pyproject}"
    )
    click.echo(f"service {service_id}: {planned.request} -> {planned.response}")
    click.echo("next: `medexempt generate`, and set [wsdl] address in xsd/services.toml")


def _stop(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@main.command()
@click.argument("message", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--package",
    default=None,
    help="The generated package to read it with  [default: [tool.medexempt]'s package, or the "
    "out folder's name].",
)
def inspect(message: Path, package: str | None) -> None:
    """Read a SOAP message with a generated package and print what it holds, as JSON.

    Exit 0 when it reads, 1 when it is refused (the reason and the element path are printed),
    2 when there is no package to read it with.
    """
    from .inspection import describe_message

    settings = _project_settings(Path.cwd())
    out = Path(settings["out"]) if "out" in settings else None
    name = package or settings.get("package") or (out.resolve().name if out else None)
    if name is None:
        _stop("give --package NAME (no [tool.medexempt] in a pyproject.toml here says which)")
    parts = tuple(name.split("."))
    if out is not None and out.resolve().parts[-len(parts) :] == parts:
        # The project's own package, importable from where it is written.
        sys.path.insert(0, str(out.resolve().parents[len(parts) - 1]))
    try:
        click.echo(describe_message(message.read_bytes(), name))
    except (ImportError, LookupError) as exc:
        _stop(f"cannot read with {name}: {exc}")
    except ValueError as exc:
        click.echo(f"refused: {exc}", err=True)
        sys.exit(1)


@main.command("verify-signature")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--trust",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A certificate or CA (PEM or DER, RSA or GOST) the signer must chain to (repeatable).",
)
@click.option(
    "--at",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Check the certificates' dates at this UTC time instead of now (with --trust).",
)
def verify_signature(file: Path, trust: tuple[Path, ...], at: datetime | None) -> None:
    """Verify the signatures of a signed XML file: a WS-Security SOAP message or an enveloped
    document (as НУЦ's SDK signs them), RSA-SHA256 or GOST 34.10-2015 (512).

    Prints the algorithm, the signer's subject and serial. Exit 0 valid (and trusted, with
    --trust), 1 invalid or untrusted (the reason is printed), 2 unreadable. Without --trust the
    signature is checked against the certificate in KeyInfo and the chain is not checked.
    """
    from .signatures import verify_file

    when = at.replace(tzinfo=UTC) if at is not None else None
    report = verify_file(file, trust, when)
    for line in report.lines:
        click.echo(line, err=report.status != 0 and line is report.lines[0])
    sys.exit(report.status)


@main.command(cls=_ProjectCommand, takes=frozenset({"xsd_dir", "manifest"}))
@click.argument("old", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.argument("new", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--git",
    "revision",
    metavar="REV",
    default=None,
    help="Compare the XSD folder with its state at this git revision  [default: HEAD].",
)
@_xsd_dir_option("The XSD folder, with --git.")
@click.option(
    "--manifest",
    default="services.toml",
    show_default=True,
    help="The manifest's file name in each folder (with --git, [tool.medexempt]'s manifest).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
@click.pass_context
def diff(
    ctx: click.Context,
    old: Path | None,
    new: Path | None,
    revision: str | None,
    xsd_dir: Path,
    manifest: str,
    as_json: bool,
) -> None:
    """What a new version of the schemas breaks: OLD and NEW XSD folders (each with its
    manifest), or the XSD folder against a git revision (--git REV; with no arguments, the
    working tree against HEAD).

    Each change of a message's wire contract is named by its element path and file:line on both
    sides and classified: breaking for senders (a message an old sender writes is refused by a
    new receiver), breaking for receivers (the other way), or compatible. Exit 0 no breaking
    change, 1 breaking changes, 2 error.
    """  # fmt: skip
    if (old is None) != (new is None) or (old is not None and revision is not None):
        raise click.UsageError("give OLD and NEW folders, or --git REV (or neither: HEAD)")
    # [tool.medexempt]'s manifest is a path (made relative to here); the option, a name in a folder.
    configured = ctx.get_parameter_source("manifest") is click.core.ParameterSource.DEFAULT_MAP
    if old is not None and new is not None:
        name = Path(manifest).name if configured else manifest
        sys.exit(_diff_folders(old, old / name, new, new / name, as_json))
    path = Path(manifest) if configured else xsd_dir / manifest
    sys.exit(_diff_revision(xsd_dir, path, revision or "HEAD", as_json=as_json))


def _diff_folders(
    old: Path, old_manifest: Path, new: Path, new_manifest: Path, as_json: bool
) -> int:
    import json

    from .contract import compare, read_contract, table

    for manifest in (old_manifest, new_manifest):
        if not manifest.is_file():
            click.echo(f"error: {manifest}: no such manifest", err=True)
            return EXIT_ERROR
    try:
        with read_contract(old, old_manifest) as before, read_contract(new, new_manifest) as after:
            changes = compare(before, after)
    except GeneratorError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        return EXIT_ERROR
    if as_json:
        click.echo(json.dumps([c.as_json() for c in changes], ensure_ascii=False, indent=2))
    else:
        click.echo(table(changes))
    return 1 if any(change.breaks for change in changes) else 0


def _diff_revision(xsd_dir: Path, manifest: Path, revision: str, *, as_json: bool) -> int:
    import tempfile

    from .contract import export_revision

    with tempfile.TemporaryDirectory(prefix="medexempt-diff-") as scratch:
        try:
            old, old_manifest = export_revision(xsd_dir, manifest, revision, Path(scratch))
        except ValueError as exc:
            click.echo(f"error: {exc}", err=True)
            return EXIT_ERROR
        return _diff_folders(old, old_manifest, xsd_dir, manifest, as_json)


@main.command(cls=_ProjectCommand, takes=frozenset({"xsd_dir", "manifest"}))
@click.argument("type_name", metavar="TYPE")
@click.option(
    "--service",
    "service_id",
    default=None,
    help="The serviceId whose request or response TYPE is (needed when several share it).",
)
@click.option("--minimal", "mode", flag_value="minimal", help="Only what the schemas require.")
@click.option(
    "--maximal",
    "mode",
    flag_value="maximal",
    default=True,
    help="Every optional part too  [default].",
)
@click.option("--soap12", is_flag=True, help="A SOAP 1.2 envelope (default SOAP 1.1).")
@click.option("--seed", type=int, default=1, show_default=True, help="Another seed, other values.")
@_xsd_dir_option("Folder of the XSD files.")
@click.option(
    "--manifest",
    cls=_DerivedDefault,
    derived="XSD_DIR/services.toml",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The services manifest.",
)
def example(
    type_name: str,
    service_id: str | None,
    mode: str,
    soap12: bool,
    seed: int,
    xsd_dir: Path,
    manifest: Path | None,
) -> None:
    """Print a complete SOAP message for a service's request or response: TYPE is the request or
    response type ({namespace}Name or Name), or `request` / `response` with --service. The
    message is valid against the schemas (it is validated before it is printed), with realistic
    values (a valid IIN, Almaty dates, xsi:type set), the same for the same --seed.
    """  # fmt: skip
    from .contract import read_contract
    from .example import example_message

    manifest_path = manifest or xsd_dir / "services.toml"
    try:
        with read_contract(xsd_dir, manifest_path) as contract:
            service, role = _example_target(contract.project.services, type_name, service_id)
            message = example_message(
                contract, service, role, minimal=mode == "minimal", soap12=soap12, seed=seed
            )
    except GeneratorError as exc:
        _fail(exc)
    except Exception as exc:  # a bug of ours: an error (2) with what to report
        _crash(exc)
    click.echo(message.decode("utf-8"), nl=False)


def _example_target(
    services: Sequence[Service], type_name: str, service_id: str | None
) -> tuple[str, str]:
    candidates = [s for s in services if service_id in (None, s.id)]
    if service_id is not None and not candidates:
        known = ", ".join(s.id for s in services)
        _stop(f"no service {service_id!r} in the manifest (known: {known})")
    if type_name in ("request", "response"):
        if service_id is None and len(candidates) != 1:
            _stop(f"`{type_name}` of which service? give --service ID")
        return candidates[0].id, type_name
    found = [
        (s.id, role)
        for s in candidates
        for role, qname in (("request", s.request_qname), ("response", s.response_qname))
        if type_name in (qname, qname.rpartition("}")[2])
    ]
    if not found:
        known = ", ".join(
            sorted({q for s in candidates for q in (s.request_qname, s.response_qname)})
        )
        _stop(f"{type_name!r} is no service's request or response type (known: {known})")
    if len({service for service, _ in found}) > 1:
        shared = ", ".join(service for service, _ in found)
        _stop(f"{type_name!r} belongs to several services ({shared}): give --service ID")
    return found[0]
