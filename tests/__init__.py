"""factdyn's test suite: a package, so that ``tests.helpers`` imports alike in tests and in subprocesses."""
