//! `docs/language.md`, the language reference, against the decoder: it has a
//! section for every node the decoder accepts and names each of its
//! properties, quotes every keyword and limit, and every example in it
//! checks clean.
//!
//! Node sections are headings whose whole text is the node's name in
//! backticks, nested as the blocks are: `## \`cloudwatch\``, then
//! `### \`metrics\``, then `#### \`disk\``. The vocabulary comes from
//! `deployc::decode::{BLOCKS, PROPERTIES}`, the lists the decoder itself
//! accepts and suggests from.
//!
//! Examples are fenced blocks: ```` ```kdl ```` is a complete spec, checked as
//! written; ```` ```kdl fragment ```` is part of one, completed with
//! `version 1`, and `project "shop"` and `service "web"` where it has no
//! project or service of its own; ```` ```json ```` is a complete JSON spec.

use std::collections::HashMap;

use deployc::decode::{BLOCKS, PROPERTIES};
use deployc::parse::{MAX_SPEC_BYTES, PARSE_DEADLINE};
use deployc::problem::{MAX_BLOCKS, MAX_NESTING, MAX_OPEN_BRACES, RETENTION_DAYS, USER_DATA_LIMIT};
use deployc::values::{Backoff, CacheMode, Engine, Lint, Missing, Order, Progress, RestartPolicy};

use crate::support::{Deployc, repo_file};

const REFERENCE: &str = "docs/language.md";

fn reference() -> String {
    std::fs::read_to_string(repo_file(REFERENCE)).unwrap_or_else(|e| panic!("cannot read {REFERENCE}: {e}"))
}

/// A heading, and the text up to the next heading.
struct Section {
    level: usize,
    title: String,
    /// The nodes this heading documents and those it is nested in, outermost
    /// first; `None` for a heading that is not a node's.
    path: Option<Vec<String>>,
    body: String,
}

/// A fenced block: its info string, text, and the line its fence opens on.
struct Fence {
    info: String,
    text: String,
    line: usize,
}

struct Document {
    sections: Vec<Section>,
    fences: Vec<Fence>,
    /// Node headings that are not nested in their block's heading.
    misplaced: Vec<String>,
}

/// `` `name` `` → `name`.
fn node_name(title: &str) -> Option<&str> {
    let name = title.strip_prefix('`')?.strip_suffix('`')?;
    (!name.is_empty() && !name.contains([' ', '`'])).then_some(name)
}

fn parse(text: &str) -> Document {
    let mut sections: Vec<Section> = Vec::new();
    let mut fences = Vec::new();
    let mut misplaced = Vec::new();
    let mut fence: Option<Fence> = None;
    for (index, line) in text.lines().enumerate() {
        let heading = line
            .split_once(' ')
            .filter(|(hashes, _)| !hashes.is_empty() && hashes.chars().all(|c| c == '#'));
        if let Some(open) = &mut fence {
            if line == "```" {
                fences.push(fence.take().expect("an open fence"));
            } else {
                open.text.push_str(line);
                open.text.push('\n');
            }
        } else if let Some((hashes, title)) = heading {
            let level = hashes.len();
            let path = node_name(title).and_then(|name| {
                // A node's heading is `##` at the top, or one level below its block's.
                let mut path = match level {
                    2 => Vec::new(),
                    _ => match sections
                        .iter()
                        .rev()
                        .find(|s| s.level < level)
                        .filter(|s| s.level + 1 == level)
                        .and_then(|s| s.path.clone())
                    {
                        Some(block) => block,
                        None => {
                            misplaced.push(format!("line {}: {line}", index + 1));
                            return None;
                        }
                    },
                };
                path.push(name.to_owned());
                Some(path)
            });
            sections.push(Section {
                level,
                title: title.to_owned(),
                path,
                body: String::new(),
            });
            continue;
        } else if let Some(info) = line.strip_prefix("```") {
            fence = Some(Fence {
                info: info.to_owned(),
                text: String::new(),
                line: index + 1,
            });
        }
        if let Some(section) = sections.last_mut() {
            section.body.push_str(line);
            section.body.push('\n');
        }
    }
    assert!(fence.is_none(), "{REFERENCE}: a fenced block is not closed");
    Document {
        sections,
        fences,
        misplaced,
    }
}

