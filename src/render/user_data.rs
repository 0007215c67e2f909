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

/// The build script or a unit as user-data carries it: its code, its `#!`
/// line and the line saying where it came from, without the other comments
/// (usage, why each directive), which are for readers of the repository and
/// take a fifth of EC2's 16 KB, and indented with tabs instead of groups of
/// four spaces. No line of the script's code and no unit directive starts
/// with `#`, and no quoted string of the script spans lines (a test runs the
/// result), so only comments and the width of indentation change.
pub fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut origin_kept = false;
    for line in text.lines() {
        let body = line.trim_start_matches(' ');
        if body.starts_with('#') && !body.starts_with("#!") && std::mem::replace(&mut origin_kept, true) {
            continue;
        }
        let indent = line.len() - body.len();
        out.extend(std::iter::repeat_n('\t', indent / 4));
        out.extend(std::iter::repeat_n(' ', indent % 4));
        out.push_str(body);
        out.push('\n');
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
