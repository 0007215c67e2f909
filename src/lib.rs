//! deployc compiles a deployment spec into the files that run it on a host.
//!
//! The pipeline runs one way: [`parse`] → [`decode`] (KDL) or serde (JSON) →
//! [`validate`] → plan → render → output. Each stage is a module.

pub mod budget;
pub mod cli;
pub mod decode;
pub mod diagnostic;
pub mod model;
pub mod parse;
pub mod problem;
pub mod span;
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
    let (source, parsed) = parse::parse(name, bytes);
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
    diagnostics.sort();
    let spec = spec.filter(|_| !diagnostics.has_errors());
    Checked {
        source,
        spec,
        diagnostics,
    }
}

/// The JSON Schema of the spec model, as `deployc schema` prints it.
pub fn schema() -> String {
    let schema = schemars::schema_for!(Spec);
    let mut text = serde_json::to_string_pretty(&schema).expect("the schema serialises");
    text.push('\n');
    text
}
