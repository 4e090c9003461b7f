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
  version (or, for the schema, the code's: `deploy`), the absolute URL
  (scheme, host, path and query: paginated answers and feeds carry absolute
  links), the format (for the API the media type DRF negotiated, not the
  Accept header as sent: every Accept answered with plain JSON shares one
  ETag), whether the reader is an editor (editors see drafts), and today's
  date for answers that depend on it (status as of today, upcoming dates).
  A request with a query parameter the view does not read (`params`), or an
  Accept with parameters of its own, gets an honest ETag but is not kept.
- `bodies`: a 200 body is kept under its ETag, in this process (a bounded
  LRU) and in Redis (shared by the processes), bounded there in bytes and
  entries (Redis is also the broker); a kept body is never stale, because
  any write moves the version and so the key.
- `answers`: public readers (no Authorization header, no session cookie) of
  GET and HEAD are answered before anything else runs (`public_answer`):
  before DRF's authentication and content negotiation for the API, before
  the user lookup for pages. They get the 304 or a kept body, with the same
  headers as the full path; anything else (a first build, editors, errors)
  takes the full path (`full_answer`). For the API the public path answers
  only an Accept header that DRF has negotiated once in this process (the
  format it chose is remembered), so skipping negotiation never answers a
  request that DRF would refuse with 406.

Settings: the "HTTP cache" block of config/settings/base.py.
"""

from regulatory.httpcache.decorators import cached_read

__all__ = ["cached_read"]
