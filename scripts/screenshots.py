"""Refresh the README's screenshots (docs/img/matrix.png, docs/img/timeline.png).

Runs the browser tests, which drive Debian's Chromium against a live server
with the shipped dataset and save full-page screenshots to SCREENSHOT_DIR
(default test-artifacts/screenshots/), then copies two of them to docs/img/.

    .venv/bin/python scripts/screenshots.py            # run the tests, then copy
    .venv/bin/python scripts/screenshots.py --no-run   # copy what the last run saved

Uses DATABASE_URL / REDIS_URL from the environment like any test run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS_IMG = ROOT / "docs" / "img"
# (saved by tests/pages/test_browser.py, copied as)
COPIES = [("matrix.png", "matrix.png"), ("timeline-overview.png", "timeline.png")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-run", action="store_true", help="copy the last run's screenshots without running the tests"
    )
    args = parser.parse_args()
    shots = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "test-artifacts" / "screenshots")
    if not args.no_run:
        env = {**os.environ, "REQUIRE_BROWSER": "1", "SCREENSHOT_DIR": str(shots)}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-m", "browser", "tests/pages/test_browser.py"], cwd=ROOT, env=env
        )
        if result.returncode != 0:
            print("The browser tests failed; docs/img/ was left as it was.", file=sys.stderr)
            return result.returncode
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    for saved, name in COPIES:
        source = shots / saved
        if not source.exists():
            print(f"{source} is missing: run without --no-run first.", file=sys.stderr)
            return 1
        shutil.copyfile(source, DOCS_IMG / name)
        print(f"{source} -> {DOCS_IMG / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
