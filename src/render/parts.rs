//! Templates cut into small parts, each parsed by Handlebars when first rendered.
//!
//! Parsing is what a render costs: Handlebars' parser spends several hundred
//! instructions on each byte of template text, and it locates every element by
//! counting lines from the start of its template, which grows with the square
//! of the template's length. So a template is cut, at line boundaries, into
//! parts of at most `PART_BYTES`, and the body of every block (`{{#if}}`,
//! `{{else}}`, `{{#each}}`) longer than `LAZY_BYTES` becomes a part of its own:
//! a section the spec does not use is never parsed.
//!
//! Parts are rendered by a stub, a block helper alone on its lines, here
//! parts 7 to 9 in order:
//!
//! ```text
//! {{#deployc_part "build_script" 7 10}}
//! {{/deployc_part}}
//! ```
//!
//! Standalone block tags are removed with their lines, as the original
//! block tags around the part were, and the helper renders the part in the same
//! context and block scope (`this`, `../`, `@index`), so the output is the
//! template's own, byte for byte. Cuts are made only where that holds: between
//! lines, outside any block whose tags share a line with other text, and never
//! beside whitespace control (`~`).
//!
//! Partials are templates of their own, included by the same stub
//! (`inline_partials`) rather than by `{{> partial}}`: Handlebars renders a
//! partial in a deep copy of its whole context, the plan, which cost more
//! than rendering the partial did.

use std::sync::OnceLock;

use handlebars::Template;

/// The name of the helper a stub calls.
pub const HELPER: &str = "deployc_part";

/// At most this much template text is parsed in one piece, where it can be cut.
const PART_BYTES: usize = 400;

/// A block body at least this long is parsed only when it is rendered.
const LAZY_BYTES: usize = 160;

/// One template: its name, its text, and its parts once it is first needed.
pub struct Lazy {
    pub name: &'static str,
    pub text: &'static str,
    parts: OnceLock<Vec<Part>>,
}

struct Part {
    text: String,
    compiled: OnceLock<Template>,
}

impl Lazy {
    pub const fn new(name: &'static str, text: &'static str) -> Lazy {
        Lazy {
            name,
            text,
            parts: OnceLock::new(),
        }
    }

    fn parts(&self) -> &[Part] {
        self.parts.get_or_init(|| {
            cut(self.name, &inline_partials(self.text, super::PARTIALS))
                .into_iter()
                .map(|text| Part {
                    text,
                    compiled: OnceLock::new(),
                })
                .collect()
        })
    }

    /// The template that renders the whole: part 0.
    pub fn root(&self) -> &Template {
        self.part(0)
    }

    /// Part `index`, parsed on first use; a template that does not parse is a bug in deployc.
    pub fn part(&self, index: usize) -> &Template {
        let part = &self.parts()[index];
        part.compiled.get_or_init(|| {
            let name = format!("{}.part{index}", self.name);
            Template::compile_with_name(&part.text, name)
                .unwrap_or_else(|e| panic!("template {} does not parse: {e}", self.name))
        })
    }

    /// How many parts the template has (tests parse every one).
    #[cfg(test)]
    pub fn part_count(&self) -> usize {
        self.parts().len()
    }
}

/// `text` with each line that includes a partial replaced by a stub that
/// renders the partial's template (named as the partial) in place:
/// `{{> name}}` in the same context, and `{{> name key=path}}` inside
/// `{{#with path as |key|}}`, where the partial reads `key.…` as it read the
/// hash. Both are alone on their lines at column 0, so nothing is indented,
/// and the output is what Handlebars' partial printed. Any other use of a
/// partial is a bug in deployc.
fn inline_partials(text: &str, partials: &[(&str, &str)]) -> String {
    let stub = |name: &str| {
        assert!(partials.iter().any(|(n, _)| *n == name), "no partial {name}");
        format!("{{{{#{HELPER} \"{name}\" 0 1}}}}\n{{{{/{HELPER}}}}}\n")
    };
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if !line.contains("{{>") {
            out.push_str(line);
            continue;
        }
        let tag = line
            .strip_suffix('\n')
            .and_then(|l| l.strip_prefix("{{> "))
            .and_then(|l| l.strip_suffix("}}"))
            .unwrap_or_else(|| panic!("a partial must be alone on its line: {line:?}"));
        match tag.split_once(' ') {
            None => out.push_str(&stub(tag)),
            Some((name, hash)) => {
                let Some((key, path)) = hash.split_once('=').filter(|(_, path)| !path.contains(' ')) else {
                    panic!("a partial takes one key=path at most: {line:?}");
                };
                out.push_str(&format!("{{{{#with {path} as |{key}|}}}}\n"));
                out.push_str(&stub(name));
                out.push_str("{{/with}}\n");
            }
        }
    }
    out
}

