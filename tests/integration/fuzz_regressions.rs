//! Inputs the fuzzer (`fuzz/`) found, minimised, kept in `tests/fixtures/fuzz/`.
//! Whatever the input, deployc must answer soon, without a panic, with
//! artifacts or with an error diagnostic.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use crate::support::{Deployc, repo_file};

/// A fixture is a few hundred bytes to a few KiB; parsing costs microseconds
/// per byte, so this is generous even for an unoptimised build on a busy
/// machine, and it is half the fuzzer's timeout.
const DEADLINE: Duration = Duration::from_secs(5);

/// What compiling a fixture ended in.
#[derive(Debug)]
struct Ending {
    artifacts: bool,
    error_codes: Vec<&'static str>,
}

fn fixture(name: &str) -> Vec<u8> {
    let path = repo_file(&format!("tests/fixtures/fuzz/{name}"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Compiles `bytes` as the file `name` on its own thread, so a hang fails the
/// test at the deadline instead of stalling the whole run.
#[track_caller]
fn compile_within_deadline(name: &str, bytes: Vec<u8>) -> Ending {
    let (send, receive) = mpsc::channel();
    let file = name.to_owned();
    std::thread::spawn(move || {
        let compiled = deployc::compile(&file, &bytes);
        // Rendering the diagnostics is part of what the fuzzer ran.
        for d in compiled.checked.diagnostics.iter() {
            deployc::diagnostic::render_human(d, &compiled.checked.source, false);
            deployc::diagnostic::render_json(d, &compiled.checked.source);
        }
        let error_codes = compiled
            .checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.problem.code())
            .collect();
        let _ = send.send(Ending {
            artifacts: compiled.artifacts.is_some(),
            error_codes,
        });
    });
    match receive.recv_timeout(DEADLINE) {
        Ok(ending) => ending,
        Err(RecvTimeoutError::Timeout) => panic!("{name} is still compiling after {DEADLINE:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("compiling {name} panicked"),
    }
}

/// Refused as KDL: a syntax error, or nesting past the guard in `parse.rs`.
#[track_caller]
fn refused_as_kdl(ending: &Ending) {
    assert!(!ending.artifacts, "{ending:?}");
    assert!(
        !ending.error_codes.is_empty() && ending.error_codes.iter().all(|c| ["E0004", "E0005"].contains(c)),
        "expected syntax or nesting errors only: {ending:?}"
    );
}

/// Twenty lines of `h` and `/-/ x" {`: every `{` opens children that never
/// close, under a slashdash. The KDL parser's error recovery takes about twice
/// as long for each one more (20 took tens of seconds, optimised). The
/// string-aware nesting count saw only half of them, taking each `x"` for the
/// start of a string, which the parser does not; `parse.rs` now also counts
/// every `{` in the text.
const SLASHDASH_CHILDREN: &str = "slashdash-unclosed-children-x20.kdl";

#[test]
fn slashdashed_unclosed_children_are_a_syntax_error() {
    // The first eight repetitions (11 bytes each) are refused the same way.
    let mut bytes = fixture(SLASHDASH_CHILDREN);
    bytes.truncate(8 * 11);
    refused_as_kdl(&compile_within_deadline(SLASHDASH_CHILDREN, bytes));
}

#[test]
fn slashdashed_unclosed_children_are_refused_in_time() {
    refused_as_kdl(&compile_within_deadline(
        SLASHDASH_CHILDREN,
        fixture(SLASHDASH_CHILDREN),
    ));
}

/// The fuzzer's own input, after `cargo fuzz tmin`: 1.3 KB of garbled nodes,
/// fifteen of them slashdashed with children left open. About two seconds
/// optimised today, which is what the reduced fixture above grows from.
const FUZZER_SLASHDASH_NODES: &str = "fuzzer-garbled-slashdash-nodes-timeout.kdl";

#[test]
fn the_fuzzers_slashdashed_nodes_are_refused_in_time() {
    refused_as_kdl(&compile_within_deadline(
        FUZZER_SLASHDASH_NODES,
        fixture(FUZZER_SLASHDASH_NODES),
    ));
}

/// `(true(`: KDL v2 rejects it, and the v1 parser kdl falls back to then
/// panics slicing past the end of the text for its error. `parse.rs` catches
/// the panic on its parser thread, so compiling still ends in a syntax error.
const V1_FALLBACK_PANIC: &str = "v1-fallback-panics-on-unclosed-type.kdl";

#[test]
fn a_panic_in_the_v1_parser_is_a_syntax_error() {
    refused_as_kdl(&compile_within_deadline(
        V1_FALLBACK_PANIC,
        fixture(V1_FALLBACK_PANIC),
    ));
}

#[test]
fn a_panic_in_the_v1_parser_is_not_shown_to_the_user() {
    let path = format!("tests/fixtures/fuzz/{V1_FALLBACK_PANIC}");
    Deployc::new()
        .args(["check", &path])
        .run()
        .invalid_spec()
        .stderr_lacks("panicked")
        // v2's own error, which has a place.
        .stderr_contains(&format!("--> {path}:1:"));
}
