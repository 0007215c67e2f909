//! Diagnostics: a problem, where it is, and how it is shown, in rustc's
//! human format or as one JSON object per line for editors and CI.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;

use crate::problem::{Newlines, Problem, Severity, escape_controls, is_invisible_format};
use crate::span::Span;

/// A spec's text and the name it is shown under.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Byte offset where each line starts, so locating a span is a binary search.
    line_starts: Vec<usize>,
    /// Byte ranges never shown: secrets found in the spec.
    masked: Vec<(usize, usize)>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name: name.into(),
            text,
            line_starts,
            masked: Vec::new(),
        }
    }

    /// Shows the text of `span` as `*` wherever a source line is printed.
    pub fn mask(&mut self, span: Span) {
        if let Some((offset, len)) = span.range() {
            self.masked.push((offset, offset + len));
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn location(&self, offset: usize) -> (usize, usize) {
        let offset = self.floor_char_boundary(offset.min(self.text.len()));
        let line_index = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let line_start = self.line_starts[line_index];
        let column = self.text[line_start..offset].chars().count() + 1;
        (line_index + 1, column)
    }

    fn floor_char_boundary(&self, mut offset: usize) -> usize {
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// A line as shown, masked characters replaced one for one so columns hold.
    fn line_text(&self, line: usize) -> Cow<'_, str> {
        let Some(&start) = self.line_starts.get(line - 1) else {
            return Cow::Borrowed("");
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        let text = self.text[start..end].trim_end_matches('\r');
        let hidden = |offset: usize| self.masked.iter().any(|&(from, to)| (from..to).contains(&offset));
        if !self
            .masked
            .iter()
            .any(|&(from, to)| from < start + text.len() && to > start)
        {
            return Cow::Borrowed(text);
        }
        Cow::Owned(
            text.char_indices()
                .map(|(i, c)| if hidden(start + i) { '*' } else { c })
                .collect(),
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub problem: Problem,
    pub span: Span,
    pub severity: Severity,
    /// Other places worth showing, such as where a duplicate was first given.
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn new(problem: Problem, span: Span) -> Self {
        let severity = problem.severity();
        Diagnostic {
            problem,
            span,
            severity,
            related: Vec::new(),
        }
    }

    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Past this many, problems are counted but not kept: a file that has
/// thousands is not a spec, and showing them all helps no one.
pub const MAX_KEPT: usize = 100;

/// The problems found in one spec, in the order they were found.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    kept: Vec<Diagnostic>,
    dropped_errors: usize,
    dropped_warnings: usize,
}

impl Diagnostics {
    pub fn report(&mut self, problem: Problem, span: Span) {
        self.push(Diagnostic::new(problem, span));
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        if self.kept.len() < MAX_KEPT {
            self.kept.push(diagnostic);
        } else if diagnostic.is_error() {
            self.dropped_errors += 1;
        } else {
            self.dropped_warnings += 1;
        }
    }

    pub fn has_errors(&self) -> bool {
        self.dropped_errors > 0 || self.kept.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.dropped_errors + self.kept.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.dropped_warnings + self.kept.iter().filter(|d| !d.is_error()).count()
    }

    /// How many were counted but not kept.
    pub fn dropped(&self) -> usize {
        self.dropped_errors + self.dropped_warnings
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.kept.iter()
    }

    /// `--deny-warnings`: every warning becomes an error.
    pub fn deny_warnings(&mut self) {
        for d in &mut self.kept {
            d.severity = Severity::Error;
        }
        self.dropped_errors += std::mem::take(&mut self.dropped_warnings);
    }

    /// Sorted by position so the output reads top to bottom; unplaced ones first.
    pub fn sort(&mut self) {
        self.kept
            .sort_by_key(|d| d.span.range().map_or((0, 0), |(o, l)| (o + 1, l)));
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.kept
    }
}

/// ANSI styles, or nothing when colour is off.
#[derive(Clone, Copy)]
struct Style {
    on: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn severity(self, severity: Severity, text: &str) -> String {
        match severity {
            Severity::Error => self.paint("1;31", text),
            Severity::Warning => self.paint("1;33", text),
        }
    }

    fn gutter(self, text: &str) -> String {
        self.paint("1;34", text)
    }

    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
}

struct Mark<'a> {
    line: usize,
    column: usize,
    width: usize,
    label: &'a str,
    primary: bool,
}

/// The rustc-style rendering: header, location, source lines with carets, help.
pub fn render_human(diagnostic: &Diagnostic, source: &SourceFile, color: bool) -> String {
    let style = Style { on: color };
    let problem = &diagnostic.problem;
    let mut out = String::new();
    let header = format!("{}[{}]", diagnostic.severity.as_str(), problem.code());
    let _ = writeln!(
        out,
        "{}{}",
        style.severity(diagnostic.severity, &header),
        style.bold(&format!(": {}", problem.message()))
    );

    let label = problem.label().unwrap_or_default();
    let mut marks: Vec<Mark> = Vec::new();
    if let Some(mark) = mark(source, diagnostic.span, &label, true) {
        marks.push(mark);
    }
    for (span, text) in &diagnostic.related {
        if let Some(mark) = mark(source, *span, text, false) {
            marks.push(mark);
        }
    }
    let width = marks.iter().map(|m| m.line.to_string().len()).max().unwrap_or(1);
    let pad = " ".repeat(width);
    let name = escape_controls(&source.name, Newlines::Escape);
    match marks.iter().find(|m| m.primary) {
        Some(m) => {
            let _ = writeln!(
                out,
                "{pad}{} {}:{}:{}",
                style.gutter("-->"),
                name,
                m.line,
                m.column
            );
        }
        None => {
            let _ = writeln!(out, "{pad}{} {name}", style.gutter("-->"));
        }
    }
    let bar = style.gutter("|");
    let _ = writeln!(out, "{pad} {bar}");
    marks.sort_by_key(|m| (m.line, m.column));
    let mut previous_line: Option<usize> = None;
    let mut window = Window::default();
    for m in &marks {
        if previous_line != Some(m.line) {
            if previous_line.is_some_and(|p| m.line > p + 1) {
                let _ = writeln!(out, "{}", style.gutter("..."));
            }
            window = Window::around(&source.line_text(m.line), m.column);
            let number = format!("{:>width$}", m.line);
            let _ = writeln!(out, "{} {bar} {}", style.gutter(&number), window.text.trim_end());
        }
        previous_line = Some(m.line);
        let prefix = window.prefix(&source.line_text(m.line), m.column);
        let underline = if m.primary { "^" } else { "-" }.repeat(m.width.max(1));
        let underline_and_label = if m.label.is_empty() {
            underline
        } else {
            format!("{underline} {}", m.label)
        };
        let painted = if m.primary {
            style.severity(diagnostic.severity, &underline_and_label)
        } else {
            style.gutter(&underline_and_label)
        };
        let _ = writeln!(out, "{pad} {bar} {}{painted}", " ".repeat(prefix.chars().count()));
    }
    if !marks.is_empty() && (problem.note().is_some() || problem.help().is_some()) {
        let _ = writeln!(out, "{pad} {bar}");
    }
    if let Some(note) = problem.note() {
        // Continuation lines line up under the note's first word.
        let indent = format!("\n{pad}   {}", " ".repeat("note: ".len()));
        let note = note.replace('\n', &indent);
        let _ = writeln!(out, "{pad} {} {}: {note}", style.gutter("="), style.bold("note"));
    }
    if let Some(help) = problem.help() {
        let _ = writeln!(out, "{pad} {} {}: {help}", style.gutter("="), style.bold("help"));
    }
    out
}

fn mark<'a>(source: &SourceFile, span: Span, label: &'a str, primary: bool) -> Option<Mark<'a>> {
    let (offset, len) = span.range()?;
    let (line, column) = source.location(offset);
    let line_len = source.line_text(line).chars().count();
    let end = source.location(offset + len);
    // A span over several lines is underlined to the end of its first line.
    let width = if end.0 == line {
        end.1.saturating_sub(column)
    } else {
        (line_len + 1).saturating_sub(column)
    };
    Some(Mark {
        line,
        column,
        width,
        label,
        primary,
    })
}

/// The part of a long line that is shown: rustc-like, a window around the
/// mark with `...` where text was cut.
#[derive(Default)]
struct Window {
    text: String,
    first_char: usize,
    cut_before: bool,
}

const LONG_LINE: usize = 160;

impl Window {
    fn around(line: &str, column: usize) -> Self {
        let count = line.chars().count();
        if count <= LONG_LINE {
            return Window {
                text: expand_tabs(line),
                first_char: 0,
                cut_before: false,
            };
        }
        let first_char = column
            .saturating_sub(60)
            .min(count.saturating_sub(LONG_LINE - 20));
        let shown: String = line.chars().skip(first_char).take(LONG_LINE - 20).collect();
        let cut_after = first_char + (LONG_LINE - 20) < count;
        let mut text = String::new();
        if first_char > 0 {
            text.push_str("...");
        }
        text.push_str(&expand_tabs(&shown));
        if cut_after {
            text.push_str("...");
        }
        Window {
            text,
            first_char,
            cut_before: first_char > 0,
        }
    }

    /// What stands before `column` on the shown line, for aligning the underline.
    fn prefix(&self, line: &str, column: usize) -> String {
        let before: String = line
            .chars()
            .skip(self.first_char)
            .take((column - 1).saturating_sub(self.first_char))
            .collect();
        let dots = if self.cut_before { "..." } else { "" };
        format!("{dots}{}", expand_tabs(&before))
    }
}

/// The source line as shown: tabs expanded, and control characters (from a
/// binary file, say) and bidirectional overrides replaced, one for one so
/// columns hold, so they cannot drive the terminal or reorder the line.
fn expand_tabs(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' => "    ".to_owned(),
            c if c.is_control() || is_invisible_format(c) => "\u{fffd}".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    /// Tells diagnostics from the file records `render` and `diff` print beside them.
    #[serde(rename = "type")]
    kind: &'static str,
    file: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    code: &'static str,
    severity: &'static str,
    message: String,
    label: Option<String>,
    note: Option<String>,
    help: Option<String>,
}

/// One line of JSON, as `--message-format json` prints it.
pub fn render_json(diagnostic: &Diagnostic, source: &SourceFile) -> String {
    let start = diagnostic.span.range().map(|(o, _)| source.location(o));
    let end = diagnostic.span.range().map(|(o, l)| source.location(o + l));
    let json = JsonDiagnostic {
        kind: "diagnostic",
        file: &source.name,
        line: start.map(|s| s.0),
        column: start.map(|s| s.1),
        end_line: end.map(|e| e.0),
        end_column: end.map(|e| e.1),
        code: diagnostic.problem.code(),
        severity: diagnostic.severity.as_str(),
        message: diagnostic.problem.message(),
        label: diagnostic.problem.label(),
        note: diagnostic.problem.note(),
        help: diagnostic.problem.help(),
    };
    serde_json::to_string(&json).expect("diagnostics serialise")
}
