//! The whole pipeline on arbitrary bytes: parse, decode, validate, plan and
//! render, then every diagnostic in both formats. Whatever the input, deployc
//! must answer with artifacts or with errors, never with a panic, a hang or
//! unbounded memory.

#![no_main]

use std::sync::atomic::{AtomicUsize, Ordering};

use deployc::Compiled;
use deployc::diagnostic::{render_human, render_json};
use libfuzzer_sys::fuzz_target;

/// How many absorbed parser panics are still worth printing; past that they
/// would only flood the log.
static PARSER_PANICS_SHOWN: AtomicUsize = AtomicUsize::new(0);

fuzz_target!(
    init: {
        // libfuzzer-sys aborts on every panic. `parse.rs` runs the KDL parser on
        // its own thread and turns a panic there into a syntax error on purpose,
        // so only those are let through (and shown, as they are kdl bugs).
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("kdl-parser") {
                if PARSER_PANICS_SHOWN.fetch_add(1, Ordering::Relaxed) < 3 {
                    eprintln!("absorbed kdl-parser panic: {info}");
                }
                return;
            }
            abort(info);
        }));
    },
    |data: &[u8]| {
        // The first byte picks the front end, so the seeds need no prefix and a
        // finding reproduces as a file with the matching extension.
        let json = data.first() == Some(&b'{');
        let name = if json { "fuzz.json" } else { "fuzz.kdl" };
        let compiled = deployc::compile(name, data);
        show_diagnostics(&compiled);
        if !json {
            json_twin_agrees(&compiled);
        }
    }
);

/// Renders every diagnostic both ways and checks what the outcome promises.
fn show_diagnostics(compiled: &Compiled) {
    let checked = &compiled.checked;
    for diagnostic in checked.diagnostics.iter() {
        let plain = render_human(diagnostic, &checked.source, false);
        let coloured = render_human(diagnostic, &checked.source, true);
        assert!(plain.contains(diagnostic.problem.code()));
        // Nothing from the spec can drive the terminal.
        assert!(
            !plain.chars().any(|c| c.is_control() && c != '\n'),
            "a control character is shown raw: {plain:?}"
        );
        assert!(coloured.len() >= plain.len());
        let line = render_json(diagnostic, &checked.source);
        assert!(!line.contains('\n'), "one diagnostic, one line: {line}");
        let value: serde_json::Value = serde_json::from_str(&line).expect("render_json is JSON");
        assert_eq!(value["code"], diagnostic.problem.code());
    }
    // Artifacts exactly when there is no error, and an error is never silent.
    let errors = checked.diagnostics.has_errors();
    assert_eq!(compiled.artifacts.is_some(), !errors);
    assert_eq!(compiled.plan.is_some(), !errors);
    assert_eq!(checked.spec.is_some(), !errors);
    if errors {
        assert!(checked.diagnostics.error_count() > 0);
    }
}

/// A spec accepted from KDL, written as JSON, is the same spec and renders the
/// same files: the two front ends read one language.
fn json_twin_agrees(compiled: &Compiled) {
    let Some(spec) = &compiled.checked.spec else {
        return;
    };
    let text = serde_json::to_string(spec).expect("a spec serialises");
    let twin = deployc::compile_as("fuzz.json", "fuzz.kdl", text.as_bytes());
    show_diagnostics(&twin);
    let shown: Vec<String> = twin
        .checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| render_human(d, &twin.checked.source, false))
        .collect();
    assert!(
        shown.is_empty(),
        "the JSON form of an accepted spec is rejected:\n{text}\n{}",
        shown.join("\n")
    );
    assert_eq!(twin.checked.spec.as_ref(), Some(spec));
    assert_eq!(twin.artifacts, compiled.artifacts);
}
