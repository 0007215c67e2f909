//! Secrets written anywhere in a spec's text: values, URLs, comments. The
//! scan reads the source rather than the model, so it sees what a reviewer
//! and a CI log would see, in KDL and JSON alike. Part of the validate stage.

use crate::span::Span;

/// A secret found in the text: where its value is, and what it looks like.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub span: Span,
    pub what: &'static str,
}

/// Token formats that are credentials whatever they are called: the prefix,
/// the shortest body that counts, and what to call it.
const TOKENS: &[(&str, usize, &str)] = &[
    ("github_pat_", 20, "a GitHub token"),
    ("ghp_", 20, "a GitHub token"),
    ("gho_", 20, "a GitHub token"),
    ("ghu_", 20, "a GitHub token"),
    ("ghs_", 20, "a GitHub token"),
    ("ghr_", 20, "a GitHub token"),
    ("glpat-", 20, "a GitLab token"),
    ("xoxb-", 10, "a Slack token"),
    ("xoxp-", 10, "a Slack token"),
    ("xoxa-", 10, "a Slack token"),
    ("sk_live_", 10, "a Stripe key"),
];

/// Words that, followed by `=`, introduce a password-like value.
const ASSIGNED: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "token",
];

pub fn scan(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    tokens(text, &mut found);
    aws_keys(text, &mut found);
    private_keys(text, &mut found);
    assignments(text, &mut found);
    url_passwords(text, &mut found);
    found.sort_by_key(|f| f.span.range());
    found.dedup_by(|later, earlier| overlaps(later.span, earlier.span));
    found
}

pub fn overlaps(a: Span, b: Span) -> bool {
    match (a.range(), b.range()) {
        (Some((a_start, a_len)), Some((b_start, b_len))) => {
            a_start < b_start + b_len.max(1) && b_start < a_start + a_len.max(1)
        }
        _ => false,
    }
}

fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Length of the run at `from` of bytes that `part_of` accepts.
fn run(bytes: &[u8], from: usize, part_of: impl Fn(u8) -> bool) -> usize {
    bytes[from..].iter().take_while(|&&b| part_of(b)).count()
}

fn starts_word(bytes: &[u8], at: usize) -> bool {
    at == 0 || !is_word(bytes[at - 1])
}

fn tokens(text: &str, found: &mut Vec<Found>) {
    let bytes = text.as_bytes();
    for (prefix, shortest, what) in TOKENS {
        for (at, _) in text.match_indices(prefix) {
            if !starts_word(bytes, at) {
                continue;
            }
            let body = run(bytes, at + prefix.len(), |b| is_word(b) || b == b'-');
            if body >= *shortest {
                found.push(Found {
                    span: Span::new(at, prefix.len() + body),
                    what,
                });
            }
        }
    }
}

