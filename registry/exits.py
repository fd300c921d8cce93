"""Exit statuses shared by the commands that run jobs (`scrape`, `nightly`), one meaning each."""

EXIT_OK = 0  # everything asked for was done
EXIT_PARTIAL = 1  # the run finished, some models (or a stage) failed; every good row is kept
EXIT_USAGE = 2  # bad arguments or input (click's own status for usage errors)
EXIT_FAILED = 3  # no progress: the listing failed, or every listed model failed
EXIT_LOCKED = 75  # another run holds the lock (EX_TEMPFAIL: try again later)
