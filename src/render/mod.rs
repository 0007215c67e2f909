//! Renderers: one per artifact, each formatting the plan and nothing else.
//!
//! Templates are compiled into the binary. Handlebars runs in strict mode and
//! its escape function is replaced by a tripwire: a bare `{{value}}` renders a
//! marker that fails the render, so every value must go through one of the
//! target escapers registered here (`sh`, `unit_arg`, `unit_env`, `unit_url`, …).

mod build_script;
mod cloudwatch;
mod deploy_unit;
pub mod escape;
mod iam;
mod journal_unit;
mod monitor;
mod notify_unit;
mod parts;
mod recover_unit;
mod unit;
mod user_data;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, Renderable, StringOutput,
};
use serde_json::Value;

use crate::plan::Plan;
use crate::problem::USER_DATA_LIMIT;
use parts::Lazy;

pub use iam::render as iam_policy;

/// Printed by a bare `{{value}}`; never part of a finished artifact.
const TRIPWIRE: &str = "\u{0}deployc: value printed without an escaper\u{0}";

/// One file of the output folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub file: String,
    pub bytes: Vec<u8>,
    pub executable: bool,
}

/// Why a plan could not be rendered.
#[derive(Debug)]
pub enum RenderFailure {
    /// The user-data is over EC2's limit. `parts` are the sizes of what it
    /// carries, largest first, before any compression.
    UserDataTooLarge {
        size: usize,
        gzipped: bool,
        parts: Vec<(&'static str, usize)>,
    },
}

/// What the user-data script carries, largest first: the embedded files
/// verbatim, and the bootstrap steps around them.
fn user_data_parts(
    script: &str,
    unit: &str,
    build_script: &str,
    other_units: &[(&str, &str)],
    cloudwatch: Option<&str>,
) -> Vec<(&'static str, usize)> {
    let mut parts = vec![("the build script", build_script.len()), ("the unit", unit.len())];
    let others: usize = other_units.iter().map(|(_, text)| text.len()).sum();
    if others > 0 {
        parts.push(("the other units", others));
    }
    if let Some(json) = cloudwatch {
        parts.push(("the CloudWatch agent config", json.len()));
    }
    let embedded: usize = parts.iter().map(|(_, size)| size).sum();
    parts.push(("the bootstrap steps", script.len().saturating_sub(embedded)));
    parts.sort_by_key(|&(_, size)| std::cmp::Reverse(size));
    parts
}

/// A build script or unit as user-data carries and installs it: its header,
/// then its lines without the comment lines among them.
pub fn carried(text: &str) -> String {
    user_data::compact(text)
}

/// User-data gzip'd by an earlier render, and the script it holds.
pub struct Compressed {
    pub script: String,
    pub bytes: Vec<u8>,
}

/// Every artifact of a plan, in a fixed order. `previous`: gzip'd user-data
/// an earlier render wrote; when it holds the same script it is reused, since
/// compressing again would give the same bytes (and is a fifth of a render).
pub fn render_all(plan: &Plan, previous: Option<&Compressed>) -> Result<Vec<Artifact>, RenderFailure> {
    let templates = &*ENGINE;
    // Handlebars reads the plan as JSON: converted once, for every template that reads it.
    let json = Context::wraps(plan).expect("a plan converts to JSON");
    let unit = unit::render(templates, &json);
    let build_script = build_script::render(templates, &json);
    let cloudwatch = cloudwatch::render(plan);
    // The units beside the main one, each with where it is installed.
    let mut units: Vec<(&crate::plan::UnitFile, String)> =
        vec![(&plan.units.deploy, deploy_unit::render(templates, &json))];
    if let Some(monitor) = &plan.units.monitor {
        units.push((&monitor.service, monitor::render_service(templates, &json)));
        units.push((&monitor.timer, monitor::render_timer(templates, &json)));
        units.push((&monitor.recover, recover_unit::render(templates, &json)));
    }
    if let Some(notify) = &plan.units.notify {
        units.push((&notify.file, notify_unit::render(templates, &json)));
    }
    if let Some(journal) = &plan.units.journal {
        units.push((&journal.unit, journal_unit::render(templates, &json)));
    }
    let mut artifacts = vec![
        Artifact {
            file: plan.files.unit.clone(),
            bytes: unit.clone().into_bytes(),
            executable: false,
        },
        Artifact {
            file: plan.files.build_script.clone(),
            bytes: build_script.clone().into_bytes(),
            executable: true,
        },
    ];
    artifacts.extend(units.iter().map(|(file, text)| Artifact {
        file: file.name.clone(),
        bytes: text.clone().into_bytes(),
        executable: false,
    }));
    if let Some(file) = &plan.files.user_data {
        let carried_units: Vec<(&str, String)> =
            units.iter().map(|(f, t)| (f.path.as_str(), carried(t))).collect();
        let other_units: Vec<(&str, &str)> = carried_units
            .iter()
            .map(|(path, text)| (*path, text.as_str()))
            .collect();
        let carried_unit = carried(&unit);
        let carried_script = carried(&build_script);
        let script = user_data::render(
            templates,
            plan,
            &carried_unit,
            &carried_script,
            &other_units,
            cloudwatch.as_deref(),
        );
        let parts = user_data_parts(
            &script,
            &carried_unit,
            &carried_script,
            &other_units,
            cloudwatch.as_deref(),
        );
        // The size check measures what EC2 receives; reviewers diff the readable text.
        let delivered = plan.files.user_data_gz.as_ref().map(|gz| match previous {
            Some(previous) if previous.script == script => (gz, previous.bytes.clone()),
            _ => (gz, gzip(script.as_bytes())),
        });
        let size = delivered.as_ref().map_or(script.len(), |(_, bytes)| bytes.len());
        if size > USER_DATA_LIMIT {
            return Err(RenderFailure::UserDataTooLarge {
                size,
                gzipped: delivered.is_some(),
                parts,
            });
        }
        artifacts.push(Artifact {
            file: file.clone(),
            bytes: script.into_bytes(),
            executable: true,
        });
        if let Some((gz, bytes)) = delivered {
            artifacts.push(Artifact {
                file: gz.clone(),
                bytes,
                executable: false,
            });
        }
    }
    if let (Some(file), Some(json)) = (&plan.files.cloudwatch, cloudwatch) {
        artifacts.push(Artifact {
            file: file.clone(),
            bytes: json.into_bytes(),
            executable: false,
        });
    }
    Ok(artifacts)
}

/// Deterministic gzip: no file name, no timestamp.
fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(3)
        .write(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// The helpers. Templates are not registered here: each is parsed in parts,
/// when first rendered, with its partials written into it (`parts.rs`).
static ENGINE: std::sync::LazyLock<Handlebars<'static>> = std::sync::LazyLock::new(|| {
    let mut hb = registry();
    hb.register_helper(parts::HELPER, Box::new(PartHelper));
    hb
});

