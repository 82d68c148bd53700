"""The container image's recipe, read without building it (`make image-smoke` builds and runs it): the lock it
installs from pins what pyproject.toml declares, is closed, and holds the versions the tests run with; the
Containerfile keeps the runtime stage non-root, read-only friendly and labelled."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "image" / "requirements.lock"
CONTAINERFILE = ROOT / "Containerfile"


def locked() -> dict[str, str]:
    """image/requirements.lock as {canonical name: version}."""
    pins: dict[str, str] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(text) for text in project["dependencies"]]


def runtime_requirements(distribution: str) -> list[Requirement]:
    """What an installed distribution requires on the image's platform (Linux, CPython 3.11), extras left out."""
    requirements = [Requirement(text) for text in importlib.metadata.requires(distribution) or []]
    # evaluate() reads this interpreter's environment with `extra` empty: the image's, but for the patch version.
    return [req for req in requirements if req.marker is None or req.marker.evaluate()]


def stages() -> list[list[str]]:
    """The Containerfile's instructions (continuation lines joined, comments dropped), one list per stage."""
    text = re.sub(r"\\\n\s*", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    instructions = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    result: list[list[str]] = []
    for instruction in instructions:
        if instruction.startswith("FROM "):
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_the_lock_pins_every_declared_dependency_at_its_declared_version() -> None:
    pins = locked()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is declared in pyproject.toml but not in {LOCK.name}: make image-lock"
        assert requirement.specifier.contains(pins[name]), (
            f"{LOCK.name} pins {name}=={pins[name]}, pyproject.toml asks {requirement}: make image-lock"
        )


def test_the_lock_holds_what_every_locked_distribution_requires() -> None:
    pins = locked()
    missing = [
        f"{distribution} needs {requirement}"
        for distribution in [*pins, "nodewarden"]
        for requirement in runtime_requirements(distribution)
        if canonicalize_name(requirement.name) not in pins
        or not requirement.specifier.contains(pins[canonicalize_name(requirement.name)])
    ]
    assert not missing, f"{LOCK.name} is not closed: {missing}; make image-lock"


def test_the_image_installs_the_versions_the_tests_run_with() -> None:
    installed = {name: importlib.metadata.version(name) for name in locked()}
    assert installed == locked()


def test_both_stages_build_on_the_base_given_as_an_argument() -> None:
    builder, runtime = stages()
    assert builder[0] == "FROM ${BASE} AS builder"
    assert runtime[0] == "FROM ${BASE}"
    assert re.search(r"^ARG BASE=\S+python:3\.11-slim", CONTAINERFILE.read_text(encoding="utf-8"), re.MULTILINE)


def test_the_runtime_stage_takes_only_the_venv_and_the_state_dir_from_the_builder() -> None:
    runtime = stages()[-1]
    copies = [instruction for instruction in runtime if instruction.startswith(("COPY", "ADD"))]
    assert copies
    assert all("--from=builder" in copy for copy in copies), copies
    assert not [instruction for instruction in runtime if instruction.startswith("RUN")]


@pytest.mark.parametrize(
    "instruction",
    [
        "USER 65532:65532",
        'ENTRYPOINT ["nodewarden"]',
        "WORKDIR /var/lib/nodewarden",
    ],
)
def test_the_runtime_stage_sets(instruction: str) -> None:
    assert instruction in stages()[-1]


def test_the_runtime_stage_never_writes_bytecode_and_has_a_writable_home() -> None:
    env = " ".join(instruction for instruction in stages()[-1] if instruction.startswith("ENV "))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "HOME=/tmp" in env


def test_the_image_carries_the_oci_labels() -> None:
    labels = " ".join(instruction for instruction in stages()[-1] if instruction.startswith("LABEL "))
    for key in ("title", "description", "source", "version", "revision", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels, key
