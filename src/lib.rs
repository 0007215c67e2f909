//! deployc compiles a deployment spec into the files that run it on a host.
//!
//! The pipeline runs one way: [`parse`] → [`decode`] (KDL) or serde (JSON) →
//! [`validate`] → plan → render → output. Each stage is a module.

pub mod budget;
pub mod cli;
pub mod decode;
pub mod diagnostic;
pub mod diff;
pub mod explain;
pub mod model;
pub mod output;
pub mod parse;
pub mod plan;
pub mod problem;
pub mod render;
pub mod secrets;
pub mod span;
pub mod starter;
pub mod suggest;
pub mod validate;
pub mod values;

use diagnostic::{Diagnostics, SourceFile};
use model::Spec;
use parse::Parsed;

/// A spec read and checked: the model when it has no errors, and everything found.
pub struct Checked {
    pub source: SourceFile,
    pub spec: Option<Spec>,
    pub diagnostics: Diagnostics,
}

/// Parses, decodes and validates the spec in `bytes`, read from `name`.
pub fn check(name: &str, bytes: &[u8]) -> Checked {
    let (mut source, parsed) = parse::parse(name, bytes);
    let mut diagnostics = Diagnostics::default();
    let spec = match parsed {
        Err(found) => {
            diagnostics = found;
            None
        }
        Ok(Parsed::Kdl(document)) => Some(decode::decode(&document, &mut diagnostics)),
        Ok(Parsed::Json(spec)) => Some(*spec),
    };
    if let Some(spec) = &spec {
        validate::validate(spec, &mut diagnostics);
    }
    report_secrets(&mut source, &mut diagnostics);
    diagnostics.sort();
    let spec = spec.filter(|_| !diagnostics.has_errors());
    Checked {
        source,
        spec,
        diagnostics,
    }
}

/// Reports secrets in the text that validation has not, and masks every
/// secret so no diagnostic shows it: CI logs are often public.
fn report_secrets(source: &mut SourceFile, diagnostics: &mut Diagnostics) {
    let known: Vec<span::Span> = diagnostics
        .iter()
        .filter(|d| {
            matches!(
                d.problem,
                problem::Problem::LiteralSecret { .. } | problem::Problem::InvalidSsmRef { .. }
            )
        })
        .map(|d| d.span)
        .collect();
    for found in secrets::scan(&source.text) {
        if !known.iter().any(|span| secrets::overlaps(*span, found.span)) {
            diagnostics.report(
                problem::Problem::LiteralSecret {
                    what: found.what.to_owned(),
                },
                found.span,
            );
        }
        source.mask(found.span);
    }
    for span in known {
        source.mask(span);
    }
}

/// A spec compiled in memory: its check, and its plan and artifacts when it has no errors
/// (the artifacts only once rendered: see `compile_to_check`).
pub struct Compiled {
    pub checked: Checked,
    pub plan: Option<plan::Plan>,
    pub artifacts: Option<Vec<render::Artifact>>,
}

/// Checks the spec, then plans and renders it when it is valid. Nothing is written.
/// The artifacts name the spec by its file name, so they do not depend on where deployc runs.
pub fn compile(name: &str, bytes: &[u8]) -> Compiled {
    compile_as(name, &spec_file_of(name), bytes)
}

/// `compile`, with diagnostics naming the spec `name` and artifacts naming it `spec_file`.
pub fn compile_as(name: &str, spec_file: &str, bytes: &[u8]) -> Compiled {
    let mut compiled = plan(name, spec_file, bytes);
    compiled.render();
    compiled
}

/// `compile`, rendering only when a render could find a problem, which is the
/// user-data's size: `check` renders the rest only to compare it with a folder.
pub fn compile_to_check(name: &str, bytes: &[u8]) -> Compiled {
    let mut compiled = plan(name, &spec_file_of(name), bytes);
    if compiled
        .plan
        .as_ref()
        .is_some_and(|p| p.files.user_data.is_some())
    {
        compiled.render();
    }
    compiled
}

fn spec_file_of(name: &str) -> String {
    std::path::Path::new(name)
        .file_name()
        .map_or_else(|| name.to_owned(), |f| f.to_string_lossy().into_owned())
}

/// `compile` without the render: the check, and the plan when the spec is valid.
pub fn compile_to_plan(name: &str, bytes: &[u8]) -> Compiled {
    plan(name, &spec_file_of(name), bytes)
}

/// Checks the spec and plans it when it is valid; renders nothing.
fn plan(name: &str, spec_file: &str, bytes: &[u8]) -> Compiled {
    let checked = check(name, bytes);
    let plan = checked.spec.as_ref().map(|spec| plan::plan(spec, spec_file));
    Compiled {
        checked,
        plan,
        artifacts: None,
    }
}

impl Compiled {
    /// Renders the plan, unless it is rendered already. A plan that cannot be
    /// rendered (user-data over EC2's limit) becomes an error, and is dropped.
    pub fn render(&mut self) {
        self.render_reusing(None);
    }

    /// `render`, reusing gzip'd user-data an earlier render wrote when it
    /// holds the same script (see `render::render_all`).
    pub fn render_reusing(&mut self, previous: Option<&render::Compressed>) {
        let (Some(plan), None) = (&self.plan, &self.artifacts) else {
            return;
        };
        match render::render_all(plan, previous) {
            Ok(artifacts) => self.artifacts = Some(artifacts),
            Err(render::RenderFailure::UserDataTooLarge { size, gzipped, parts }) => {
                let host = self.checked.spec.as_ref().and_then(|s| s.host.as_ref());
                let span = host.map_or(span::Span::NONE, |h| h.span);
                self.checked
                    .diagnostics
                    .report(problem::Problem::UserDataTooLarge { size, gzipped, parts }, span);
                self.checked.spec = None;
                self.plan = None;
            }
        }
    }
}

/// The language reference, `docs/language.md`, compiled in so that an installed
/// deployc prints it (`deployc language`) without the repository.
pub const LANGUAGE_REFERENCE: &str = include_str!("../docs/language.md");

/// The JSON Schema of the spec model, as `deployc schema` prints it.
pub fn schema() -> String {
    let schema = schemars::schema_for!(Spec);
    let mut text = serde_json::to_string_pretty(&schema).expect("the schema serialises");
    text.push('\n');
    text
}