/// The partials every service unit shares.
const PARTIALS: &[(&str, &str)] = &[
    ("identity", include_str!("templates/identity.hbs")),
    ("stages", include_str!("templates/stages.hbs")),
    ("sandbox", include_str!("templates/sandbox.hbs")),
];

/// Every template, by the name its renderer (or, for a partial, a stub) asks for.
static TEMPLATES: [Lazy; 12] = [
    Lazy::new(PARTIALS[0].0, PARTIALS[0].1),
    Lazy::new(PARTIALS[1].0, PARTIALS[1].1),
    Lazy::new(PARTIALS[2].0, PARTIALS[2].1),
    Lazy::new("unit", unit::TEMPLATE),
    Lazy::new("build_script", build_script::TEMPLATE),
    Lazy::new("deploy_unit", deploy_unit::TEMPLATE),
    Lazy::new("monitor_service", monitor::SERVICE_TEMPLATE),
    Lazy::new("monitor_timer", monitor::TIMER_TEMPLATE),
    Lazy::new("recover_unit", recover_unit::TEMPLATE),
    Lazy::new("notify_unit", notify_unit::TEMPLATE),
    Lazy::new("journal_unit", journal_unit::TEMPLATE),
    Lazy::new("user_data", user_data::TEMPLATE),
];

fn template(name: &str) -> &'static Lazy {
    TEMPLATES
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no template {name}"))
}

/// The registry with the escapers as its only way to print values.
fn registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(|_| TRIPWIRE.to_owned());
    let escapers: [(&str, EscapeFn, bool); 7] = [
        ("sh", escape::bash, false),
        ("sh_words", escape::bash, true),
        ("unit_arg", escape::unit_arg, false),
        ("unit_args", escape::unit_arg, true),
        ("unit_text", escape::unit_text, false),
        ("unit_url", escape::unit_url, false),
        ("comment", comment, false),
    ];
    for (name, escape, list) in escapers {
        hb.register_helper(name, Box::new(Escaper { escape, list }));
    }
    hb.register_helper("unit_env", Box::new(unit_env_helper));
    hb.register_helper("num", Box::new(number_helper));
    hb.register_helper("heredoc", Box::new(heredoc_helper));
    hb
}

/// `{{#deployc_part "TEMPLATE" FIRST END}}{{/deployc_part}}`: the parts FIRST
/// to END (exclusive) of a template in order, each parsed when first rendered,
/// in the caller's context and block scope.
struct PartHelper;

impl HelperDef for PartHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let (Value::String(name), Some(first), Some(end)) =
            (param(h, 0)?, param(h, 1)?.as_u64(), param(h, 2)?.as_u64())
        else {
            return Err(RenderErrorReason::Other("parts are named by template and numbers".into()).into());
        };
        let template = template(name);
        (first..end).try_for_each(|index| template.part(index as usize).render(r, ctx, rc, out))
    }
}

