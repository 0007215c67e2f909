//! Cheap checks of generated scripts, one bash process each: `bash -n`, and
//! a probe that runs a script's own assignment block (everything before its
//! first command) and prints what the variables hold, NUL-separated, so a
//! test sees byte for byte what the script would work with.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs bash on `stdin_text` in `dir` with a clean environment.
fn bash(args: &[&str], stdin_text: &str, dir: &Path) -> std::process::Output {
    let mut child = Command::new("bash")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let mut stdin = child.stdin.take().expect("a stdin pipe");
    // A script bash rejects early may close its stdin before reading it all.
    let _ = stdin.write_all(stdin_text.as_bytes());
    drop(stdin);
    child.wait_with_output().expect("bash finishes")
}

/// `bash -n`: the script parses. The error text when it does not.
pub fn syntax(script: &str, dir: &Path) -> Result<(), String> {
    let out = bash(&["-n"], script, dir);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The text of `script` before the first line starting with `stop`.
fn before<'a>(script: &'a str, stop: &str) -> &'a str {
    let mut at = 0;
    for line in script.split_inclusive('\n') {
        if line.starts_with(stop) {
            return &script[..at];
        }
        at += line.len();
    }
    panic!("no line starts with {stop:?}")
}

/// The function `name() { … }` of a generated script, up to its closing line.
fn function<'a>(script: &'a str, name: &str) -> Option<&'a str> {
    let start = script.find(&format!("\n{name}() {{\n"))? + 1;
    let end = script[start..].find("\n}\n")? + start + 3;
    Some(&script[start..end])
}

const BUILD_VARS: &[&str] = &[
    "COMPOSE_FILE",
    "ENV_FILE",
    "LOG_DIR",
    "LOG_FALLBACK",
    "IGNORED",
    "HTTP_URLS",
    "BUILT",
    "PULLS",
    "RUNNING",
    "COMPOSE_OPTIONS",
    "dockerfile",
    "context",
    "image",
    "requires",
    "build_options",
];

const USER_DATA_VARS: &[&str] = &[
    "LOG",
    "ROOT",
    "PACKAGES",
    "REPO_URL",
    "BRANCH",
    "TOKEN_PARAMETER",
    "ENV_PARAMETER",
    "ENV_FILE",
];

/// What the variables of the build script (after `load_service SERVICE`)
/// and of the user-data hold: `NAME` and `user-data NAME` → its words;
/// `link` → the arguments of every `link` call, one after the other.
pub fn variables(
    build_script: &str,
    service: &str,
    user_data: Option<&str>,
    dir: &Path,
) -> Result<HashMap<String, Vec<String>>, String> {
    let emit = |prefix: &str, names: &[&str]| -> String {
        names
            .iter()
            .map(|n| format!("emit '{prefix}{n}' \"${{{n}[@]}}\"\n"))
            .collect()
    };
    let mut probe = String::from(
        "emit() { local name=$1; shift; printf '%s\\0%s\\0' \"$name\" \"$#\"; printf '%s\\0' \"$@\"; }\n(\n",
    );
    probe += before(build_script, "readonly SCRIPT=");
    probe += &format!("set +u\nload_service {service} || exit 9\n");
    if let Some(make_links) = function(build_script, "make_links") {
        probe += "link() { emit link \"$@\"; }\n";
        probe += make_links;
        probe += "make_links\n";
    }
    probe += &emit("", BUILD_VARS);
    probe += ")\n";
    if let Some(user_data) = user_data {
        probe += "(\n";
        probe += before(user_data, "mkdir -p -- ");
        probe += "set +u\n";
        probe += &emit("user-data ", USER_DATA_VARS);
        probe += ")\n";
    }
    let out = bash(&[], &probe, dir);
    if !out.status.success() || !out.stderr.is_empty() {
        return Err(format!(
            "the probe failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8(out.stdout).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut fields = text.split('\0');
    let mut vars: HashMap<String, Vec<String>> = HashMap::new();
    while let Some(name) = fields.next().filter(|n| !n.is_empty()) {
        let count: usize = fields
            .next()
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("a bad count after {name}"))?;
        let words: Vec<String> = fields.by_ref().take(count).map(str::to_owned).collect();
        if name == "link" {
            vars.entry(name.to_owned()).or_default().extend(words);
        } else {
            vars.insert(name.to_owned(), words);
        }
    }
    Ok(vars)
}

/// The bodies of the quoted heredocs `<<'DELIMITER'` in a script, read the way
/// bash reads them: every line up to the first that is exactly the delimiter.
pub fn heredocs(script: &str) -> Result<HashMap<String, String>, String> {
    let mut found = HashMap::new();
    let mut lines = script.split_inclusive('\n');
    while let Some(line) = lines.next() {
        let Some((_, rest)) = line.split_once("<<'") else {
            continue;
        };
        let delimiter = rest.split('\'').next().unwrap_or_default().to_owned();
        let mut body = String::new();
        loop {
            let next = lines
                .next()
                .ok_or_else(|| format!("the heredoc {delimiter} is never closed"))?;
            if next.strip_suffix('\n').unwrap_or(next) == delimiter {
                break;
            }
            body.push_str(next);
        }
        found.insert(delimiter, body);
    }
    Ok(found)
}
