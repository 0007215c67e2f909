//! `user-data.sh`: the cloud-init script that bootstraps an EC2 host.

use handlebars::Handlebars;
use serde::Serialize;

use crate::plan::Plan;

pub const TEMPLATE: &str = include_str!("templates/user-data.sh.hbs");

#[derive(Serialize)]
struct Context<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    unit_text: &'a str,
    build_script_text: &'a str,
    other_units: Vec<EmbeddedUnit<'a>>,
    cloudwatch_text: Option<&'a str>,
}

#[derive(Serialize)]
struct EmbeddedUnit<'a> {
    path: &'a str,
    text: &'a str,
    /// Its heredoc's delimiter, one per unit, so each can be found in the script.
    delimiter: String,
}

/// A file as user-data carries it: its header (for the build script, usage
/// and exit codes) and its code, without the comments inside, which are for
/// readers of the repository and take a fifth of EC2's 16 KB. No line of the
/// script's code starts with `#` (a test runs the result), and in a unit file
/// such a line is always a comment, so only comment lines go.
pub fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_header = true;
    for line in text.lines() {
        let comment = line.trim_start().starts_with('#');
        in_header &= comment;
        if in_header || !comment {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `unit`, `build_script` and `other_units` are what user-data carries
/// (`compact`); `other_units` are the units beside the main one: where each is
/// installed, and its text.
pub fn render(
    templates: &Handlebars,
    plan: &Plan,
    unit: &str,
    build_script: &str,
    other_units: &[(&str, &str)],
    cloudwatch: Option<&str>,
) -> String {
    let context = Context {
        plan,
        unit_text: unit,
        build_script_text: build_script,
        other_units: other_units
            .iter()
            .enumerate()
            .map(|(index, &(path, text))| EmbeddedUnit {
                path,
                text,
                delimiter: format!("DEPLOYC_UNIT_{}", index + 2),
            })
            .collect(),
        cloudwatch_text: cloudwatch,
    };
    super::render_template(templates, "user_data", &context)
}
