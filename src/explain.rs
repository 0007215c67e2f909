//! The long explanation of each diagnostic code, as `deployc check --explain CODE`
//! prints it. Each text is a Markdown file in `src/explain/`, compiled in.
//!
//! An explanation starts with a one-line summary, says why the check exists,
//! and shows an erroneous spec and its correction in ```kdl blocks; the tests
//! below compile every such block, so the examples stay true. Codes about input
//! that is not a spec, or about files on disk, use ```console blocks instead.

/// Every code with an explanation, in order, with its text.
macro_rules! explanations {
    ($($code:literal),+ $(,)?) => {
        &[$(($code, include_str!(concat!("explain/", $code, ".md")))),+]
    };
}

const EXPLANATIONS: &[(&str, &str)] = explanations!(
    "E0001", "E0002", "E0003", "E0004", "E0005", "E0006", "E0007", //
    "E0101", "E0102", "E0103", "E0104", "E0105", "E0106", "E0107", "E0108", "E0109", "E0110", "E0111",
    "E0112", "E0113", //
    "E0201", "E0202", "E0203", "E0204", "E0205", "E0206", "E0207", "E0208", "E0209", "E0210", "E0211",
    "E0212", "E0213", "E0214", "E0215", "E0216", "E0217", "E0218", "E0219", "E0220", "E0221", "E0222",
    "E0223", "E0224", "E0225", //
    "E0301", "E0302", "E0303", "E0304", "E0305", "E0306", "E0307", "E0308", "E0309", "E0310", "E0311",
    "E0312", "E0313", "E0314", "E0315", "E0316", "E0317", "E0318", "E0319", "E0320", "E0321", "E0322",
    "E0323", "E0324", "E0325", "E0326", //
    "E0401", "E0402", "E0403", "E0404", "E0405", //
    "W0501", "W0502", "W0503", "W0504", "W0505", "W0506", //
    "E0601", "E0602", "W0603", "E0604", "W0605", "E0606",
);

/// The explanation of `code` (such as `E0401`; case does not matter), in Markdown.
pub fn explain(code: &str) -> Option<&'static str> {
    EXPLANATIONS
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(code))
        .map(|(_, text)| *text)
}

/// Every code that has an explanation, in order.
pub fn codes() -> impl Iterator<Item = &'static str> {
    EXPLANATIONS.iter().map(|(code, _)| *code)
}

