//! End-to-end tests: the real binaries, as a user runs them.

mod util;

mod bad_input;
mod import_http;
mod plugin;
