//! Unified diffs and `--stat` summaries of what a render would change.

use std::fmt::Write as _;
use std::io::Read;

use similar::{ChangeTag, TextDiff};

use crate::output::{Change, ChangeKind};

#[derive(Clone, Copy, Debug)]
pub struct DiffStyle {
    pub context: usize,
    pub color: bool,
}

impl DiffStyle {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// The text a file holds, as a reviewer should read it: gzip'd user-data decoded.
pub fn readable(file: &str, bytes: &[u8]) -> String {
    if file.ends_with(".gz") {
        let mut decoded = Vec::new();
        if flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut decoded)
            .is_ok()
        {
            return String::from_utf8_lossy(&decoded).into_owned();
        }
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// A file's old and new text, for diffing. `None` means the file is absent.
pub struct FilePair<'a> {
    pub path: &'a str,
    pub old: Option<String>,
    pub new: Option<String>,
    pub mode_change: Option<(u32, u32)>,
}

impl<'a> FilePair<'a> {
    /// The pair a folder change stands for, with `path` as the name shown.
    pub fn of_change(path: &'a str, change: &Change, old_mode: Option<u32>) -> FilePair<'a> {
        let new_mode = change
            .new
            .as_ref()
            .map(|a| if a.executable { 0o755 } else { 0o644 });
        FilePair {
            path,
            old: change.old.as_deref().map(|b| readable(&change.file, b)),
            new: change.new.as_ref().map(|a| readable(&change.file, &a.bytes)),
            mode_change: match (old_mode, new_mode, change.kind) {
                (Some(o), Some(n), ChangeKind::Update) if o != n => Some((o, n)),
                _ => None,
            },
        }
    }
}

impl FilePair<'_> {
    /// What render would do to the file, or `None` when nothing differs.
    pub fn change(&self) -> Option<ChangeKind> {
        match (&self.old, &self.new) {
            (None, Some(_)) => Some(ChangeKind::Create),
            (Some(_), None) => Some(ChangeKind::Remove),
            (old, new) if old != new || self.mode_change.is_some() => Some(ChangeKind::Update),
            _ => None,
        }
    }
}

/// `git diff` style output for one file; empty when nothing differs.
pub fn unified(pair: &FilePair, style: DiffStyle) -> String {
    // Most files of a drift check are unchanged; comparing is cheaper than diffing.
    if pair.old == pair.new && pair.mode_change.is_none() {
        return String::new();
    }
    let old = pair.old.as_deref().unwrap_or("");
    let new = pair.new.as_deref().unwrap_or("");
    let mut out = String::new();
    let old_label = if pair.old.is_some() {
        format!("a/{}", pair.path.trim_start_matches('/'))
    } else {
        "/dev/null".to_owned()
    };
    let new_label = if pair.new.is_some() {
        format!("b/{}", pair.path.trim_start_matches('/'))
    } else {
        "/dev/null".to_owned()
    };
    let diff = TextDiff::from_lines(old, new);
    let mut headers_written = false;
    let mut write_headers = |out: &mut String| {
        if !headers_written {
            let _ = writeln!(out, "{}", style.paint("1", &format!("--- {old_label}")));
            let _ = writeln!(out, "{}", style.paint("1", &format!("+++ {new_label}")));
            headers_written = true;
        }
    };
    if let Some((from, to)) = pair.mode_change {
        write_headers(&mut out);
        let _ = writeln!(out, "mode {from:04o} -> {to:04o}");
    }
    let mut unified = diff.unified_diff();
    unified.context_radius(style.context);
    for hunk in unified.iter_hunks() {
        write_headers(&mut out);
        let _ = writeln!(out, "{}", style.paint("36", &hunk.header().to_string()));
        for change in hunk.iter_changes() {
            let line = format!("{}{}", change.tag(), change.to_string_lossy());
            let line = line.strip_suffix('\n').unwrap_or(&line);
            let painted = match change.tag() {
                ChangeTag::Delete => style.paint("31", line),
                ChangeTag::Insert => style.paint("32", line),
                ChangeTag::Equal => line.to_owned(),
            };
            let _ = writeln!(out, "{painted}");
            if change.missing_newline() {
                let _ = writeln!(out, "\\ No newline at end of file");
            }
        }
    }
    out
}

/// Lines added and removed in one file.
pub fn counts(pair: &FilePair) -> (usize, usize) {
    if pair.old == pair.new {
        return (0, 0);
    }
    let diff = TextDiff::from_lines(
        pair.old.as_deref().unwrap_or(""),
        pair.new.as_deref().unwrap_or(""),
    );
    let mut insertions = 0;
    let mut deletions = 0;
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => insertions += 1,
            ChangeTag::Delete => deletions += 1,
            ChangeTag::Equal => {}
        }
    }
    (insertions, deletions)
}

