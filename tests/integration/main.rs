//! The `deployc` integration tests: one test binary, one module per area.
//!
//! - `check`: the `check` command's behaviour (exit statuses, inputs, formats).
//! - `ec2`: user-data that fits EC2 for every `host { os }`, the CloudWatch config, the IAM policy.
//! - `iam_policy`: `deployc iam-policy` prints, writes and compares the role's policy.
//! - `checks`: the compile-time checks against real deployments' failures, each with
//!   a spec that triggers it, the nearest that must not, and its `allow`.
//! - `bad_specs`: every bad spec in `tests/bad_specs/`, snapshotted, and input
//!   that is not a spec at all.
//! - `roundtrip`: the model through the library, KDL ↔ JSON.
//! - `mutations`: random edits of the examples never make deployc panic.
//! - `fuzz_regressions`: what the fuzzer found (`tests/fixtures/fuzz/`) ends soon, in errors.
//! - `language`: `docs/language.md` names every node and property the decoder
//!   accepts, and its examples check clean.
//! - `schema`: `deployc schema` and the committed `schema/deployc.schema.json`.
//! - `support`: what the others use: the driver, assertions, paths.
//! - `driver`, `outcome`: the fluent `Deployc` driver, what a run produced
//!   and its assertions, shared with the other test targets (`tests/common/`).

mod bad_specs;
mod check;
mod checks;
#[allow(dead_code)] // not all of the shared driver is used here
#[path = "../common/driver.rs"]
mod driver;
mod ec2;
mod fuzz_regressions;
mod iam_policy;
mod language;
mod mutations;
#[allow(dead_code)] // not every shared assertion is used here
#[path = "../common/outcome.rs"]
mod outcome;
mod roundtrip;
mod schema;
mod support;
