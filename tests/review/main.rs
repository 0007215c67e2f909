//! The review workflow, end to end through the `deployc` binary, each test in
//! a fresh temporary folder:
//!
//! - `render`: what render writes and reports; only changed files are rewritten; determinism.
//! - `conflicts`: hand edits, files deployc did not write, files it no longer produces.
//! - `safety`: read-only folders, renders killed or cut short part-way.
//! - `diff`: `deployc diff` (exit codes, snapshots, --stat, -U, colour, gzip).
//! - `base`: `deployc diff --base REV` in a real git repository.
//! - `check`: drift between the spec and its rendered folder.
//! - `merge`: git merges of branches that both rendered, and getting back to a clean folder.
//! - `several`: several specs in one call.
//! - `init`: the starter spec `deployc init` writes.
//! - `cli`: version, help, completions, manual.
//! - `support`: the fluent helpers (`Spec`, `Sandbox`, `Folder`, `Deployc`).
//! - `driver`, `outcome`: the `Deployc` driver, what a run produced and its
//!   assertions, shared with the other test targets (`tests/common/`).
//!
//! The `safety` tests that make a folder read-only (for root) or full use
//! bubblewrap: plain `cargo test` lists them as ignored, `make test` runs them.

mod base;
mod check;
mod cli;
mod conflicts;
mod diff;
#[allow(dead_code)] // not all of the shared driver is used here
#[path = "../common/driver.rs"]
mod driver;
mod init;
mod merge;
#[allow(dead_code)] // not every shared assertion is used here
#[path = "../common/outcome.rs"]
mod outcome;
mod render;
mod safety;
mod several;
mod support;
