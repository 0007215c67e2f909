//! The `deployc` integration tests: one test binary, one module per area.
//!
//! - `check`: the `check` command's behaviour (exit statuses, inputs, formats).
//! - `bad_specs`: every bad spec in `tests/bad_specs/`, snapshotted, and input
//!   that is not a spec at all.
//! - `roundtrip`: the model through the library, KDL ↔ JSON.
//! - `mutations`: random edits of the examples never make deployc panic.
//! - `schema`: `deployc schema` and the committed `schema/deployc.schema.json`.
//! - `support`: the fluent `Deployc` driver the others use.

mod bad_specs;
mod check;
mod mutations;
mod roundtrip;
mod schema;
mod support;