/// Every code with the one-line summary its explanation starts with, in order.
pub fn summaries() -> impl Iterator<Item = (&'static str, &'static str)> {
    EXPLANATIONS
        .iter()
        .map(|(code, text)| (*code, text.lines().next().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes whose problem is not in a spec (input that is not one, files on
    /// disk): their examples are shell sessions, not specs.
    const CONSOLE_ONLY: &[&str] = &[
        "E0001", "E0002", "E0003", "E0004", "E0005", "E0006", "E0007", "E0601", "E0602", "W0603", "E0604",
        "W0605", "E0606",
    ];

    /// The codes `Problem::code` maps to, read from its source.
    fn problem_codes() -> Vec<String> {
        let source = include_str!("problem.rs");
        let start = source.find("pub fn code(&self)").expect("Problem::code");
        let body = &source[start..];
        let end = body.find("\n    }\n").expect("the end of Problem::code");
        let mut codes: Vec<String> = body[..end]
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|s| {
                s.len() == 5 && s.starts_with(['E', 'W']) && s[1..].bytes().all(|b| b.is_ascii_digit())
            })
            .map(str::to_owned)
            .collect();
        codes.sort();
        codes.dedup();
        codes
    }

    /// The fenced blocks of `text` with the given info string, in order.
    fn blocks<'a>(text: &'a str, info: &str) -> Vec<&'a str> {
        let opening = format!("```{info}\n");
        let mut found = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find(&opening) {
            let body = &rest[start + opening.len()..];
            let end = body.find("```").expect("a closed block");
            found.push(&body[..end]);
            rest = &body[end + 3..];
        }
        found
    }

    fn reported(spec: &str) -> (Vec<&'static str>, bool) {
        let compiled = crate::compile("example.kdl", spec.as_bytes());
        let codes = compiled
            .checked
            .diagnostics
            .iter()
            .map(|d| d.problem.code())
            .collect();
        (codes, compiled.artifacts.is_some())
    }

    #[test]
    fn every_code_has_an_explanation_and_every_explanation_a_code() {
        let mut explained: Vec<String> = codes().map(str::to_owned).collect();
        explained.sort();
        assert_eq!(explained, problem_codes());
    }

    #[test]
    fn every_file_in_the_folder_is_listed() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/src/explain");
        let mut files: Vec<String> = std::fs::read_dir(folder)
            .expect("src/explain")
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        files.sort();
        let mut listed: Vec<String> = codes().map(|code| format!("{code}.md")).collect();
        listed.sort();
        assert_eq!(files, listed);
    }

    #[test]
    fn codes_are_in_order_and_found_in_any_case() {
        let all: Vec<&str> = codes().collect();
        let mut sorted = all.clone();
        sorted.sort_by_key(|code| &code[1..]);
        sorted.dedup();
        assert_eq!(all, sorted);
        for code in all {
            assert!(explain(code).is_some());
            assert_eq!(explain(&code.to_ascii_lowercase()), explain(code));
        }
        assert_eq!(explain("E9999"), None);
        assert_eq!(explain(""), None);
    }

    #[test]
    fn explanations_have_a_summary_line() {
        for (code, text) in EXPLANATIONS {
            let first = text.lines().next().unwrap_or("");
            assert!(
                !first.is_empty()
                    && !first.starts_with('#')
                    && !first.starts_with("```")
                    && first.ends_with('.'),
                "{code}: the first line should be a one-sentence summary: {first:?}"
            );
            assert!(
                text.ends_with('\n') && !text.ends_with("\n\n"),
                "{code}: one final newline"
            );
        }
    }

    #[test]
    fn examples_show_the_problem_and_the_fix() {
        for (code, text) in EXPLANATIONS {
            let specs = blocks(text, "kdl");
            if CONSOLE_ONLY.contains(code) {
                assert!(specs.is_empty(), "{code}: its examples are shell sessions");
                assert!(
                    !blocks(text, "console").is_empty(),
                    "{code}: no ```console example"
                );
                continue;
            }
            assert!(
                specs.len() >= 2,
                "{code}: needs an erroneous and a corrected spec"
            );

            let (found, _) = reported(specs[0]);
            assert!(
                found.contains(code),
                "{code}: the erroneous example reports {found:?}"
            );
            let unrelated: Vec<&str> = found.iter().copied().filter(|c| c != code).collect();
            assert!(
                unrelated.is_empty(),
                "{code}: the erroneous example also reports {unrelated:?}"
            );

            for (i, spec) in specs.iter().enumerate().skip(1) {
                let (found, compiled) = reported(spec);
                assert!(
                    found.is_empty() && compiled,
                    "{code}: corrected example {i} reports {found:?}"
                );
            }
        }
    }

    /// Users cannot look up the team's internal incident reports, so what
    /// users read describes each failure instead of citing one.
    #[test]
    fn user_facing_text_cites_no_internal_reports() {
        let sources = [
            ("problem.rs", include_str!("problem.rs")),
            ("cli.rs", include_str!("cli.rs")),
        ];
        let texts = EXPLANATIONS.iter().copied().chain(sources);
        for (name, text) in texts {
            let lower = text.to_ascii_lowercase();
            let cited = lower
                .match_indices("seed ")
                .any(|(at, word)| lower[at + word.len()..].starts_with(|c: char| c.is_ascii_digit()));
            assert!(!cited, "{name} cites an incident by its number");
        }
    }

    #[test]
    fn lints_say_how_to_allow_them() {
        for lint in crate::values::Lint::WORDS {
            let allow = format!("allow \"{lint}\" reason=");
            let explained = EXPLANATIONS
                .iter()
                .any(|(code, text)| code.starts_with('W') && text.contains(&allow));
            assert!(explained, "no explanation shows `{allow}`");
        }
    }
}