fn aws_keys(text: &str, found: &mut Vec<Found>) {
    let bytes = text.as_bytes();
    for prefix in ["AKIA", "ASIA"] {
        for (at, _) in text.match_indices(prefix) {
            let len = run(bytes, at, |b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if starts_word(bytes, at) && len == 20 && !bytes.get(at + len).copied().is_some_and(is_word) {
                found.push(Found {
                    span: Span::new(at, len),
                    what: "an AWS access key",
                });
            }
        }
    }
}

/// A PEM private key, from its BEGIN line to its END line (or the end of the text).
fn private_keys(text: &str, found: &mut Vec<Found>) {
    for (at, _) in text.match_indices("-----BEGIN") {
        let header_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
        if !text[at..header_end].contains("PRIVATE KEY") {
            continue;
        }
        let end = text[header_end..]
            .find("-----END")
            .and_then(|n| {
                let marker = header_end + n;
                text[marker + 8..].find("-----").map(|m| marker + 8 + m + 5)
            })
            .unwrap_or(text.len());
        found.push(Found {
            span: Span::new(at, end - at),
            what: "a private key",
        });
    }
}

/// `password=...`, `DB_PASSWORD="..."`, `?token=...`: the value after the `=`,
/// unless it is a reference (`ssm:`, `$VAR`, `${VAR}`) or a placeholder.
fn assignments(text: &str, found: &mut Vec<Found>) {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    for word in ASSIGNED {
        for (at, _) in lower.match_indices(word) {
            let after = at + word.len();
            // `DB_PASSWORD=` counts; `PASSWORD_FILE=` and `passwords=` do not.
            let word_start = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
            if !word_start || bytes.get(after) != Some(&b'=') {
                continue;
            }
            let mut start = after + 1;
            let quoted = bytes.get(start) == Some(&b'"');
            if quoted {
                start += 1;
            }
            let len = run(bytes, start, |b| {
                !b.is_ascii_whitespace() && !matches!(b, b'"' | b'&' | b';' | b'\\' | b'\'')
            });
            let value = &text[start..start + len];
            if len > 0 && !is_reference(value) {
                found.push(Found {
                    span: Span::new(start, len),
                    what: "a password-like value",
                });
            }
        }
    }
}

/// A value that names where a secret is rather than holding it: an `ssm:`
/// parameter, a `$VAR`, a file path, or a placeholder.
pub fn is_reference(value: &str) -> bool {
    value.starts_with("ssm:")
        || value.starts_with(['$', '#', '<', '{', '%', '/'])
        || value.chars().all(|c| c == '*' || c == 'x' || c == '.')
}

/// `scheme://user:password@host`: the password.
fn url_passwords(text: &str, found: &mut Vec<Found>) {
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices("://") {
        let authority_start = at + 3;
        let authority = run(bytes, authority_start, |b| {
            !b.is_ascii_whitespace() && !matches!(b, b'/' | b'"' | b'?' | b'#')
        });
        let authority_text = &text[authority_start..authority_start + authority];
        let Some(userinfo_end) = authority_text.rfind('@') else {
            continue;
        };
        let Some(colon) = authority_text[..userinfo_end].find(':') else {
            continue;
        };
        let password = &authority_text[colon + 1..userinfo_end];
        if !password.is_empty() && !is_reference(password) {
            found.push(Found {
                span: Span::new(authority_start + colon + 1, password.len()),
                what: "the password in a URL",
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(&str, &'static str)> {
        scan(text)
            .into_iter()
            .map(|f| {
                let (offset, len) = f.span.range().expect("placed");
                (&text[offset..offset + len], f.what)
            })
            .collect()
    }

    #[test]
    fn finds_each_kind_and_only_the_value() {
        let token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
        assert_eq!(
            found(&format!("repo token=\"{token}\"")),
            [(token, "a GitHub token")]
        );
        assert_eq!(
            found("key AKIAIOSFODNN7EXAMPLE."),
            [("AKIAIOSFODNN7EXAMPLE", "an AWS access key")]
        );
        assert_eq!(
            found("env DB_PASSWORD=\"hunter22\""),
            [("hunter22", "a password-like value")]
        );
        assert_eq!(
            found("http \"http://localhost/h?token=abc123&x=1\""),
            [("abc123", "a password-like value")]
        );
        assert_eq!(
            found("env URL=\"postgres://app:s3cret@db/app\""),
            [("s3cret", "the password in a URL")]
        );
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----";
        assert_eq!(found(&format!("// {pem}\nnext")), [(pem, "a private key")]);
    }

    #[test]
    fn leaves_references_and_lookalikes_alone() {
        for text in [
            "repo token=\"ssm:/app/token\"",
            "env DB_PASSWORD=\"${DB_PASSWORD}\"",
            "env PASSWORD_FILE=\"/run/secrets/db\"",
            "env PASSWORD=\"$DB_PASSWORD\"",
            "passwords=\"many\"",
            "ghp_short",
            "AKIAIOSFODNN7EXAMPLEX",
            "http \"http://localhost:8080/health\"",
            "http \"http://user@host/\"",
            "-----BEGIN CERTIFICATE-----",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }
}
