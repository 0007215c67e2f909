//! Reading a spec: size, encoding and nesting guards, then KDL (v2, with v1
//! accepted) or JSON. Every failure is a diagnostic; nothing here panics.

use kdl::KdlDocument;

use crate::diagnostic::{Diagnostics, SourceFile};
use crate::model::Spec;
use crate::problem::{MAX_NESTING, MAX_SPEC_BYTES, Problem};
use crate::span::Span;

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
    if let Some(offset) = too_deep(&source.text) {
        diagnostics.report(Problem::TooDeep, Span::new(offset, 1));
        return (source, Err(diagnostics));
    }
    match KdlDocument::parse(&source.text) {
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

/// Where braces first nest deeper than the language ever needs.
/// Strings and comments are skipped so their braces do not count. This runs
/// before the KDL parser, which recurses once per level.
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut comment_depth = 0usize;
                while i < bytes.len() {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        comment_depth += 1;
                        i += 1;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        comment_depth -= 1;
                        i += 1;
                        if comment_depth == 0 {
                            break;
                        }
                    }
                    i += 1;
                }
            }
            b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::too_deep;

    #[test]
    fn nesting_counts_braces_outside_strings_and_comments() {
        assert_eq!(too_deep("a { b { c } }"), None);
        let deep = "a {".repeat(20) + &"}".repeat(20);
        assert_eq!(too_deep(&deep), Some(2 + 3 * 16));
        let quoted = format!("a \"{}\"", "{".repeat(40));
        assert_eq!(too_deep(&quoted), None);
        let commented = format!("// {}\n/* {} */ a", "{".repeat(40), "{".repeat(40));
        assert_eq!(too_deep(&commented), None);
    }
}
