"""The wheel a user installs carries trustworthy metadata (issue 21, packaging).

The wheel is built for real (``pip wheel``, into a temporary directory) and its
``METADATA`` read back: classifiers, project URLs, the license file, the README as the
long description with links that work on a package index.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (built,) = out.glob("flowstone-*.whl")
    return zipfile.ZipFile(built)


def _metadata(wheel: zipfile.ZipFile) -> Message:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(name).decode())


def test_the_wheel_declares_its_classifiers_including_typed(wheel: zipfile.ZipFile) -> None:
    classifiers = _metadata(wheel).get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert any(c.startswith("Development Status ::") for c in classifiers)


def test_the_wheel_names_its_project_urls_and_author(wheel: zipfile.ZipFile) -> None:
    metadata = _metadata(wheel)
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Source", "Changelog"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
    assert metadata.get("Author") or metadata.get("Author-email")


def test_the_license_file_is_in_the_repository_and_the_wheel(wheel: zipfile.ZipFile) -> None:
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    metadata = _metadata(wheel)
    assert metadata.get("License-Expression") == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    (licensed,) = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    assert "MIT License" in wheel.read(licensed).decode()


def test_the_typed_markers_ship_for_both_packages(wheel: zipfile.ZipFile) -> None:
    assert {"flowstone/py.typed", "supervisors/py.typed"} <= set(wheel.namelist())


def test_the_long_description_says_what_flowstone_is_before_any_command(wheel: zipfile.ZipFile) -> None:
    text = _metadata(wheel).get_payload()
    assert isinstance(text, str)
    before_code = text.split("```", 1)[0]
    assert "data-orchestration library" in before_code
    assert "pip install" in text
    assert 'pip install "flowstone[postgres]"' in text


def test_readme_links_work_on_a_package_index() -> None:
    """Relative links break on PyPI: every link is absolute (or an in-page anchor)."""
    links = re.findall(r"\]\(([^)]+)\)", (ROOT / "README.md").read_text())
    assert links
    assert [link for link in links if not link.startswith(("https://", "#"))] == []
    source = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Source"]
    assert all(link.startswith(source) for link in links if "github.com" in link)


def test_there_is_a_changelog_with_an_unreleased_section() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog")
    assert "## Unreleased" in text
