//! Writing spec text: a KDL string literal for any string, and filling a
//! spec template's `@name@` holes while remembering where one value went.

use std::ops::Range;

/// `s` as a KDL v2 quoted string. Characters KDL does not allow written
/// literally in a one-line string (controls, newlines, bidi marks, BOM) are
/// written as `\u{…}`, so any Rust string round-trips to the same value.
pub fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
        || ('\u{200e}'..='\u{200f}').contains(&c)
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// A template with `@name@` holes, filled from `value(name)`; returns the
/// text and the byte range of the hole named `mark`, if it is there.
pub fn fill(template: &str, value: impl Fn(&str) -> String, mark: &str) -> (String, Option<Range<usize>>) {
    let mut out = String::with_capacity(template.len() * 2);
    let mut marked = None;
    let mut rest = template;
    while let Some(start) = rest.find('@') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('@').expect("holes are closed");
        let name = &after[..end];
        let text = value(name);
        // A hole may appear twice; its first place is where its errors are reported.
        if name == mark && marked.is_none() {
            marked = Some(out.len()..out.len() + text.len());
        }
        out.push_str(&text);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    (out, marked)
}

#[test]
fn literals_read_back_as_the_same_string() {
    for s in [
        "plain",
        "q\"uo\\te",
        "new\nline\ttab",
        "\u{1}\u{7f}\u{202e}\u{feff}",
        "é 日本",
    ] {
        let text = format!("node {}\n", literal(s));
        let doc: kdl::KdlDocument = text.parse().expect("the literal parses");
        let value = doc.nodes()[0].entries()[0].value();
        assert_eq!(value.as_string(), Some(s), "{text}");
    }
}
