//! Reading a spec: size, encoding and nesting guards, then KDL (v2, with v1
//! accepted) or JSON. Every failure is a diagnostic; nothing here panics.

use kdl::KdlDocument;

use crate::diagnostic::{Diagnostics, SourceFile};
use crate::model::Spec;
use crate::problem::{MAX_NESTING, Problem};
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
        Err(error) => {
            for d in error.diagnostics.iter().take(MAX_SYNTAX_ERRORS) {
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

/// The KDL parser also recurses while recovering from errors, about once per
/// error, so it runs on a thread whose stack grows with the input (reserved,
/// not used, unless an input needs it).
fn parse_kdl(text: &str) -> Result<KdlDocument, kdl::KdlError> {
    let stack = (32 << 20) + text.len() * 2048;
    std::thread::scope(|scope| {
        let parser = std::thread::Builder::new()
            .name("kdl-parser".into())
            .stack_size(stack)
            .spawn_scoped(scope, || KdlDocument::parse(text));
        match parser.map(|handle| handle.join()) {
            Ok(Ok(result)) => result,
            Ok(Err(_)) | Err(_) => Err(kdl::KdlError {
                input: std::sync::Arc::new(text.to_owned()),
                diagnostics: Vec::new(),
            }),
        }
    })
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
    Comments,
    Slashdashes,
}

/// The KDL parser recurses once per level of nodes, block comments and
/// slashdashes; this scan refuses deep ones before it runs. Strings and raw
/// strings (v2 `#"…"#`, v1 `r#"…"#`) are skipped so their braces do not count.
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
                if depth > MAX_NESTING {
                    return Some((i, Deep::Nodes));
                }
            }
            b'}' => depth = depth.saturating_sub(1),
            c if c.is_ascii_whitespace() => {}
            _ => slashdashes = 0,
        }
        i += 1;
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
    use super::{Deep, too_deep};

    #[test]
    fn nesting_counts_braces_outside_strings_and_comments() {
        assert_eq!(too_deep("a { b { c } }"), None);
        let deep = "a {".repeat(20) + &"}".repeat(20);
        assert_eq!(too_deep(&deep), Some((2 + 3 * 16, Deep::Nodes)));
        let quoted = format!("a \"{}\"", "{".repeat(40));
        assert_eq!(too_deep(&quoted), None);
        let commented = format!("// {}\n/* {} */ a", "{".repeat(40), "{".repeat(40));
        assert_eq!(too_deep(&commented), None);
    }

    #[test]
    fn raw_strings_are_skipped_whole() {
        let braces = "{".repeat(40);
        assert_eq!(too_deep(&format!("a #\"say \"{braces}\"#")), None);
        assert_eq!(too_deep(&format!("a r#\"{braces}\"#")), None);
        assert_eq!(too_deep(&format!("a #\"\"\"\n{braces}\n\"\"\"#")), None);
        // A backslash ends nothing in a raw string: the scan goes on after it.
        let after = format!("a #\"C:\\\"#\n{}", "b {".repeat(20));
        assert_eq!(too_deep(&after).map(|(_, d)| d), Some(Deep::Nodes));
        // `#true` and words ending in r are not raw strings.
        assert_eq!(too_deep("a #true\nbar \"x\""), None);
        // A run of `#` that opens nothing is skipped whole, and one that opens a raw string is not.
        assert_eq!(
            too_deep(&format!("a ##x {}", "b {".repeat(20))).map(|(_, d)| d),
            Some(Deep::Nodes)
        );
        assert_eq!(too_deep(&format!("a ##\"{braces}\"##")), None);
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
