//! Reading a spec: size, encoding and nesting guards, then KDL (v2, with v1
//! accepted) or JSON. Every failure is a diagnostic; nothing here panics.

use kdl::KdlDocument;

use crate::diagnostic::{Diagnostics, SourceFile};
use crate::model::Spec;
use crate::problem::{MAX_BLOCKS, MAX_NESTING, MAX_OPEN_BRACES, Problem};
use crate::span::Span;

/// Specs larger than this are refused before parsing. A real spec is a few
/// KiB; this admits 10,000 services. What a hostile spec costs grows with its
/// size (the KDL parser's error recovery uses up to about 1.5 KiB of stack and
/// 6 µs per byte), so the limit is what bounds it.
pub const MAX_SPEC_BYTES: usize = 1 << 20;

/// A parsed spec, before its contents are checked.
pub enum Parsed {
    Kdl(KdlDocument),
    Json(Box<Spec>),
}

/// At most this many syntax errors are reported: past that they are noise.
const MAX_SYNTAX_ERRORS: usize = 20;

/// Parses `bytes` read from `name`. The returned source is what diagnostics quote.
pub fn parse(name: &str, bytes: &[u8]) -> (SourceFile, Result<Parsed, Diagnostics>) {
    let mut diagnostics = Diagnostics::default();
    if bytes.len() > MAX_SPEC_BYTES {
        diagnostics.report(Problem::TooLarge { size: bytes.len() }, Span::NONE);
        return (SourceFile::new(name, ""), Err(diagnostics));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(error) => {
            let offset = error.valid_up_to();
            // Everything before the bad byte is intact, so the offset still
            // points at it in the lossy copy shown to the user.
            let shown = String::from_utf8_lossy(bytes).into_owned();
            diagnostics.report(Problem::NotUtf8 { offset }, Span::new(offset, 1));
            return (SourceFile::new(name, shown), Err(diagnostics));
        }
    };
    let source = SourceFile::new(name, text);
    if source.text.trim().is_empty() {
        diagnostics.report(Problem::EmptySpec, Span::NONE);
        return (source, Err(diagnostics));
    }
    if name.ends_with(".json") {
        let result = parse_json(&source).map_err(|d| {
            diagnostics.push(*d);
            diagnostics
        });
        return (source, result);
    }
    if let Some((offset, what)) = too_deep(&source.text) {
        diagnostics.report(Problem::TooDeep { what }, Span::new(offset, 1));
        return (source, Err(diagnostics));
    }
    match parse_kdl(&source.text) {
        Ok(document) => (source, Ok(Parsed::Kdl(document))),
        Err(KdlFailure::TimedOut) => {
            diagnostics.report(Problem::ParseTimedOut, Span::NONE);
            (source, Err(diagnostics))
        }
        Err(failure) => {
            let errors = match &failure {
                KdlFailure::Invalid(error) => error.diagnostics.as_slice(),
                _ => &[],
            };
            for d in errors.iter().take(MAX_SYNTAX_ERRORS) {
                let message = d
                    .message
                    .clone()
                    .or_else(|| d.label.clone())
                    .unwrap_or_else(|| "unexpected input".to_owned());
                diagnostics.report(
                    Problem::Syntax {
                        message,
                        help: d.help.clone(),
                    },
                    Span::from_kdl(d.span),
                );
            }
            if !diagnostics.has_errors() {
                diagnostics.report(
                    Problem::Syntax {
                        message: "the document could not be parsed".into(),
                        help: None,
                    },
                    Span::NONE,
                );
            }
            (source, Err(diagnostics))
        }
    }
}

/// The name of the thread the KDL parser runs on; the CLI keeps the panics
/// of this thread quiet, since they become syntax errors.
pub const PARSER_THREAD: &str = "kdl-parser";

/// How long the KDL parser may take. A 1 MiB spec of 10,000 services parses
/// in about half a second; the parser's error recovery backtracks, and some
/// inputs within the guards below still take far longer.
pub const PARSE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Why the KDL parser gave no document.
enum KdlFailure {
    Invalid(kdl::KdlError),
    /// It panicked (kdl's v1 fallback can) without a v2 error to report.
    Crashed,
    /// It was still running at the deadline; it is left to finish unobserved.
    TimedOut,
}

/// The KDL parser also recurses while recovering from errors, about once per
/// error, so it runs on a thread whose stack grows with the input (reserved,
/// not used, unless an input needs it), and which is abandoned at the deadline.
fn parse_kdl(text: &str) -> Result<KdlDocument, KdlFailure> {
    parse_kdl_within(text, PARSE_DEADLINE)
}

