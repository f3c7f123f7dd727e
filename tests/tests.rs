//! End-to-end tests: the real binaries, as a user runs them.