/// A line of template text (with its newline) and the block tags on it.
struct Line<'a> {
    text: &'a str,
    /// Blocks opened and closed on the line.
    opens: usize,
    closes: usize,
    /// The line holds one block tag and nothing else but blanks.
    alone: Option<Tag>,
    /// An `{{else}}` or a close outside the blocks the line itself opens.
    reaches_out: bool,
    /// Whitespace control, which may reach across a cut.
    tilde: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    Open,
    Else,
    Close,
    Other,
}

fn tag_kind(inner: &str) -> Tag {
    let inner = inner.trim_start_matches('~').trim_start();
    if inner.starts_with('#') {
        Tag::Open
    } else if inner.starts_with('/') {
        Tag::Close
    } else if inner.starts_with('^')
        || inner == "else"
        || inner.starts_with("else ")
        || inner.starts_with("else~")
    {
        Tag::Else
    } else {
        Tag::Other
    }
}

/// Where the line holding byte `at` ends, after its newline.
fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

/// The template's lines; a tag that spans lines joins them into one.
fn lines(text: &str) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = line_end(text, start);
        let (mut opens, mut closes, mut depth, mut reaches_out) = (0, 0, 0isize, false);
        let mut tags = Vec::new();
        let mut at = start;
        while let Some(i) = text[at..end].find("{{") {
            let open = at + i;
            let (close, kind) = match text[open + 2..].find("}}") {
                Some(j) => (open + j + 4, tag_kind(&text[open + 2..open + 2 + j])),
                None => (text.len(), Tag::Other),
            };
            match kind {
                Tag::Open => {
                    opens += 1;
                    depth += 1;
                }
                Tag::Close => {
                    closes += 1;
                    depth -= 1;
                    reaches_out |= depth < 0;
                }
                Tag::Else => reaches_out |= depth <= 0,
                Tag::Other => {}
            }
            tags.push((open, close, kind));
            if close > end {
                // The tag ends on a later line, which joins this one.
                end = if close == text.len() {
                    close
                } else {
                    line_end(text, close)
                };
            }
            at = close;
        }
        let line = &text[start..end];
        let trimmed = line.trim_matches([' ', '\t', '\n', '\r']);
        let alone = match tags.as_slice() {
            [(open, close, kind)] if trimmed.len() == close - open => Some(*kind),
            _ => None,
        };
        lines.push(Line {
            text: line,
            opens,
            closes,
            alone,
            reaches_out,
            tilde: line.contains("{{~") || line.contains("~}}"),
        });
        start = end;
    }
    lines
}

/// Lines of text that stay together, or a block whose tags are alone on their lines.
enum Item {
    Text(std::ops::Range<usize>),
    Block {
        open: usize,
        /// The bodies, each followed by its `{{else}}` line or, last, the close.
        bodies: Vec<(Vec<Item>, usize)>,
    },
}

fn items(lines: &[Line], mut i: usize, end: usize) -> Vec<Item> {
    let mut found = Vec::new();
    while i < end {
        if lines[i].alone == Some(Tag::Open)
            && let Some((block, next)) = block(lines, i, end)
        {
            found.push(block);
            i = next;
            continue;
        }
        // A line that leaves blocks open goes with every line up to their close.
        let start = i;
        let mut depth = 0isize;
        loop {
            depth += lines[i].opens as isize - lines[i].closes as isize;
            i += 1;
            if depth <= 0 || i == end {
                break;
            }
        }
        found.push(Item::Text(start..i));
    }
    found
}

/// The block opened on line `open`, when its `{{else}}` and close lines hold nothing else.
fn block(lines: &[Line], open: usize, end: usize) -> Option<(Item, usize)> {
    let mut dividers = Vec::new();
    let mut depth = 1isize;
    for (j, line) in lines.iter().enumerate().take(end).skip(open + 1) {
        if depth == 1 {
            match line.alone {
                Some(Tag::Else) => {
                    dividers.push(j);
                    continue;
                }
                Some(Tag::Close) => {
                    dividers.push(j);
                    let mut start = open + 1;
                    let bodies = dividers
                        .iter()
                        .map(|&divider| {
                            let body = items(lines, start, divider);
                            start = divider + 1;
                            (body, divider)
                        })
                        .collect();
                    return Some((Item::Block { open, bodies }, j + 1));
                }
                _ if line.reaches_out => return None,
                _ => {}
            }
        }
        depth += line.opens as isize - line.closes as isize;
        if depth <= 0 {
            return None;
        }
    }
    None
}