fn parse_kdl_within(text: &str, deadline: std::time::Duration) -> Result<KdlDocument, KdlFailure> {
    let stack = (32 << 20) + text.len() * 2048;
    let owned = text.to_owned();
    let (send, receive) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(PARSER_THREAD.into())
        .stack_size(stack)
        .spawn(move || {
            let parsed = std::panic::catch_unwind(|| KdlDocument::parse(&owned))
                // The v1 fallback panicked: v2's own errors are what to report.
                .or_else(|_| std::panic::catch_unwind(|| KdlDocument::parse_v2(&owned)));
            let _ = send.send(parsed);
        });
    if spawned.is_err() {
        return Err(KdlFailure::Crashed);
    }
    match receive.recv_timeout(deadline) {
        Ok(Ok(Ok(document))) => Ok(document),
        Ok(Ok(Err(error))) => Err(KdlFailure::Invalid(error)),
        Ok(Err(_)) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(KdlFailure::Crashed),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(KdlFailure::TimedOut),
    }
}

fn parse_json(source: &SourceFile) -> Result<Parsed, Box<crate::diagnostic::Diagnostic>> {
    serde_json::from_str::<Spec>(&source.text)
        .map(|spec| Parsed::Json(Box::new(spec)))
        .map_err(|error| {
            let span =
                offset_of(&source.text, error.line(), error.column()).map_or(Span::NONE, |o| Span::new(o, 1));
            let message = error.to_string();
            // serde_json appends " at line L column C"; the location is shown anyway.
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m)
                .to_owned();
            Box::new(crate::diagnostic::Diagnostic::new(
                Problem::Json { message },
                span,
            ))
        })
}

/// Byte offset of a 1-based line and column as serde_json counts them.
fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let line_start = if line == 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let offset = line_start + column.saturating_sub(1);
    (offset <= text.len()).then_some(offset.min(text.len().saturating_sub(1)))
}

/// Which structure nests or repeats past what a spec needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deep {
    Nodes,
    /// Every `{` counted, strings and comments included.
    Braces,
    Comments,
    Slashdashes,
}

/// The KDL parser recurses once per level of nodes, block comments and
/// slashdashes, and its error recovery takes about twice as long for each
/// level of children left open; this scan refuses deep ones before it runs.
/// Strings and raw strings (v2 `#"…"#`, v1 `r#"…"#`) are skipped so their
/// braces do not count, and then every `{` is counted again, strings and
/// comments included: where the scan and the parser's recovery disagree on
/// what is a string, the parser may see braces the first count missed.
fn too_deep(text: &str) -> Option<(usize, Deep)> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut slashdashes = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = skip_quoted(b, i);
                slashdashes = 0;
                continue;
            }
            b'#' | b'r' if raw_string_at(b, i).is_some() => {
                i = raw_string_at(b, i).expect("checked");
                slashdashes = 0;
                continue;
            }
            b'#' => {
                // No raw string starts later in this run of `#` either; looking
                // again at each one would take quadratic time on a long run.
                i += b[i..].iter().take_while(|&&c| c == b'#').count();
                slashdashes = 0;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut comment_depth = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        comment_depth += 1;
                        if comment_depth > MAX_NESTING {
                            return Some((i, Deep::Comments));
                        }
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        comment_depth -= 1;
                        i += 2;
                        if comment_depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'-') => {
                slashdashes += 1;
                if slashdashes > MAX_NESTING {
                    return Some((i, Deep::Slashdashes));
                }
                i += 2;
                continue;
            }
            b'{' => {
                depth += 1;
                if depth > MAX_BLOCKS {
                    return Some((i, Deep::Nodes));
                }
            }
            b'}' => depth = depth.saturating_sub(1),
            c if c.is_ascii_whitespace() => {}
            _ => slashdashes = 0,
        }
        i += 1;
    }
    too_many_open_braces(text).map(|offset| (offset, Deep::Braces))
}

