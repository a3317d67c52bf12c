"""Copy the front-end files that the web pages use from assets/node_modules into the package.

Run it after ``npm ci`` in assets/ (``make assets`` does both). It copies the minified builds and each
package's licence into src/commonspace/web/static/vendor/ and writes versions.json there, mapping each
package in package-lock.json's top-level dependencies to its locked version. The vendored files are
committed, so serving the pages needs neither npm nor the network.

Standard library only.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
NODE_MODULES = ASSETS / "node_modules"
LOCK_FILE = ASSETS / "package-lock.json"
DEST = ROOT / "src" / "commonspace" / "web" / "static" / "vendor"
VERSIONS_FILE = "versions.json"

# (package, file inside the package, name in the vendor folder)
FILES: list[tuple[str, str, str]] = [
    ("htmx.org", "dist/htmx.min.js", "htmx.min.js"),
    ("@picocss/pico", "css/pico.min.css", "pico.min.css"),
    ("chart.js", "dist/chart.umd.min.js", "chart.umd.min.js"),
]

# Packages whose code is bundled inside a vendored file without being a top-level dependency:
# their licence ships too. Chart.js's UMD build includes @kurkle/color.
BUNDLED: list[str] = ["@kurkle/color"]

LICENSE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENCE.md", "LICENCE.txt")


class VendorError(Exception):
    pass


def license_name(package: str) -> str:
    """The licence's name in the vendor folder: ``@picocss/pico`` becomes ``picocss-pico.LICENSE.txt``."""
    return package.lstrip("@").replace("/", "-") + ".LICENSE.txt"


def locked_versions(lock: dict) -> dict[str, str]:
    """Each top-level dependency of the lock file and the version the lock pins it to."""
    packages = lock.get("packages", {})
    top = packages.get("", {}).get("dependencies", {})
    versions = {}
    for name in sorted(top):
        entry = packages.get(f"node_modules/{name}")
        if entry is None or "version" not in entry:
            raise VendorError(f"{name} is a dependency but package-lock.json locks no version of it")
        versions[name] = entry["version"]
    return versions


def installed_version(package: str) -> str:
    manifest = NODE_MODULES / package / "package.json"
    if not manifest.is_file():
        raise VendorError(f"{package} is not installed: run `npm ci` in assets/ first")
    return json.loads(manifest.read_text(encoding="utf-8"))["version"]


def find_license(package: str) -> Path:
    for name in LICENSE_NAMES:
        path = NODE_MODULES / package / name
        if path.is_file():
            return path
    raise VendorError(f"{package} ships no licence file ({', '.join(LICENSE_NAMES)})")


def vendor() -> list[str]:
    """Copy every file and write versions.json; return the names written, in order."""
    lock = json.loads(LOCK_FILE.read_text(encoding="utf-8"))
    versions = locked_versions(lock)

    vendored_packages = {package for package, _, _ in FILES}
    if missing := sorted(set(versions) - vendored_packages):
        raise VendorError(f"no file is vendored from {', '.join(missing)}: add it to FILES in vendor.py")
    if unknown := sorted(vendored_packages - set(versions)):
        raise VendorError(f"FILES names {', '.join(unknown)}, which package.json does not depend on")
    for package, version in versions.items():
        if (have := installed_version(package)) != version:
            raise VendorError(f"{package} {have} is installed, {version} is locked: run `npm ci` in assets/")

    copies: list[tuple[Path, str]] = []
    for package, inside, name in FILES:
        source = NODE_MODULES / package / inside
        if not source.is_file() or source.stat().st_size == 0:
            raise VendorError(f"{package} has no {inside}")
        copies.append((source, name))
    for package in [*versions, *BUNDLED]:
        copies.append((find_license(package), license_name(package)))

    DEST.mkdir(parents=True, exist_ok=True)
    written = [name for _, name in copies] + [VERSIONS_FILE]
    # The folder belongs to this script: drop what an earlier run wrote for a package since removed.
    for stale in sorted(DEST.iterdir()):
        if stale.is_file() and stale.name not in written:
            stale.unlink()
    for source, name in copies:
        shutil.copyfile(source, DEST / name)
    (DEST / VERSIONS_FILE).write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return written


def main() -> int:
    try:
        written = vendor()
    except VendorError as exc:
        print(f"vendor.py: {exc}", file=sys.stderr)
        return 1
    print(f"Vendored into {DEST.relative_to(ROOT)}: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
