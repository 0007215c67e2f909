//! Property tests: generated specs by the thousand, shrunk to a small one
//! when a property fails.
//!
//! - `pipeline`: any spec of the language compiles to diagnostics (each with a
//!   code and a span in the source) or to artifacts that parse: bash, the unit
//!   read with systemd's rules, JSON, and the user-data's heredocs.
//! - `injection`: a hostile string in any string field of a spec is either
//!   rejected with an error on that value, or reaches every artifact intact and
//!   runs nothing.
//! - `sandboxed`: a share of the injection cases run for real against the stubs
//!   of the behaviour tests (`tests/behaviour/`), under bubblewrap.
//! - `unit_file`: the reader of unit files the checks use, with systemd's rules.
//! - `regressions`: the bugs these properties found, as fixed cases, and the
//!   check that the reader reads units as `systemd-analyze verify` does.
//! - `hostile`, `kdl`, `probe`: generators, spec text, and bash probes.
//!
//! The sandboxed cases need bubblewrap and the comparisons with systemd need
//! `systemd-analyze`: plain `cargo test` lists them as ignored, with the
//! reason, and `make test` runs them.
//!
//! Case counts are fixed so a run is reproducible and fits CI;
//! `DEPLOYC_PROPTEST_SCALE=N` multiplies them for a longer local run. Failures
//! are not persisted: a failure worth keeping becomes a test in `regressions`.

mod hostile;
mod injection;
mod kdl;
#[allow(dead_code)] // not every shared assertion is used here
#[path = "../common/outcome.rs"]
mod outcome;
mod pipeline;
mod probe;
mod regressions;
mod sandboxed;
#[allow(dead_code)] // the behaviour tests' sandbox, of which these use a part
#[path = "../behaviour/support.rs"]
mod support;
mod unit_file;

use proptest::test_runner::{Config, RngSeed};

/// `base` cases, times `DEPLOYC_PROPTEST_SCALE` when it is set.
pub fn cases(base: u32) -> u32 {
    let scale = std::env::var("DEPLOYC_PROPTEST_SCALE")
        .ok()
        .map(|s| {
            s.parse::<u32>()
                .unwrap_or_else(|_| panic!("DEPLOYC_PROPTEST_SCALE={s} is not a whole number"))
        })
        .unwrap_or(1);
    base.saturating_mul(scale.max(1))
}

/// A fixed configuration: the case count, a fixed seed (the same cases on
/// every run and machine), no failure files, and shrinking bounded so a
/// failure is reported in seconds.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x6465_706c_6f79),
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip artifact decompresses");
    out
}
