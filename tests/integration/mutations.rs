//! Every example, mutated thousands of ways: deployc may refuse a mutant, but
//! never panics on one, and a mutant it accepts always renders.

use crate::support::{Rng, files_in, repo_file};

/// Pieces of KDL and of the language, spliced in at random places.
const SPLICES: &[&str] = &[
    "{",
    "}",
    "\"",
    ";",
    "=",
    "/-",
    "/*",
    "*/",
    "//",
    "#",
    "#true",
    "#null",
    "(t)",
    "\\",
    "\n",
    " ",
    "0",
    "-1",
    "99999999999999999999",
    "1.5",
    "\"\"",
    "\"20m\"",
    "\"0s\"",
    "\"10G\"",
    "r#\"x\"#",
    "service",
    "build",
    "image",
    "host",
    "timeout",
    "max=",
    "ssm:",
    "%",
    "$",
    "é",
    "\u{0}",
];

fn mutate(rng: &mut Rng, source: &str) -> String {
    let mut text: Vec<char> = source.chars().collect();
    let edits = 1 + rng.next_u64() % 4;
    for _ in 0..edits {
        let at = (rng.next_u64() % (text.len() as u64 + 1)) as usize;
        match rng.next_u64() % 3 {
            0 if at < text.len() => {
                let len = (1 + rng.next_u64() % 8) as usize;
                text.drain(at..(at + len).min(text.len()));
            }
            1 => {
                let piece = SPLICES[(rng.next_u64() % SPLICES.len() as u64) as usize];
                text.splice(at..at, piece.chars());
            }
            _ => {
                // Repeat a slice of the file somewhere else.
                let from = (rng.next_u64() % (text.len() as u64 + 1)) as usize;
                let len = (rng.next_u64() % 40) as usize;
                let copy: Vec<char> = text[from..(from + len).min(text.len())].to_vec();
                text.splice(at..at, copy);
            }
        }
    }
    text.into_iter().collect()
}

#[test]
fn mutated_examples_never_panic() {
    let mut rng = Rng::new(0x5eed_d3f1);
    let mut accepted = 0;
    let mut refused = 0;
    for example in files_in("examples", "kdl") {
        let source = std::fs::read_to_string(repo_file(&example)).expect("examples are readable");
        for round in 0..250 {
            let mutant = mutate(&mut rng, &source);
            let compiled = std::panic::catch_unwind(|| deployc::compile("mutant.kdl", mutant.as_bytes()))
                .unwrap_or_else(|_| panic!("deployc panicked on mutant {round} of {example}:\n{mutant}"));
            if compiled.checked.diagnostics.has_errors() {
                refused += 1;
            } else {
                assert!(
                    compiled.artifacts.is_some(),
                    "a valid mutant of {example} did not render:\n{mutant}"
                );
                accepted += 1;
            }
        }
    }
    // Both paths were exercised, so the test does not pass by refusing everything.
    assert!(
        accepted > 100 && refused > 100,
        "accepted {accepted}, refused {refused}"
    );
}