/// Where a `{` first makes more than `MAX_OPEN_BRACES` open, counting every byte.
fn too_many_open_braces(text: &str) -> Option<usize> {
    let mut open = 0usize;
    for (i, byte) in text.bytes().enumerate() {
        match byte {
            b'{' => {
                open += 1;
                if open > MAX_OPEN_BRACES {
                    return Some(i);
                }
            }
            b'}' => open = open.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Index after the quoted string starting at `start` (`"…"` or `"""…"""`).
fn skip_quoted(b: &[u8], start: usize) -> usize {
    let multi_line = b[start..].starts_with(b"\"\"\"");
    let mut i = start + if multi_line { 3 } else { 1 };
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' if !multi_line => return i + 1,
            b'"' if b[i..].starts_with(b"\"\"\"") => return i + 3,
            _ => i += 1,
        }
    }
    b.len()
}

/// When a raw string starts at `start`, the index after it.
fn raw_string_at(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    if b[i] == b'r' {
        // v1 `r"…"`: only where a value can start, not inside a word.
        if start > 0 && (b[start - 1].is_ascii_alphanumeric() || b"_-.".contains(&b[start - 1])) {
            return None;
        }
        i += 1;
    }
    let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
    i += hashes;
    if b.get(i) != Some(&b'"') || (b[start] == b'#' && hashes == 0) {
        return None;
    }
    let quotes: &[u8] = if b[i..].starts_with(b"\"\"\"") {
        b"\"\"\""
    } else {
        b"\""
    };
    i += quotes.len();
    let mut closing = quotes.to_vec();
    closing.extend(std::iter::repeat_n(b'#', hashes));
    while i < b.len() {
        if b[i..].starts_with(&closing) {
            return Some(i + closing.len());
        }
        i += 1;
    }
    Some(b.len())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Deep, KdlFailure, parse_kdl_within, too_deep};

    #[test]
    fn every_open_brace_counts_strings_and_comments_included() {
        assert_eq!(too_deep("a { b { c } }"), None);
        let deep = "a {".repeat(20) + &"}".repeat(20);
        assert_eq!(too_deep(&deep), Some((2 + 3 * 3, Deep::Nodes)));
        let balanced = format!(
            "a \"{}\" // {}\n/* {} */",
            "{x}".repeat(40),
            "{}".repeat(40),
            "{}".repeat(40)
        );
        assert_eq!(too_deep(&balanced), None);
        assert_eq!(too_deep("a \"{{{{\""), None);
        assert_eq!(too_deep("a \"{{{{{{{\"").map(|(_, d)| d), Some(Deep::Braces));
        // The fuzzer's input: the scan reads `x"` as a string, the parser's recovery does not.
        let fuzzed = "h\n/-/ x\" {\n".repeat(20);
        assert!(too_deep(&fuzzed).is_some());
        // Hidden from the string-aware count: every `{` is in a `"` pair, as the scan pairs them.
        let hidden = "h \"{\" \"{\"\n".repeat(4);
        assert_eq!(too_deep(&hidden).map(|(_, d)| d), Some(Deep::Braces));
    }

    #[test]
    fn braces_in_strings_do_not_close_blocks() {
        // Counting every byte, each `"}"` would close the block just opened.
        let hidden = "a { \"}\" ".repeat(5);
        assert_eq!(too_deep(&hidden).map(|(_, d)| d), Some(Deep::Nodes));
        for closing in ["#\"}}}\"#", "r#\"}}}\"#", "#\"\"\"\n}}}\n\"\"\"#", "##\"}}}\"##"] {
            let text = format!("a {{ b {{ c {{ d {closing} {{");
            assert_eq!(too_deep(&text).map(|(_, d)| d), Some(Deep::Nodes), "{text}");
        }
        // A backslash ends nothing in a raw string: the scan goes on after it.
        let after = format!("a #\"C:\\\"#\n{}", "b {".repeat(4));
        assert_eq!(too_deep(&after).map(|(_, d)| d), Some(Deep::Nodes));
        // `#true` and words ending in r are not raw strings.
        assert_eq!(too_deep("a #true\nbar \"x\""), None);
        // A run of `#` that opens nothing is skipped whole.
        assert_eq!(
            too_deep(&format!("a ##x {}", "b {".repeat(4))).map(|(_, d)| d),
            Some(Deep::Nodes)
        );
    }

    #[test]
    fn a_parse_past_the_deadline_is_abandoned() {
        // Slow but finite: three open slashdashed blocks and a long tail.
        let slow = "h /- {\n".repeat(3) + &"x ".repeat(20_000);
        assert!(matches!(
            parse_kdl_within(&slow, Duration::from_millis(1)),
            Err(KdlFailure::TimedOut)
        ));
        assert!(parse_kdl_within("a 1", Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn deep_comments_and_long_slashdash_runs_are_refused() {
        let comments = "/*".repeat(40) + &"*/".repeat(40);
        assert_eq!(too_deep(&comments).map(|(_, d)| d), Some(Deep::Comments));
        let slashdashes = format!("project {}\"x\"", "/-".repeat(40));
        assert_eq!(too_deep(&slashdashes).map(|(_, d)| d), Some(Deep::Slashdashes));
        assert_eq!(too_deep("/-a 1\n/-b 2\n/-c 3"), None);
    }
}
