"""Every install layout works from built wheels in fresh virtual environments.

Layouts: cerial alone, sktime alone, processing alone (pulls the other two from the local
wheel folder), the bundle, the editable development install of all four, and the bundle with
one portion uninstalled. Our own packages never come from the network (``--no-index``); the
third-party dependencies are downloaded once into a wheelhouse.

It is one test on purpose: under pytest-xdist it runs once, not once per worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PACKAGES = {
    "cerial": "suitkaise-cerial",
    "sktime": "suitkaise-sktime",
    "processing": "suitkaise-processing",
    "suitkaise": "suitkaise",
}
THIRD_PARTY = ["cloudpickle>=3.0", "tqdm>=4.60", "psutil>=5.9", "hatchling>=1.26", "editables"]

SMOKE = {
    "cerial": """
from suitkaise import cerial
add = cerial.deserialize(cerial.serialize(lambda x, y=1: x + y))
assert add(41) == 42
""",
    "sktime": """
from suitkaise.sktime import Sktimer
t = Sktimer()
t.add_time(1.0)
t.add_time(3.0)
assert t.mean == 2.0 and t.num_times == 2
""",
    "processing": """
from suitkaise.processing import Pool
if __name__ == "__main__":
    with Pool(workers=2) as pool:
        assert pool.map(abs, [-1, -2, -3]) == [1, 2, 3]
""",
    "bundle": """
from suitkaise import cerial, sktime, processing, serialize, deserialize, Sktimer, Pool, Share
assert deserialize(serialize({"a": [1, 2]})) == {"a": [1, 2]}
""",
}


def _versions() -> dict[str, str]:
    return {
        dist: tomllib.loads((REPO / "packages" / folder / "pyproject.toml").read_text())["project"][
            "version"
        ]
        for folder, dist in PACKAGES.items()
    }


def _run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done


class Layout:
    """A fresh virtual environment outside the source tree."""

    def __init__(self, root: Path, name: str, wheelhouse: Path, dist: Path) -> None:
        self.dir = root / name
        self.work = root / f"{name}-cwd"
        self.work.mkdir()
        venv.EnvBuilder(with_pip=True, clear=True).create(self.dir)
        bindir = "Scripts" if os.name == "nt" else "bin"
        self.python = str(self.dir / bindir / ("python.exe" if os.name == "nt" else "python"))
        self.links = ["--no-index", "--find-links", str(wheelhouse), "--find-links", str(dist)]

    def pip(self, *args: str) -> None:
        _run([self.python, "-m", "pip", "--disable-pip-version-check", *args], self.work)

    def install(self, *requirements: str) -> None:
        self.pip("install", "-q", *self.links, *requirements)

    def check(self, code: str) -> str:
        script = self.work / "check.py"
        script.write_text(code)
        return _run([self.python, str(script)], self.work).stdout

    def importable(self, module: str) -> bool:
        code = f"import importlib.util as u; print(u.find_spec({module!r}) is not None)"
        return _run([self.python, "-c", code], self.work).stdout.strip() == "True"

    def installed(self) -> dict[str, str]:
        code = (
            "import importlib.metadata as m, json\n"
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()"
            " if d.metadata['Name'].startswith('suitkaise')}))"
        )
        import json

        return dict(json.loads(_run([self.python, "-c", code], self.work).stdout))

    def bundle_names_work(self) -> bool:
        code = "from suitkaise import cerial, sktime, processing, serialize, Pool"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        done = subprocess.run(
            [self.python, "-c", code], cwd=self.work, env=env, capture_output=True, timeout=120
        )
        return done.returncode == 0


@pytest.mark.packaging
@pytest.mark.timeout(900)
def test_every_install_layout(tmp_path: Path) -> None:
    versions = _versions()
    dist = tmp_path / "dist"
    wheelhouse = tmp_path / "wheelhouse"

    # Build all four wheels and sdists from the source tree (hatchling, no isolation).
    for folder in PACKAGES:
        _run(
            [
                sys.executable,
                "-m",
                "build",
                "--no-isolation",
                "--wheel",
                "--sdist",
                "--outdir",
                str(dist),
                str(REPO / "packages" / folder),
            ],
            REPO,
        )
    wheels = sorted(p.name for p in dist.glob("*.whl"))
    sdists = sorted(p.name for p in dist.glob("*.tar.gz"))
    assert len(wheels) == 4 and len(sdists) == 4, (wheels, sdists)

    # Only the bundle owns suitkaise/__init__.py; every wheel ships py.typed.
    for wheel in dist.glob("*.whl"):
        names = zipfile.ZipFile(wheel).namelist()
        owns_init = "suitkaise/__init__.py" in names
        assert owns_init == wheel.name.startswith("suitkaise-0"), wheel.name
        assert any(n.endswith("py.typed") for n in names), wheel.name

    # The test environment may have no pip (hatch builds it with uv): use a fresh venv's pip.
    fetcher = Layout(tmp_path, "fetch", wheelhouse, dist)
    fetcher.pip("download", "-q", "-d", str(wheelhouse), *THIRD_PARTY)

    # 1-2. cerial alone, sktime alone.
    for part in ("cerial", "sktime"):
        env = Layout(tmp_path, part, wheelhouse, dist)
        env.install(PACKAGES[part])
        assert env.installed() == {PACKAGES[part]: versions[PACKAGES[part]]}
        env.check(SMOKE[part])
        other = "sktime" if part == "cerial" else "cerial"
        assert not env.importable(f"suitkaise.{other}")
        assert not env.bundle_names_work()

    # 3. processing alone pulls cerial and sktime from the wheel folder.
    env = Layout(tmp_path, "processing", wheelhouse, dist)
    env.install("suitkaise-processing")
    expected = {PACKAGES[p]: versions[PACKAGES[p]] for p in ("cerial", "sktime", "processing")}
    assert env.installed() == expected
    for part in ("cerial", "sktime", "processing"):
        env.check(SMOKE[part])
    assert not env.bundle_names_work()

    # 4. The bundle.
    bundle = Layout(tmp_path, "bundle", wheelhouse, dist)
    bundle.install("suitkaise")
    assert bundle.installed() == versions
    bundle.check(SMOKE["bundle"])
    assert bundle.bundle_names_work()

    # 5. Uninstalling one portion leaves the others working.
    bundle.pip("uninstall", "-y", "-q", "suitkaise-sktime")
    assert not bundle.importable("suitkaise.sktime")
    bundle.check(SMOKE["cerial"])
    out = bundle.check(
        "import suitkaise\n"
        "from suitkaise import serialize\n"
        "try:\n"
        "    suitkaise.Sktimer\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    assert "pip install suitkaise-sktime" in out

    # 6. The editable development install of all four (what the hatch workspace does).
    editable = Layout(tmp_path, "editable", wheelhouse, dist)
    editable.install("hatchling", "editables", "cloudpickle", "tqdm", "psutil")
    args = []
    for folder in PACKAGES:
        args += ["-e", str(REPO / "packages" / folder)]
    editable.install("--no-build-isolation", "--no-deps", *args)
    assert editable.installed() == versions
    out = editable.check(
        "import suitkaise.cerial, suitkaise.sktime, suitkaise.processing\n"
        "for m in (suitkaise.cerial, suitkaise.sktime, suitkaise.processing):\n"
        "    print(m.__file__)\n"
    )
    src_roots = [str(REPO / "packages" / p / "src") for p in ("cerial", "sktime", "processing")]
    for line, root in zip(out.split(), src_roots):
        assert line.startswith(root), (line, root)
    editable.check(SMOKE["bundle"])
    editable.check(SMOKE["processing"])
