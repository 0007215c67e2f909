//! A small reader of systemd unit files, following systemd's own rules, so a
//! test can read back what systemd would see: line continuation (a line whose
//! escapes leave a `\` pending continues on the next one), comment lines,
//! `[Section]` headers, stripped `key=value` pairs, then per directive the
//! word splitting, quoting, C escapes, `%` specifiers and `$` variables.
//!
//! It is deliberately strict: anything deployc never means to write (a
//! specifier other than `%%`, an unknown escape, an unterminated quote) is an
//! error rather than a guess. `systemd_agrees` checks it against
//! `systemd-analyze verify` on real units.

use std::path::Path;
use std::process::Command;

/// One `key=value` line, after continuation and stripping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub section: String,
    pub key: String,
    /// The raw value: specifiers, quotes and escapes still in it.
    pub value: String,
}

#[derive(Clone, Debug)]
pub struct Unit {
    pub entries: Vec<Entry>,
    pub sections: Vec<String>,
}

/// What systemd strips around keys and values.
const WHITESPACE: &[char] = &[' ', '\t', '\n', '\r'];

pub fn parse(text: &str) -> Result<Unit, String> {
    let mut unit = Unit {
        entries: Vec::new(),
        sections: Vec::new(),
    };
    let mut continuation: Option<String> = None;
    for (number, line) in text.split('\n').enumerate() {
        let first = line.trim_start_matches(WHITESPACE);
        // Comment lines are dropped before continuation is looked at, also in
        // the middle of a continued line.
        if first.starts_with(['#', ';']) {
            continue;
        }
        let joined = match continuation.take() {
            Some(before) => before + line,
            None => line.to_owned(),
        };
        if ends_escaped(&joined) {
            let mut kept = joined;
            kept.pop();
            kept.push(' ');
            continuation = Some(kept);
            continue;
        }
        let stripped = joined.trim_matches(WHITESPACE);
        if stripped.is_empty() {
            continue;
        }
        if let Some(rest) = stripped.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| format!("line {}: bad section header {stripped:?}", number + 1))?;
            unit.sections.push(name.to_owned());
            continue;
        }
        let section = unit
            .sections
            .last()
            .ok_or_else(|| format!("line {}: assignment outside a section", number + 1))?
            .clone();
        let (key, value) = stripped
            .split_once('=')
            .ok_or_else(|| format!("line {}: missing '=' in {stripped:?}", number + 1))?;
        if let Some(bad) = stripped.chars().find(|&c| !utf8_clean(c)) {
            return Err(format!(
                "line {}: U+{:04X} is not UTF-8 clean to systemd",
                number + 1,
                u32::from(bad)
            ));
        }
        unit.entries.push(Entry {
            section,
            key: key.trim_matches(WHITESPACE).to_owned(),
            value: value.trim_matches(WHITESPACE).to_owned(),
        });
    }
    if let Some(rest) = continuation {
        return Err(format!("the file ends inside a continued line: {rest:?}"));
    }
    Ok(unit)
}

/// systemd's test of a character in a value: it ignores an assignment (or
/// refuses the unit) holding a Unicode noncharacter.
fn utf8_clean(c: char) -> bool {
    let code = u32::from(c);
    !(0xFDD0..=0xFDEF).contains(&code) && code & 0xFFFE != 0xFFFE
}

/// Whether a backslash is left pending at the end of the line, systemd's test
/// for continuation: backslashes pair up left to right, anywhere in the line.
fn ends_escaped(line: &str) -> bool {
    let mut escaped = false;
    for c in line.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        }
    }
    escaped
}

impl Unit {
    /// `(section, key)` of every directive, in order.
    pub fn keys(&self) -> Vec<(String, String)> {
        self.entries
            .iter()
            .map(|e| (e.section.clone(), e.key.clone()))
            .collect()
    }

    pub fn values(&self, section: &str, key: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| e.section == section && e.key == key)
            .map(|e| e.value.as_str())
            .collect()
    }

    /// The value of a directive given once.
    pub fn single(&self, section: &str, key: &str) -> Result<&str, String> {
        match self.values(section, key).as_slice() {
            [one] => Ok(one),
            other => Err(format!("{key}= is given {} times", other.len())),
        }
    }
}

