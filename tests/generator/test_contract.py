"""`medexempt diff` and `medexempt example`: one pair of schema versions per rule, each change's
class and path, and an end-to-end check that the classification agrees with reality.

For every pair the old and the new schemas are generated into packages; each side's example
message is validated against the other side's schemas and read by the other side's generated
codec. A side refuses the other's message exactly when the diff says the change breaks it (the
XSD), and its codec refuses it exactly when the diff says our codecs do.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner
from lxml import etree

from medexempt.cli import main
from medexempt.generator.contract import RECEIVERS, SENDERS, compare, read_contract
from medexempt.generator.example import example_message
from medexempt.generator.model import Project
from medexempt.generator.render import render
from medexempt.generator.write import write
from medexempt.generator.xmlfiles import compile_validator, schema_closure, staged
from tests.constructs import contract as construct_contract
from tests.constructs import load_construct_cases
from tests.support import XSD

# Two versions of a schema generated and imported per rule, and every construct case's examples:
# a system run (`pytest tests/generator` after a change to the generator).
pytestmark = pytest.mark.system

NS = "urn:test:contract"
SERVICE = "CONTRACT_TEST"
GATEWAY_NS = "http://bip.bee.kz/SyncChannel/v10/Types"

# The request type of version 1; each rule edits it (or adds types) for version 2.
BASE = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:test:contract"
           targetNamespace="urn:test:contract">
  <xs:complexType name="Request">
    <xs:sequence>
      <xs:element name="id" type="xs:string"/>
{request}
    </xs:sequence>
{attributes}
  </xs:complexType>
{types}
  <xs:complexType name="Response">
    <xs:sequence>
      <xs:element name="ok" type="xs:boolean"/>
    </xs:sequence>
  </xs:complexType>
</xs:schema>
"""


@dataclass(frozen=True)
class Rule:
    name: str
    old: dict[str, str]  # the {request} / {attributes} / {types} parts of version 1
    new: dict[str, str]
    expected: str  # the classification of the change at `path`
    path: str
    what: str  # a word of the change's description
    mode: str = "maximal"  # the examples that show the change

    def schema(self, version: dict[str, str]) -> str:
        parts = {"request": "", "attributes": "", "types": ""} | version
        return BASE.format(**parts)


def _el(text: str) -> dict[str, str]:
    return {"request": "      " + text}


def _typed(element: str, type_name: str, base: str, *facets: str) -> dict[str, str]:
    """`element` of a simple type `type_name`: `base` restricted by `facets` ("maxLength=5")."""
    restriction = "".join(
        f'<xs:{facet.partition("=")[0]} value="{facet.partition("=")[2]}"/>' for facet in facets
    )
    simple = (
        f'<xs:simpleType name="{type_name}"><xs:restriction base="{base}">{restriction}'
        "</xs:restriction></xs:simpleType>"
    )
    return _el(f'<xs:element name="{element}" type="tns:{type_name}"/>') | {"types": simple}


def _person(type_name: str) -> dict[str, str]:
    person = (
        f'<xs:complexType name="{type_name}"><xs:sequence>'
        '<xs:element name="name" type="xs:string"/></xs:sequence></xs:complexType>'
    )
    return _el(f'<xs:element name="who" type="tns:{type_name}"/>') | {"types": person}


def _noted(words: str) -> dict[str, str]:
    return _el(
        '<xs:element name="note" type="xs:string"><xs:annotation>'
        f"<xs:documentation>{words}</xs:documentation></xs:annotation></xs:element>"
    )