/// Renders a template with the helpers of `hb`; a failure here is a bug in deployc.
fn render_template<'reg>(hb: &'reg Handlebars<'reg>, name: &str, data: &impl serde::Serialize) -> String {
    let ctx = Context::wraps(data).unwrap_or_else(|e| panic!("template {name}: no JSON for its data: {e}"));
    render_in(hb, name, &ctx)
}

/// `render_template` with its data already converted, so templates that read
/// the same data share one conversion.
fn render_in<'reg>(hb: &'reg Handlebars<'reg>, name: &str, ctx: &Context) -> String {
    let mut out = StringOutput::new();
    let rendered = template(name)
        .root()
        .render(hb, ctx, &mut RenderContext::new(None), &mut out)
        .and_then(|()| out.into_string().map_err(|e| RenderErrorReason::from(e).into()));
    let text = rendered.unwrap_or_else(|e| panic!("template {name} failed to render: {e}"));
    assert!(
        !text.contains('\u{0}'),
        "template {name} prints a value without an escaper"
    );
    text
}

/// Text for a comment line: a spec file name may hold a newline, which would
/// end the comment and start a directive or a command.
fn comment(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

fn param<'a>(h: &'a Helper, index: usize) -> Result<&'a Value, RenderError> {
    h.param(index)
        .map(|p| p.value())
        .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex("escaper", index).into())
}

fn scalar(value: &Value) -> Result<String, RenderError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(RenderErrorReason::Other(format!("cannot escape {other}")).into()),
    }
}

type EscapeFn = fn(&str) -> String;

/// Prints its argument through a target escaper: one value, or with `list`
/// a list of words, each escaped, joined by spaces.
struct Escaper {
    escape: EscapeFn,
    list: bool,
}

impl HelperDef for Escaper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let text = match (param(h, 0)?, self.list) {
            (Value::Array(items), true) => {
                let words: Result<Vec<String>, RenderError> = items
                    .iter()
                    .map(|v| scalar(v).map(|s| (self.escape)(&s)))
                    .collect();
                words?.join(" ")
            }
            (value, false) => (self.escape)(&scalar(value)?),
            (other, true) => {
                return Err(RenderErrorReason::Other(format!("expected a list, got {other}")).into());
            }
        };
        out.write(&text)?;
        Ok(())
    }
}

fn unit_env_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let key = scalar(param(h, 0)?)?;
    let value = scalar(param(h, 1)?)?;
    out.write(&escape::unit_env(&key, &value))?;
    Ok(())
}

/// The body of a quoted heredoc, then its delimiter line: printed verbatim,
/// which is safe only because no line of the body is the delimiter.
fn heredoc_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let body = scalar(param(h, 0)?)?;
    let delimiter = scalar(param(h, 1)?)?;
    if body.lines().any(|line| line == delimiter) {
        return Err(
            RenderErrorReason::Other(format!("a line of the body is the delimiter {delimiter}")).into(),
        );
    }
    out.write(&body)?;
    if !body.ends_with('\n') {
        out.write("\n")?;
    }
    out.write(&delimiter)?;
    Ok(())
}

fn number_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    match param(h, 0)? {
        Value::Number(n) => {
            out.write(&n.to_string())?;
            Ok(())
        }
        other => Err(RenderErrorReason::Other(format!("expected a number, got {other}")).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_value_trips_the_wire() {
        let mut hb = registry();
        hb.register_template_string("t", "x={{value}}").unwrap();
        let text = hb.render("t", &serde_json::json!({"value": "$(id)"})).unwrap();
        assert!(text.contains('\u{0}'));
    }

    #[test]
    fn templates_never_use_triple_braces() {
        let templates = [
            unit::TEMPLATE,
            build_script::TEMPLATE,
            user_data::TEMPLATE,
            deploy_unit::TEMPLATE,
            monitor::SERVICE_TEMPLATE,
            monitor::TIMER_TEMPLATE,
            recover_unit::TEMPLATE,
            notify_unit::TEMPLATE,
            journal_unit::TEMPLATE,
        ];
        for text in templates.into_iter().chain(PARTIALS.iter().map(|(_, t)| *t)) {
            assert!(!text.contains("{{{"), "triple braces skip the escapers");
            assert!(!text.contains("{{&"), "{{& skips the escapers");
        }
    }

    #[test]
    fn every_part_of_every_template_parses() {
        // Parts are parsed when first rendered; a part no example renders must parse too.
        for template in &TEMPLATES {
            for index in 0..template.part_count() {
                template.part(index);
            }
        }
    }

    #[test]
    fn gzip_is_deterministic_and_readable() {
        use std::io::Read;
        let data = b"#!/bin/bash\necho hi\n".repeat(100);
        assert_eq!(gzip(&data), gzip(&data));
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gzip(&data)[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, data);
    }
}