/// `%%` → `%`; any other specifier is one deployc never writes.
pub fn specifiers(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(other) => return Err(format!("specifier %{other} in {s:?}")),
            None => return Err(format!("a lone % ends {s:?}")),
        }
    }
    Ok(out)
}

/// How a directive's words are read.
#[derive(Clone, Copy)]
struct Words {
    /// C escapes (`\n`, `\x41`, `\"`, ...) are decoded; without it a backslash
    /// just makes the next character literal.
    cunescape: bool,
}

/// Splits a value into words the way systemd's `extract_first_word` does with
/// quotes removed: whitespace separates, `'…'` and `"…"` quote (also inside a
/// word), and backslashes escape.
fn split_words(s: &str, how: Words) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| WHITESPACE.contains(c)) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        loop {
            let Some(c) = chars.next() else {
                if let Some(q) = quote {
                    return Err(format!("unterminated {q} quote in {s:?}"));
                }
                break;
            };
            match (c, quote) {
                ('\\', _) => {
                    let Some(next) = chars.next() else {
                        return Err(format!("a trailing backslash ends {s:?}"));
                    };
                    if how.cunescape {
                        word.push(unescape_one(next, &mut chars, s)?);
                    } else {
                        word.push(next);
                    }
                }
                (q, Some(open)) if q == open => quote = None,
                (q @ ('\'' | '"'), None) => quote = Some(q),
                (w, None) if WHITESPACE.contains(&w) => break,
                (other, _) => word.push(other),
            }
        }
        words.push(word);
    }
}

/// One C escape after its backslash, as systemd's `cunescape_one` reads it.
fn unescape_one(
    c: char,
    rest: &mut std::iter::Peekable<std::str::Chars<'_>>,
    whole: &str,
) -> Result<char, String> {
    let mut hex = |n: usize| -> Result<char, String> {
        let digits: String = (0..n).filter_map(|_| rest.next()).collect();
        u32::from_str_radix(&digits, 16)
            .ok()
            .filter(|_| digits.len() == n)
            .and_then(char::from_u32)
            .filter(|&c| c != '\0')
            .ok_or_else(|| format!("bad \\x, \\u or \\U escape in {whole:?}"))
    };
    Ok(match c {
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{b}',
        's' => ' ',
        '\\' | '"' | '\'' => c,
        'x' => hex(2)?,
        'u' => hex(4)?,
        'U' => hex(8)?,
        other => return Err(format!("unknown escape \\{other} in {whole:?}")),
    })
}

/// `Description=` and other plain strings: only specifiers.
pub fn text(value: &str) -> Result<String, String> {
    specifiers(value)
}

/// `Documentation=`: words, quotes removed, then specifiers.
pub fn documentation(value: &str) -> Result<Vec<String>, String> {
    split_words(value, Words { cunescape: false })?
        .iter()
        .map(|w| specifiers(w))
        .collect()
}

/// `Environment=`: assignments, C-unescaped, then specifiers; `$` is literal.
pub fn environment(value: &str) -> Result<Vec<String>, String> {
    split_words(value, Words { cunescape: true })?
        .iter()
        .map(|w| specifiers(w))
        .collect()
}

/// An `Exec*=` line: specifiers over the whole value, then the argv, then
/// `$$` → `$`. A `$` that would expand a variable, a `;` word (a second
/// command) or a prefix character on the command is an error here.
pub fn exec(value: &str) -> Result<Vec<String>, String> {
    let expanded = specifiers(value)?;
    let words = split_words(&expanded, Words { cunescape: true })?;
    if words
        .first()
        .is_some_and(|w| w.starts_with(['-', '@', ':', '+', '!']))
    {
        return Err(format!("a prefix on the command in {value:?}"));
    }
    // systemd sees the `;` separator before unescaping; an escaped `\;` is literal.
    if expanded.split_whitespace().any(|w| w == ";") {
        return Err(format!("a second command in {value:?}"));
    }
    words
        .into_iter()
        .map(|word| {
            let mut out = String::with_capacity(word.len());
            let mut chars = word.chars().peekable();
            while let Some(c) = chars.next() {
                if c != '$' {
                    out.push(c);
                } else if chars.peek() == Some(&'$') {
                    chars.next();
                    out.push('$');
                } else if chars
                    .peek()
                    .is_some_and(|n| *n == '{' || n.is_ascii_alphanumeric() || *n == '_')
                {
                    return Err(format!("a variable reference in {value:?}"));
                } else {
                    out.push('$');
                }
            }
            Ok(out)
        })
        .collect()
}

