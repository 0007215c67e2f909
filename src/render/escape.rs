//! The escapers: one per target language. Every value a template prints goes
//! through one of them (see `render::registry`).

/// A bash word: bare when it is plainly safe, single-quoted otherwise.
pub fn bash(s: &str) -> String {
    let safe = !s.is_empty()
        && !s.starts_with(['=', '~', '#'])
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '.' | '/' | ':' | '@' | '+' | ',' | '%' | '-' | '=')
        });
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Text inside a systemd double-quoted string: C escapes and `%` specifiers.
fn systemd_quoted_body(s: &str, escape_dollar: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' if escape_dollar => out.push_str("$$"),
            '\n' => out.push_str(r"\n"),
            '\t' => out.push_str(r"\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn systemd_bare_safe(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | ':' | '@' | '+' | '=' | ',' | '-')
        })
}

/// One argument of an `Exec*=` line: `$` would expand a variable and `%` a
/// specifier, and whitespace or quotes would split it.
pub fn unit_arg(s: &str) -> String {
    if systemd_bare_safe(s) {
        s.to_owned()
    } else {
        format!("\"{}\"", systemd_quoted_body(s, true))
    }
}

/// One `Environment=` assignment; systemd does not expand `$` there.
pub fn unit_env(key: &str, value: &str) -> String {
    let assignment = format!("{key}={value}");
    if systemd_bare_safe(&assignment) {
        assignment
    } else {
        format!("\"{}\"", systemd_quoted_body(&assignment, false))
    }
}

/// Free text such as `Description=`: only specifiers are special, and
/// systemd trims surrounding whitespace, which the spec's text may not rely on.
/// A line whose backslashes leave one unpaired at its end continues on the
/// next line, which would swallow the next directive; a trailing space ends
/// the line there, and systemd strips it from the value.
pub fn unit_text(s: &str) -> String {
    let mut text: String = s
        .trim()
        .chars()
        .map(|c| match c {
            '%' => "%%".to_owned(),
            c if c.is_control() => " ".to_owned(),
            c => c.to_string(),
        })
        .collect();
    if text.ends_with('\\') {
        text.push(' ');
    }
    text
}

/// A URL for `Documentation=`, which systemd ignores when it holds anything
/// but ASCII: other characters (and any that would split or quote the value)
/// are percent-encoded as UTF-8, the URI form of the same address; then `%`
/// is doubled, as for any specifier.
pub fn unit_url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '%' {
            out.push_str("%%");
        } else if c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\') {
            out.push(c);
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn bash_words_survive_the_shell() {
        let values = [
            "plain",
            "",
            "it's",
            "$(touch /tmp/pwned)",
            "`id`",
            "a b",
            "x;y",
            "-mod=mod",
            "~root",
            "#c",
            "new\nline",
            "back\\slash",
            "\"q\"",
            "*",
            "!event",
        ];
        for value in values {
            let script = format!("printf '%s' {}", bash(value));
            let out = Command::new("bash")
                .arg("-c")
                .arg(&script)
                .output()
                .expect("bash runs");
            assert_eq!(String::from_utf8_lossy(&out.stdout), value, "{script}");
        }
        assert_eq!(bash("/opt/app"), "/opt/app");
        assert_eq!(bash("it's"), r"'it'\''s'");
    }

    #[test]
    fn unit_values_escape_what_systemd_expands() {
        assert_eq!(unit_arg("/usr/bin/docker"), "/usr/bin/docker");
        assert_eq!(unit_arg("a b"), "\"a b\"");
        assert_eq!(unit_arg("100%$HOME"), "\"100%%$$HOME\"");
        assert_eq!(unit_arg("say \"hi\"\\"), r#""say \"hi\"\\""#);
        assert_eq!(unit_arg(""), "\"\"");
        assert_eq!(unit_env("K", "a b $x %i"), "\"K=a b $x %%i\"");
        assert_eq!(unit_env("K", "v"), "K=v");
        assert_eq!(unit_text(" 50% done "), "50%% done");
        assert_eq!(unit_text("ends in \\"), "ends in \\ ");
        assert_eq!(unit_text("a\\b"), "a\\b");
        assert_eq!(
            unit_url("https://example.com/caf\u{e9}?q=100%"),
            "https://example.com/caf%%C3%%A9?q=100%%"
        );
    }
}
