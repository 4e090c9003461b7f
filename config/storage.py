"""Static files: hashed names and compressed copies (gzip, and Brotli where
the Brotli package is installed), made once by `collectstatic`.

WhiteNoise serves a hashed file with a year-long immutable Cache-Control and
its .br or .gz copy to clients that accept one. Where the site serves the
source files instead (DEBUG, the tests, a checkout where collectstatic has
not run: settings.STATIC_FROM_SOURCE), URLs keep their plain names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from whitenoise.compress import brotli_installed
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args: Any, hashed_urls: bool = True, **kwargs: Any) -> None:
        self.hashed_urls = hashed_urls
        super().__init__(*args, **kwargs)

    def stored_name(self, name: str) -> str:
        return super().stored_name(name) if self.hashed_urls else name

    def compress_files(self, paths: Iterable[str]) -> Iterator[tuple[str, str]]:
        # A hashed name is its content's: compressed copies already made for
        # it by an earlier collectstatic are still right. Compressing the
        # Swagger UI bundle with Brotli takes seconds; `make run` reuses them.
        suffixes = (".gz", ".br") if brotli_installed else (".gz",)
        todo = [p for p in paths if not all(os.path.exists(self.path(p) + s) for s in suffixes)]
        return super().compress_files(todo)
