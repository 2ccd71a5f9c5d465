"""How patiently and how widely kombo talks to Kombo by default.

A module of its own, importing nothing, so that `kombo --help` can show these without
loading the HTTP client.
"""

# Per request, as long as the official SDKs allow an attachment upload: Kombo forwards the
# file to the ATS before it answers, and some ATSs are slow.
DEFAULT_TIMEOUT_S = 300.0
# A connection that cannot even be opened in 10 s will not open at all.
DEFAULT_CONNECT_TIMEOUT_S = 10.0
# Uploads in flight at once, across a run's integrations. Kombo allows 30 actions in
# flight per integration by default, fewer for fragile ATSs; the throttle finds each
# integration's real number at run time. The most is what one process carries well: a
# thread and a pooled connection per upload (docs/benchmarks.md measures it).
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 300