NOTE = '<xs:element name="note" type="xs:string"/>'
OPTIONAL_NOTE = '<xs:element name="note" type="xs:string" minOccurs="0"/>'
STRING_COUNT = '<xs:element name="count" type="xs:string"/>'
INT_COUNT = '<xs:element name="count" type="xs:int"/>'
A_B = '<xs:element name="a" type="xs:string"/><xs:element name="b" type="xs:string"/>'
B_A = '<xs:element name="b" type="xs:string"/><xs:element name="a" type="xs:string"/>'
TAGS = '<xs:element name="tag" type="xs:string" maxOccurs="unbounded"/>'
TAG = '<xs:element name="tag" type="xs:string"/>'
LANG = '<xs:attribute name="lang" type="xs:string"/>'
BOTH, SENDING, RECEIVING = (
    "breaking for senders and receivers",
    "breaking for senders",
    "breaking for receivers",
)

RULES = [
    Rule("new required element", {}, _el(NOTE), BOTH, "/Request/note", "required element added"),
    Rule("new optional element", {}, _el(OPTIONAL_NOTE), RECEIVING, "/Request/note",
         "optional element added"),
    Rule("removed optional element", _el(OPTIONAL_NOTE), {}, SENDING, "/Request/note",
         "element removed"),
    Rule("removed required element", _el(NOTE), {}, BOTH, "/Request/note",
         "required element removed"),
    Rule("made required", _el(OPTIONAL_NOTE), _el(NOTE), SENDING, "/Request/note",
         "made required", mode="minimal"),
    Rule("made optional", _el(NOTE), _el(OPTIONAL_NOTE), RECEIVING, "/Request/note",
         "made optional", mode="minimal"),
    Rule("shorter maxLength", _typed("note", "Note", "xs:string", "maxLength=20"),
         _typed("note", "Note", "xs:string", "maxLength=5"), SENDING, "/Request/note",
         "max_length 20 -> 5"),
    Rule("longer maxLength", _typed("note", "Note", "xs:string", "maxLength=5"),
         _typed("note", "Note", "xs:string", "maxLength=20"), RECEIVING, "/Request/note",
         "max_length 5 -> 20"),
    Rule("fewer enumeration values",
         _typed("kind", "Kind", "xs:string", "enumeration=A", "enumeration=B"),
         _typed("kind", "Kind", "xs:string", "enumeration=A"), SENDING, "/Request/kind",
         "enumeration values removed: B"),
    Rule("new enumeration value", _typed("kind", "Kind", "xs:string", "enumeration=A"),
         _typed("kind", "Kind", "xs:string", "enumeration=A", "enumeration=B"), RECEIVING,
         "/Request/kind", "enumeration values added: B"),
    Rule("a pattern", _el('<xs:element name="code" type="xs:string"/>'),
         _typed("code", "Code", "xs:string", "pattern=[0-9]{4}"), SENDING, "/Request/code",
         "pattern (none) -> [0-9]{4}"),
    Rule("a lower maxInclusive", _typed("level", "Level", "xs:int", "maxInclusive=100"),
         _typed("level", "Level", "xs:int", "maxInclusive=5"), SENDING, "/Request/level",
         "max_inclusive 100 -> 5"),
    Rule("a string made a number", _el(STRING_COUNT), _el(INT_COUNT), SENDING, "/Request/count",
         "value type changed: str -> int"),
    Rule("a number made a string", _el(INT_COUNT), _el(STRING_COUNT), RECEIVING,
         "/Request/count", "value type changed: int -> str"),
    Rule("order changed", _el(A_B), _el(B_A), BOTH, "/Request/a", "order of the sequence changed"),
    Rule("fewer occurrences", _el(TAGS), _el(TAG), SENDING, "/Request/tag",
         "maxOccurs unbounded -> 1"),
    Rule("more occurrences", _el(TAG), _el(TAGS), RECEIVING, "/Request/tag",
         "maxOccurs 1 -> unbounded"),
    Rule("new optional attribute", {}, {"attributes": LANG}, RECEIVING, "/Request/@lang",
         "optional attribute added"),
    Rule("documentation", _noted("old"), _noted("new words"), "compatible", "/Request/note",
         "documentation changed"),
    Rule("a type renamed, the same wire form", _person("Person"), _person("Human"), "compatible",
         "/Request/who", "type renamed Person -> Human"),
    Rule("a default added", _el(OPTIONAL_NOTE),
         _el('<xs:element name="note" type="xs:string" minOccurs="0" default="x"/>'),
         "compatible", "/Request/note", "default None -> 'x'"),
]  # fmt: skip