/// Cuts `text` into parts; part 0 renders the whole.
fn cut(name: &str, text: &str) -> Vec<String> {
    let lines = lines(text);
    let all = items(&lines, 0, lines.len());
    let mut parts = vec![String::new()];
    let mut cutter = Cutter {
        name,
        lines: &lines,
        parts: &mut parts,
    };
    let chunks = cutter.sequence(&all);
    parts[0] = if chunks.len() == 1 {
        chunks.into_iter().collect()
    } else {
        cutter.stub(chunks)
    };
    parts
}

struct Cutter<'a, 'b> {
    name: &'a str,
    lines: &'a [Line<'b>],
    parts: &'a mut Vec<String>,
}

impl Cutter<'_, '_> {
    /// New parts, and the stub that renders them in order.
    fn stub(&mut self, chunks: Vec<String>) -> String {
        let first = self.parts.len();
        self.parts.extend(chunks);
        format!(
            "{{{{#{HELPER} \"{}\" {first} {}}}}}\n{{{{/{HELPER}}}}}\n",
            self.name,
            self.parts.len()
        )
    }

    /// Whether the item's first and last lines use whitespace control.
    fn tildes(&self, item: &Item) -> (bool, bool) {
        let (first, last) = match item {
            Item::Text(range) => (range.start, range.end - 1),
            Item::Block { open, bodies } => (*open, bodies.last().map_or(*open, |(_, divider)| *divider)),
        };
        (self.lines[first].tilde, self.lines[last].tilde)
    }

    fn item(&mut self, item: &Item) -> String {
        match item {
            Item::Text(range) => self.lines[range.clone()].iter().map(|l| l.text).collect(),
            Item::Block { open, bodies } => {
                let mut text = self.lines[*open].text.to_owned();
                for (body, divider) in bodies {
                    let chunks = self.sequence(body);
                    let fenced = self.lines[*open].tilde || self.lines[*divider].tilde;
                    let short = chunks.len() == 1 && chunks[0].len() < LAZY_BYTES;
                    if short || fenced {
                        text.extend(chunks);
                    } else {
                        text += &self.stub(chunks);
                    }
                    text += self.lines[*divider].text;
                }
                text
            }
        }
    }

    /// A run of items, cut into chunks of at most `PART_BYTES` where it can be.
    fn sequence(&mut self, items: &[Item]) -> Vec<String> {
        let mut chunks = vec![String::new()];
        let mut tilde_before = false;
        for item in items {
            let (tilde_first, tilde_last) = self.tildes(item);
            let text = self.item(item);
            let current = chunks.last().expect("one chunk");
            let cut = !current.is_empty()
                && current.len() + text.len() > PART_BYTES
                && current.ends_with('\n')
                && !tilde_before
                && !tilde_first;
            if cut {
                chunks.push(String::new());
            }
            chunks.last_mut().expect("one chunk").push_str(&text);
            tilde_before = tilde_last;
        }
        chunks
    }
}

#[cfg(test)]
mod tests {
    use super::{cut, inline_partials};

    #[test]
    fn partials_are_rendered_by_stubs() {
        let partials = [("p", "P={{unit_arg x.a}}\n")];
        let text = "a\n{{> p}}\n{{> p x=y.z}}\nb\n";
        let stub = "{{#deployc_part \"p\" 0 1}}\n{{/deployc_part}}\n";
        assert_eq!(
            inline_partials(text, &partials),
            format!("a\n{stub}{{{{#with y.z as |x|}}}}\n{stub}{{{{/with}}}}\nb\n")
        );
    }

    #[test]
    fn long_bodies_and_long_runs_become_parts() {
        let body = "line of the body\n".repeat(20);
        let text = format!("head\n{{{{#if a}}}}\n{body}{{{{else}}}}\nshort\n{{{{/if}}}}\ntail {{{{x}}}}\n");
        let parts = cut("t", &text);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1], body);
        assert!(parts[0].contains("{{#deployc_part \"t\" 1 2}}\n{{/deployc_part}}\n{{else}}\nshort\n"));
    }

    #[test]
    fn blocks_with_tags_inside_lines_stay_whole() {
        let body = "line of the body\n".repeat(20);
        let text = format!("{{{{#if a}}}}x\n{body}{{{{/if}}}}\n");
        assert_eq!(cut("t", &text), vec![text]);
        let inline_else = format!("{{{{#if a}}}}\n{body}x{{{{else}}}}y\n{body}{{{{/if}}}}\n");
        assert_eq!(cut("t", &inline_else), vec![inline_else]);
    }

    #[test]
    fn no_cut_beside_whitespace_control() {
        let line = "{{x~}}\n".to_owned() + &"y".repeat(2000) + "\n";
        let text = line.repeat(3);
        assert_eq!(cut("t", &text), vec![text]);
    }
}
