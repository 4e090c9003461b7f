"""The HTTP cache of the read endpoints (pages, feeds, exports, the API):
ETag and Last-Modified, 304, and rendered bodies kept under their ETag.
Everything goes through one decorator, `cached_read` (`decorators`).

- `version`: the record version, the validators' source. On PostgreSQL it is
  kept in process memory and dropped by LISTEN/NOTIFY when a write commits,
  so a client that already holds the current answer costs no query at all;
  where it cannot be kept (SQLite, the LISTEN connection down, an editor
  reading) it is `selectors.record_version()`, one cheap query run before
  the expensive one.
- `validators`: the ETag covers everything the body depends on: the record's
  version, the absolute URL (scheme, host, path and query: paginated answers
  and feeds carry absolute links), the Accept header as sent (so the
  negotiated format), whether the reader is an editor (editors see drafts),
  and today's date for answers that depend on it (status as of today,
  upcoming dates).
- `bodies`: a 200 body is kept under its ETag, in this process (a bounded
  LRU) and in Redis (shared by the processes); a kept body is never stale,
  because any write moves the version and so the key.
- `answers`: public readers (no Authorization header, no session cookie) of
  GET and HEAD are answered before anything else runs (`public_answer`):
  before DRF's authentication and content negotiation for the API, before
  the user lookup for pages. They get the 304 or a kept body, with the same
  headers as the full path; anything else (a first build, editors, errors)
  takes the full path (`full_answer`). A kept body or a matching ETag exists
  only for an Accept header that DRF has accepted once, since both name it,
  so skipping negotiation never answers a request that DRF would refuse with
  406.

Settings: the "HTTP cache" block of config/settings/base.py.
"""

from regulatory.httpcache.decorators import cached_read

__all__ = ["cached_read"]