def _folder(root: Path, xsd: str) -> Path:
    root.mkdir(parents=True)
    (root / "payload.xsd").write_text(xsd, encoding="utf-8")
    shutil.copytree(XSD / "shep", root / "shep")
    (root / "services.toml").write_text(
        '[gateway]\nschema = "shep/SyncChannel.xsd"\n\n[[services]]\n'
        f'id = "{SERVICE}"\nschema = "payload.xsd"\n'
        f'request = "{{{NS}}}Request"\nresponse = "{{{NS}}}Response"\n',
        encoding="utf-8",
    )
    return root


def _pair(rule: Rule, tmp_path: Path) -> tuple[Path, Path]:
    return _folder(tmp_path / "v1", rule.schema(rule.old)), _folder(
        tmp_path / "v2", rule.schema(rule.new)
    )


def _diff(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["diff", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_the_table_and_no_change(tmp_path: Path) -> None:
    rule = RULES[0]
    old, new = _pair(rule, tmp_path)
    code, output = _diff(str(old), str(new))
    assert code == 1
    heading = "breaking for senders and receivers: CONTRACT_TEST request /Request/note"
    assert f"{heading}: required element added" in output
    assert "at new payload.xsd:" in output and "our codecs refuse it too" in output
    code, output = _diff(str(old), str(old))
    assert (code, output.strip()) == (0, "no change to the wire contract")
    code, output = _diff(str(old), str(tmp_path / "missing"))
    assert code == 2 and "no such manifest" in output


# --- End to end: the generated codecs and the schemas agree with the classification ---------------


def _package(project: Project, src: Path) -> ModuleType:
    """The package `generate` writes for `project`, imported (under the project's own name)."""
    write(render(project), src / project.package)
    sys.path.insert(0, str(src))
    try:
        return importlib.import_module(project.package)
    finally:
        sys.path.remove(str(src))


def _validator(folder: Path, schema: str = "payload.xsd") -> etree.XMLSchema:
    entries = [folder / "shep" / "SyncChannel.xsd", folder / schema]
    with staged(schema_closure(entries, folder)) as stage:
        return compile_validator(stage, folder)


def _valid(validator: etree.XMLSchema, message: bytes) -> bool:
    body = etree.fromstring(message)[0][0]
    return bool(validator.validate(etree.ElementTree(body)))


def _codec_reads(package: ModuleType, message: bytes) -> bool:
    try:
        package.read_request(message)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_each_rule_is_classified_and_the_codecs_agree(rule: Rule, tmp_path: Path) -> None:
    """The change's class, message, path and lines; then the end-to-end check of the module's
    docstring. Each side is loaded once (the packages are rendered from the same load)."""
    old, new = _pair(rule, tmp_path)
    minimal = rule.mode == "minimal"
    with (
        read_contract(old, old / "services.toml") as before,
        read_contract(new, new / "services.toml") as after,
    ):
        changes = compare(before, after)
        old_message = example_message(before, SERVICE, "request", minimal=minimal)
        new_message = example_message(after, SERVICE, "request", minimal=minimal)
        old_package = _package(before.project, tmp_path / "src")
        new_package = _package(after.project, tmp_path / "src")
    shown = [c.as_json() for c in changes]  # what `diff --json` prints
    found = [c for c in shown if c["path"] == rule.path and rule.what in c["change"]]
    assert found, (rule.name, shown)
    change = found[0]
    assert change["class"] == rule.expected, change
    assert change["message"] == f"{SERVICE} request"
    sides = [side for side in (change["old"], change["new"]) if side]
    assert sides and all(side.startswith("payload.xsd:") for side in sides), change

    senders = [c for c in changes if SENDERS in c.breaks]
    receivers = [c for c in changes if RECEIVERS in c.breaks]
    # A new receiver and an old sender's message; an old receiver and a new sender's.
    assert _valid(_validator(new), old_message) == (not senders), (rule.name, changes)
    assert _valid(_validator(old), new_message) == (not receivers), (rule.name, changes)
    refused_by_new = any(c.refused_by_codecs for c in senders)
    refused_by_old = any(c.refused_by_codecs for c in receivers)
    assert _codec_reads(new_package, old_message) == (not refused_by_new), (rule.name, changes)
    assert _codec_reads(old_package, new_message) == (not refused_by_old), (rule.name, changes)


# --- git revisions, and check --against ------------------------------------------------------


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_diff_against_a_git_revision_and_check_against(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    rule = RULES[1]  # a new optional element: breaking for receivers
    _folder(project / "xsd", rule.schema(rule.old))
    _git(project, "init", "-q")
    _git(project, "-c", "user.email=t@example.kz", "-c", "user.name=t", "add", ".")
    _git(project, "-c", "user.email=t@example.kz", "-c", "user.name=t", "commit", "-qm", "v1")
    monkeypatch.chdir(project)
    code, output = _diff()
    assert (code, output.strip()) == (0, "no change to the wire contract")
    # [tool.medexempt]'s xsd-dir and manifest are where diff and example look, as generate does.
    (project / "xsd").rename(project / "contract")
    (project / "contract" / "services.toml").rename(project / "contract" / "library.toml")
    (project / "pyproject.toml").write_text(
        '[tool.medexempt]\nxsd-dir = "contract"\nmanifest = "contract/library.toml"\n'
    )
    _git(project, "-c", "user.email=t@example.kz", "-c", "user.name=t", "add", "-A")
    _git(project, "-c", "user.email=t@example.kz", "-c", "user.name=t", "commit", "-qm", "moved")
    assert _diff() == (0, "no change to the wire contract\n")
    shown = CliRunner().invoke(main, ["example", "request"])
    assert shown.exit_code == 0 and "CONTRACT_TEST" in shown.output, shown.output
    (project / "contract" / "payload.xsd").write_text(rule.schema(rule.new), encoding="utf-8")
    code, output = _diff("--git", "HEAD")
    assert code == 1 and "breaking for receivers" in output, output
    out = ["--out", "src/contract_pkg"]
    result = CliRunner().invoke(main, ["generate", *out])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["check", *out, "--against", "HEAD"])
    assert result.exit_code == 1 and "/Request/note" in result.output, result.output
    result = CliRunner().invoke(main, ["check", *out, "--against", "no-such-revision"])
    assert result.exit_code == 2, result.output


# --- Examples -------------------------------------------------------------------------------


def test_examples_of_our_service_validate_and_are_deterministic() -> None:
    runner = CliRunner()
    validator = _validator(XSD, "MedicalExemptionSearch.xsd")
    for args in (["request"], ["response"], ["request", "--minimal"], ["response", "--soap12"]):
        result = runner.invoke(main, ["example", *args, "--xsd-dir", str(XSD)])
        assert result.exit_code == 0, result.output
        message = result.output.encode("utf-8")
        assert _valid(validator, message)
        again = runner.invoke(main, ["example", *args, "--xsd-dir", str(XSD)])
        assert again.output == result.output
    other = runner.invoke(main, ["example", "request", "--seed", "7", "--xsd-dir", str(XSD)])
    assert other.output != runner.invoke(main, ["example", "request", "--xsd-dir", str(XSD)]).output


def test_an_example_has_realistic_values() -> None:
    from medexempt.exemptions.iin import is_valid

    result = CliRunner().invoke(main, ["example", "request", "--xsd-dir", str(XSD)])
    root = etree.fromstring(result.output.encode("utf-8"))
    data = root.find(".//data")
    assert data is not None
    assert data.get("{http://www.w3.org/2001/XMLSchema-instance}type", "").endswith(
        ":MedicalExemptionSearchRequest"
    )
    iin = data.findtext("iin")
    assert iin is not None and is_valid(iin), iin
    assert root.findtext(".//messageDate", "").endswith("+05:00")
    assert root.findtext(".//serviceId") == "EHEALTH_MEDICAL_EXEMPTION_SEARCH"


def test_example_refusals_say_why() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["example", "NoSuchType", "--xsd-dir", str(XSD)])
    assert result.exit_code == 2 and "no service's request or response type" in result.output
    result = runner.invoke(main, ["example", "request", "--service", "NOPE", "--xsd-dir", str(XSD)])
    assert result.exit_code == 2 and "no service 'NOPE'" in result.output


_CASES = [case for case in load_construct_cases() if case.refused is None]


@pytest.mark.parametrize("case", _CASES, ids=[case.name for case in _CASES])
def test_examples_of_every_construct_case_validate(case: object, tmp_path: Path) -> None:
    """Every schema set of the generality corpus gives valid examples, both roles, both modes."""
    folder = construct_contract(case, tmp_path)  # type: ignore[arg-type]
    with read_contract(folder, folder / "services.toml") as contract:
        entries = [folder / case.gateway_schema] + [folder / s["schema"] for s in case.services]  # type: ignore[attr-defined]
        with staged(schema_closure(entries, folder)) as stage:
            validator = compile_validator(stage, folder)
        for service in contract.project.services:
            for role in ("request", "response"):
                for minimal in (False, True):
                    message = example_message(contract, service.id, role, minimal=minimal)
                    assert _valid(validator, message), (service.id, role, minimal)


def test_examples_of_a_schema_written_on_one_line_validate(tmp_path: Path) -> None:
    """Choices and their alternatives are told apart by their place, not their line."""
    case = next(c for c in _CASES if c.name == "written-valid")
    folder = construct_contract(case, tmp_path)
    schema = folder / "payload.xsd"
    parser = etree.XMLParser(remove_blank_text=True, remove_comments=True)
    schema.write_bytes(etree.tostring(etree.parse(str(schema), parser)))
    assert schema.read_bytes().count(b"\n") == 0
    with read_contract(folder, folder / "services.toml") as contract:
        for role in ("request", "response"):
            assert _valid(_validator(folder), example_message(contract, "CASE_WRITTEN_VALID", role))


def test_the_diff_of_a_real_change_to_our_xsd(tmp_path: Path) -> None:
    """Our own service: the number made required would break senders that search by IIN."""
    old = tmp_path / "old"
    shutil.copytree(XSD, old)
    new = tmp_path / "new"
    shutil.copytree(XSD, new)
    schema = new / "MedicalExemptionSearch.xsd"
    text = schema.read_text(encoding="utf-8")
    schema.write_text(
        text.replace(
            '<xs:element name="number" type="xs:string" minOccurs="0">',
            '<xs:element name="number" type="xs:string">',
            1,
        ),
        encoding="utf-8",
    )
    code, output = _diff(str(old), str(new), "--json")
    assert code == 1
    # docs/contract.md shows this very run as a table.
    docs = (XSD.parent / "docs" / "how-to" / "upgrade-the-xsd.md").read_text(encoding="utf-8")
    shown = docs.split("$ medexempt diff old/ new/\n", 1)[1].split("```", 1)[0]
    assert _diff(str(old), str(new))[1] == shown
    (change,) = json.loads(output)
    assert change["path"] == "/MedicalExemptionSearchRequest/number"
    assert change["class"] == "breaking for senders"
    assert change["old"] == change["new"] == "MedicalExemptionSearch.xsd:10"