/// What `systemd-analyze verify` read from a unit: its dump (printed at debug
/// level) and the warnings it logged about lines of the file.
pub struct Verified {
    pub description: Option<String>,
    pub documentation: Vec<String>,
    pub environment: Vec<String>,
    /// Each `Exec*=` command's argv, in the order of the dump.
    pub commands: Vec<Vec<String>>,
    pub line_warnings: Vec<String>,
}

/// Runs `systemd-analyze verify` on `file` (named `<unit>.service`).
pub fn systemd_verify(file: &Path) -> Verified {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(file)
        .env("SYSTEMD_LOG_LEVEL", "debug")
        .output()
        .expect("systemd-analyze runs (apt-get install systemd)");
    let stdout = String::from_utf8(out.stdout).expect("a UTF-8 dump");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = file.to_str().expect("a UTF-8 path");
    let mut verified = Verified {
        description: None,
        documentation: Vec::new(),
        environment: Vec::new(),
        commands: Vec::new(),
        line_warnings: stderr
            .lines()
            .filter(|l| l.starts_with(&format!("{name}:")))
            // This systemd does not know every name of the @system-service set.
            .filter(|l| !l.contains("Failed to parse system call"))
            .map(str::to_owned)
            .collect(),
    };
    // The dump is of the unit first, then of units it pulls in: stop at the next one.
    for line in stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("\t-> Unit "))
    {
        let line = line.trim_start_matches('\t');
        if let Some(v) = line.strip_prefix("Description: ") {
            verified.description = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("Documentation: ") {
            verified.documentation.push(v.to_owned());
        } else if let Some(v) = line.strip_prefix("Environment: ") {
            verified.environment.push(v.to_owned());
        } else if let Some(v) = line.strip_prefix("Command Line: ") {
            verified.commands.push(dumped_command(v));
        }
    }
    verified
}

/// systemd prints each argument bare, or in double quotes with `\`, `"`, `` ` ``
/// and `$` escaped by a backslash.
fn dumped_command(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.chars();
    let mut word = String::new();
    let mut in_quotes = false;
    let mut started = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                started = true;
            }
            '\\' if in_quotes => word.extend(chars.next()),
            ' ' if !in_quotes => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_follows_systemd() {
        let unit = parse("[Unit]\nDescription=a\\\n# skipped\nAfter=x\n[Service]\nUser=b\\\\\nGroup=c \\ \n")
            .unwrap();
        assert_eq!(unit.single("Unit", "Description").unwrap(), "a After=x");
        assert_eq!(unit.single("Service", "User").unwrap(), "b\\\\");
        assert_eq!(unit.single("Service", "Group").unwrap(), "c \\");
        assert!(parse("[Unit]\nDescription=a\\").is_err());
        assert!(parse("[Unit]\nDescription=a\u{ffff}").is_err());
    }

    #[test]
    fn exec_lines_unquote_and_unescape() {
        assert_eq!(
            exec(r#"/bin/x "a b\x41" 'c d' %% $$HOME a"b c"d"#).unwrap(),
            ["/bin/x", "a bA", "c d", "%", "$HOME", "ab cd"]
        );
        assert!(exec("/bin/x $HOME").is_err());
        assert!(exec("/bin/x %i").is_err());
        assert!(exec("/bin/x ; /bin/y").is_err());
        assert!(exec("-/bin/x").is_err());
        assert_eq!(
            environment(r#""K=a\\b $x %%i" L=1"#).unwrap(),
            ["K=a\\b $x %i", "L=1"]
        );
        assert_eq!(
            dumped_command(r#"/bin/x "a \"b\" \$c" d"#),
            ["/bin/x", "a \"b\" $c", "d"]
        );
    }
}
