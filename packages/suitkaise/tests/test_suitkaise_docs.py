"""The documentation builds, its examples run as shown, and the repo's entry points agree.

Convention for code blocks in ``docs/**/*.md`` and ``README.md``: every ```` ```python ````
block is run as a standalone script in a fresh interpreter (cwd: a temporary folder). When a
```` ```text ```` block follows it directly, that block is the expected stdout. Blocks that must
not run use ```` ```py ````.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)


def _blocks() -> list[tuple[str, str, str | None]]:
    found = []
    files = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    for path in files:
        text = path.read_text(encoding="utf-8")
        matches = list(FENCE.finditer(text))
        for i, m in enumerate(matches):
            if m.group(1) != "python":
                continue
            expected = None
            nxt = matches[i + 1] if i + 1 < len(matches) else None
            if nxt and nxt.group(1) == "text" and not text[m.end() : nxt.start()].strip():
                expected = nxt.group(2)
            line = text.count("\n", 0, m.start()) + 1
            found.append((f"{path.relative_to(REPO)}:{line}", m.group(2), expected))
    return found


BLOCKS = _blocks()


@pytest.mark.parametrize(("where", "code", "expected"), BLOCKS, ids=[b[0] for b in BLOCKS])
def test_docs_example_runs(where: str, code: str, expected: str | None, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, f"{where} failed:\n{done.stdout}\n{done.stderr}"
    if expected is not None:
        assert done.stdout.strip() == expected.strip(), f"{where}: output differs"


def test_docs_have_examples() -> None:
    assert len(BLOCKS) >= 1


@pytest.mark.timeout(300)
def test_docs_site_builds_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="mkdocs is installed in the bundle's test environment")
    api = tmp_path / "api"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "SUITKAISE_DOCS_API": str(api)},
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "index.html").is_file()


def test_workflows_match_the_github_schema() -> None:
    local = Path(sys.executable).parent / "check-jsonschema"
    exe = str(local) if local.exists() else shutil.which("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema is installed in the bundle's test environment")
    files = sorted(str(p) for p in (REPO / ".github" / "workflows").glob("*.yml"))
    assert files, "no workflow files"
    done = subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_runs_exactly_the_readme_test_line() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1]
    lines = FENCE.search(quick).group(2).strip().splitlines()  # type: ignore[union-attr]
    assert len(lines) == 2, "the quick start is exactly two command lines"
    demo_line, test_line = lines
    assert "hatch run demo" in demo_line
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_line in ci.splitlines()