/// `git diff --stat`: a line per file with a bar of `+` and `-`, then a total.
pub fn stat(pairs: &[FilePair], style: DiffStyle) -> String {
    const BAR: usize = 50;
    let rows: Vec<(&FilePair, usize, usize)> = pairs
        .iter()
        .map(|p| {
            let (ins, del) = counts(p);
            (p, ins, del)
        })
        .filter(|(p, ins, del)| ins + del > 0 || p.mode_change.is_some())
        .collect();
    let mut out = String::new();
    if rows.is_empty() {
        return out;
    }
    let name_width = rows.iter().map(|r| r.0.path.len()).max().unwrap_or(0);
    let most = rows.iter().map(|r| r.1 + r.2).max().unwrap_or(1).max(1);
    let count_width = most.to_string().len();
    let (mut total_ins, mut total_del) = (0, 0);
    for (pair, ins, del) in &rows {
        total_ins += ins;
        total_del += del;
        let scale = |n: usize| if most > BAR { (n * BAR).div_ceil(most) } else { n };
        let bar = format!(
            "{}{}",
            style.paint("32", &"+".repeat(scale(*ins))),
            style.paint("31", &"-".repeat(scale(*del)))
        );
        let path = pair.path;
        let _ = writeln!(out, " {path:<name_width$} | {:>count_width$} {bar}", ins + del);
    }
    let plural = |n: usize, one: &str, many: &str| if n == 1 { one.to_owned() } else { many.to_owned() };
    let mut summary = format!(" {} {} changed", rows.len(), plural(rows.len(), "file", "files"));
    if total_ins > 0 {
        let _ = write!(
            summary,
            ", {total_ins} {}(+)",
            plural(total_ins, "insertion", "insertions")
        );
    }
    if total_del > 0 {
        let _ = write!(
            summary,
            ", {total_del} {}(-)",
            plural(total_del, "deletion", "deletions")
        );
    }
    let _ = writeln!(out, "{summary}");
    // As git does, mode changes are listed after the summary.
    for (pair, _, _) in &rows {
        if let Some((from, to)) = pair.mode_change {
            let _ = writeln!(out, " mode change {from:04o} => {to:04o} {}", pair.path);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair<'a>(path: &'a str, old: Option<&str>, new: Option<&str>) -> FilePair<'a> {
        FilePair {
            path,
            old: old.map(str::to_owned),
            new: new.map(str::to_owned),
            mode_change: None,
        }
    }

    #[test]
    fn unified_diffs_read_like_git() {
        let style = DiffStyle {
            context: 1,
            color: false,
        };
        let text = unified(
            &pair("d/x.service", Some("a\nb\nc\nd\n"), Some("a\nB\nc\nd\n")),
            style,
        );
        assert_eq!(
            text,
            "--- a/d/x.service\n+++ b/d/x.service\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        );
        let created = unified(&pair("d/new.sh", None, Some("x\n")), style);
        assert!(created.starts_with("--- /dev/null\n+++ b/d/new.sh\n"));
        assert_eq!(unified(&pair("same", Some("x\n"), Some("x\n")), style), "");
    }

    #[test]
    fn stat_counts_lines() {
        let style = DiffStyle {
            context: 3,
            color: false,
        };
        let pairs = [
            pair("a", Some("1\n2\n"), Some("1\n3\n4\n")),
            pair("b", None, Some("x\n")),
        ];
        assert_eq!(
            stat(&pairs, style),
            " a | 3 ++-\n b | 1 +\n 2 files changed, 3 insertions(+), 1 deletion(-)\n"
        );
    }
}
