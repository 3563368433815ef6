"""Install the OSRM executables (``osrm-extract``, ``osrm-routed``, ...) from the PyPI wheel ``osrm-bindings``.

The wheel is built for Python >= 3.12, but its executables are self-contained Linux programs that run anywhere
(they link only the C/C++ runtime of the system), so they are taken out of the wheel rather than installed as a
Python package::

    python -m vrpkit.roads.install            # into ~/.cache/vrpkit/osrm/bin-<version>
    python -m vrpkit.roads.install --dest DIR  # then set VRPKIT_OSRM_BIN=DIR/bin

This runs ``pip download --no-deps --only-binary=:all: --python-version 3.12 --platform
manylinux_2_28_x86_64 osrm-bindings``, unpacks ``osrm/bin/*`` and the Lua profiles ``osrm/share/profiles``,
restores the exec bits that zip extraction drops, checks with ``ldd`` that no shared library is missing, and
runs ``osrm-routed --version``. The folder it writes holds ``bin/`` and ``profiles/``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from vrpkit.errors import VrpkitError
from vrpkit.roads.cache import cache_root

EXECUTABLES = (
    "osrm-extract",
    "osrm-partition",
    "osrm-customize",
    "osrm-contract",
    "osrm-routed",
    "osrm-datastore",
    "osrm-components",
)
PLATFORM = "manylinux_2_28_x86_64"


class InstallError(VrpkitError):
    """The OSRM executables cannot be downloaded, unpacked or run."""


def default_install_root(cache_dir: str | Path | None = None) -> Path:
    """Where :func:`install_osrm` puts its ``bin-<version>`` folders: ``<cache>/osrm``."""
    return cache_root(cache_dir) / "osrm"


def install_osrm(
    dest: str | Path | None = None,
    *,
    version: str | None = None,
    wheel: str | Path | None = None,
    quiet: bool = False,
) -> Path:
    """Download ``osrm-bindings`` (or use a local ``wheel``) and unpack its executables; return the folder.

    ``dest`` defaults to ``<cache>/osrm/bin-<version>`` (see :func:`vrpkit.roads.cache.cache_root`), where
    :func:`vrpkit.roads.osrm.find_executable` looks without further settings.
    """
    with tempfile.TemporaryDirectory(prefix="vrpkit-osrm-") as tmp:
        if wheel is None:
            wheel = _download(Path(tmp), version, quiet)
        wheel = Path(wheel)
        wheel_version = wheel.name.split("-")[1] if wheel.name.count("-") >= 2 else "unknown"
        target = Path(dest) if dest is not None else default_install_root() / f"bin-{wheel_version}"
        staging = Path(tempfile.mkdtemp(prefix=".install-", dir=_mkdir(target.parent)))
        try:
            staging.chmod(0o755)
            _unpack(wheel, staging)
            _check(staging / "bin")
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    if not quiet:
        print(f"OSRM {wheel_version} executables in {target / 'bin'}")
    return target


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _download(tmp: Path, version: str | None, quiet: bool) -> Path:
    requirement = "osrm-bindings" if version is None else f"osrm-bindings=={version}"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--python-version", "3.12", "--platform", PLATFORM, "--dest", str(tmp), requirement]
    if quiet:
        command.insert(4, "--quiet")
    done = subprocess.run(command, capture_output=quiet, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or "").strip().splitlines()[-1:] if quiet else []
        raise InstallError(f"pip could not download {requirement} for {PLATFORM}"
                           + (f": {detail[0]}" if detail else ""))
    wheels = sorted(tmp.glob("osrm_bindings-*.whl"))
    if not wheels:
        raise InstallError(f"pip downloaded no osrm_bindings wheel into {tmp}")
    return wheels[-1]


def _unpack(wheel: Path, staging: Path) -> None:
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as err:
        raise InstallError(f"{wheel}: not a readable wheel ({err})") from None
    with archive:
        for info in archive.infolist():
            name = info.filename
            if info.is_dir():
                continue
            if name.startswith("osrm/bin/"):
                out = staging / "bin" / name.removeprefix("osrm/bin/")
            elif name.startswith("osrm/share/profiles/"):
                out = staging / "profiles" / name.removeprefix("osrm/share/profiles/")
            elif name.endswith("LICENSE.TXT"):
                out = staging / "LICENSE.TXT"
            else:
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            if name.startswith("osrm/bin/"):  # zip extraction drops the exec bits
                out.chmod(out.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    missing = [name for name in EXECUTABLES[:5] if not (staging / "bin" / name).is_file()]
    if missing:
        raise InstallError(f"{wheel.name} lacks {', '.join(missing)}")


def _check(bin_dir: Path) -> None:
    """Every executable finds its shared libraries and ``osrm-routed --version`` runs."""
    if shutil.which("ldd"):
        for exe in sorted(bin_dir.iterdir()):
            out = subprocess.run(["ldd", str(exe)], capture_output=True, text=True, check=False).stdout
            absent = [line.split()[0] for line in out.splitlines() if "not found" in line]
            if absent:
                raise InstallError(f"{exe.name} needs shared libraries that are missing here: {', '.join(absent)}")
    try:
        done = subprocess.run([str(bin_dir / "osrm-routed"), "--version"], capture_output=True, text=True,
                              timeout=30, check=False)
    except OSError as err:
        raise InstallError(f"osrm-routed does not run on this machine: {err}") from None
    if done.returncode != 0:
        raise InstallError(f"osrm-routed --version failed: {(done.stderr or done.stdout).strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vrpkit.roads.install", description=__doc__.splitlines()[0])
    parser.add_argument("--dest", help="install folder (default: <cache>/osrm/bin-<version>)")
    parser.add_argument("--version", help="osrm-bindings version (default: the newest)")
    parser.add_argument("--wheel", help="use this downloaded osrm_bindings wheel instead of pip download")
    args = parser.parse_args(argv)
    try:
        install_osrm(args.dest, version=args.version, wheel=args.wheel)
    except VrpkitError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    raise SystemExit(main())