fn joined(path: &[&str]) -> String {
    path.join(" ")
}

/// Every node the decoder accepts, as `block node` paths.
fn accepted() -> Vec<String> {
    BLOCKS
        .iter()
        .flat_map(|(block, nodes)| {
            nodes.iter().map(|node| {
                let mut path = block.to_vec();
                path.push(node);
                joined(&path)
            })
        })
        .collect()
}

fn node_sections(document: &Document) -> Vec<(String, &Section)> {
    document
        .sections
        .iter()
        .filter_map(|s| s.path.as_ref().map(|p| (p.join(" "), s)))
        .collect()
}

#[test]
fn every_node_has_a_section_and_every_section_a_node() {
    let document = parse(&reference());
    assert!(
        document.misplaced.is_empty(),
        "{REFERENCE}: node headings outside their block's section: {:#?}",
        document.misplaced
    );
    let documented: Vec<String> = node_sections(&document).into_iter().map(|(p, _)| p).collect();
    let accepted = accepted();
    let missing: Vec<&String> = accepted.iter().filter(|n| !documented.contains(n)).collect();
    assert!(
        missing.is_empty(),
        "{REFERENCE} has no section for these nodes the decoder accepts: {missing:?}"
    );
    let unknown: Vec<&String> = documented.iter().filter(|n| !accepted.contains(n)).collect();
    assert!(
        unknown.is_empty(),
        "{REFERENCE} documents nodes the decoder does not accept (or in another block): {unknown:?}"
    );
    let mut repeated = documented.clone();
    repeated.sort();
    repeated.dedup();
    assert_eq!(repeated.len(), documented.len(), "a node has two sections");
}

