//! Behaviour tests: the generated scripts EXECUTED against stub commands.
//!
//! - `build_script`: `<project>-build.sh`: exit codes, logs, order, parallelism,
//!   cache policy, symlinks, the lock, and arguments reaching `docker build`.
//! - `user_data`: `user-data.sh`: the bootstrap of a host, its retries, waits,
//!   token handling and failure reporting.
//! - `notify`: `<project>-build.sh notify`: what reaches SNS and a webhook, the
//!   webhook's URL in no argv, and notifiers that fail.
//! - `podman`: one real build with podman (no network needed).
//! - `support`: the sandbox (bubblewrap, stubs on PATH) and the fluent driver.
//! - `outcome`: what a run produced and its assertions, shared with the other
//!   test targets (`tests/common/outcome.rs`).
//!
//! The stubs are in `tests/behaviour/stubs/`; each records its argv.
//!
//! Every test here needs bubblewrap (and `podman` podman), so plain `cargo
//! test` lists them as ignored; `make test` installs both and runs them with
//! `cargo test -- --include-ignored`, where a missing tool fails the test.

mod build_script;
mod notify;
#[allow(dead_code)] // not every shared assertion is used here
#[path = "../common/outcome.rs"]
mod outcome;
mod podman;
mod support;
mod user_data;