#[test]
fn every_property_is_named_in_its_nodes_section() {
    let document = parse(&reference());
    let sections = node_sections(&document);
    let mut missing = Vec::new();
    for (path, properties) in PROPERTIES {
        let path = joined(path);
        let body = sections
            .iter()
            .find(|(p, _)| *p == path)
            .map_or("", |(_, s)| s.body.as_str());
        for property in *properties {
            if !body.contains(&format!("`{property}=`")) {
                missing.push(format!("{path}: `{property}=`"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{REFERENCE} does not name these properties in their node's section: {missing:?}"
    );
}

#[test]
fn every_node_has_an_example() {
    let document = parse(&reference());
    let without: Vec<String> = node_sections(&document)
        .into_iter()
        .filter(|(_, s)| !s.body.contains("```kdl"))
        .map(|(p, _)| p)
        .collect();
    assert!(
        without.is_empty(),
        "{REFERENCE}: these nodes' sections have no example: {without:?}"
    );
}

/// Whether `spec` has a node `name` at its top level.
fn has_top_level(spec: &str, name: &str) -> bool {
    spec.lines()
        .any(|line| line.split([' ', '{', ';']).next() == Some(name))
}

/// A fragment completed into a spec, as the reference says.
fn complete(fragment: &str) -> String {
    let mut spec = String::from("version 1\n");
    if !has_top_level(fragment, "project") {
        spec.push_str("project \"shop\"\n");
    }
    spec.push_str(fragment);
    if !has_top_level(fragment, "service") {
        spec.push_str("service \"web\" { image \"nginx:1.27\"; }\n");
    }
    spec
}

#[test]
fn every_example_checks_clean() {
    let document = parse(&reference());
    let mut checked = 0;
    let mut failures = Vec::new();
    for fence in &document.fences {
        let (name, spec) = match fence.info.as_str() {
            "kdl" => ("example.kdl", fence.text.clone()),
            "kdl fragment" => {
                assert!(
                    !has_top_level(&fence.text, "version"),
                    "{REFERENCE}:{}: a fragment with `version` is a complete spec; mark it ```kdl",
                    fence.line
                );
                ("example.kdl", complete(&fence.text))
            }
            "json" => ("example.json", fence.text.clone()),
            other => {
                assert!(
                    !other.starts_with("kdl"),
                    "{REFERENCE}:{}: unknown marker ```{other}: use ```kdl or ```kdl fragment",
                    fence.line
                );
                continue;
            }
        };
        checked += 1;
        let compiled = deployc::compile(name, spec.as_bytes());
        let shown: Vec<String> = compiled
            .checked
            .diagnostics
            .iter()
            .map(|d| deployc::diagnostic::render_human(d, &compiled.checked.source, false))
            .collect();
        if !shown.is_empty() || compiled.artifacts.is_none() {
            failures.push(format!(
                "{REFERENCE}:{} ({}):\n{spec}\n{}",
                fence.line,
                fence.info,
                shown.join("\n")
            ));
        }
    }
    assert!(checked > 0, "{REFERENCE} has no examples");
    assert!(
        failures.is_empty(),
        "examples that do not check clean:\n\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn the_reference_quotes_every_keyword_and_limit() {
    let text = reference();
    let keywords = [
        RestartPolicy::WORDS,
        Order::WORDS,
        Progress::WORDS,
        Engine::WORDS,
        CacheMode::WORDS,
        Missing::WORDS,
        Backoff::WORDS,
        Lint::WORDS,
    ];
    let missing: Vec<&str> = keywords
        .iter()
        .flat_map(|words| words.iter().copied())
        .filter(|word| !text.contains(&format!("`{word}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "{REFERENCE} does not list these keywords: {missing:?}"
    );

    // Compared with lines joined, as the text wraps anywhere.
    let prose = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let days: Vec<String> = RETENTION_DAYS.iter().map(ToString::to_string).collect();
    let (last_day, days) = days.split_last().expect("retention periods");
    let limits = [
        format!("at most {} MiB", MAX_SPEC_BYTES >> 20),
        format!("more than {MAX_BLOCKS} blocks open at once"),
        format!("more than {MAX_OPEN_BRACES} `{{` open at once"),
        format!("more than {MAX_NESTING} deep"),
        format!("gives the parser {} seconds", PARSE_DEADLINE.as_secs()),
        format!(
            "limit of {},{:03} bytes",
            USER_DATA_LIMIT / 1000,
            USER_DATA_LIMIT % 1000
        ),
        format!("{} or {last_day}", days.join(", ")),
    ];
    let missing: Vec<&String> = limits.iter().filter(|limit| !prose.contains(*limit)).collect();
    assert!(missing.is_empty(), "{REFERENCE} does not say: {missing:?}");
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as `-`.
fn anchor(title: &str) -> String {
    title
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_link_within_the_reference_finds_its_heading() {
    let text = reference();
    let document = parse(&text);
    // A repeated anchor gets `-1`, `-2`, … in the order of the headings.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors: Vec<String> = Vec::new();
    for section in &document.sections {
        let base = anchor(&section.title);
        let repeats = seen.entry(base.clone()).or_default();
        anchors.push(match *repeats {
            0 => base,
            n => format!("{base}-{n}"),
        });
        *repeats += 1;
    }
    let broken: Vec<&str> = text
        .split("](#")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|target| !anchors.iter().any(|a| a == target))
        .collect();
    assert!(broken.is_empty(), "{REFERENCE}: links to no heading: {broken:?}");
}

#[test]
fn the_binary_prints_the_reference() {
    Deployc::new()
        .arg("language")
        .run()
        .status(0)
        .stderr_empty()
        .stdout_is(&reference());
}
