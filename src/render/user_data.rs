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
    cloudwatch_text: Option<&'a str>,
}

pub fn render(
    templates: &Handlebars,
    plan: &Plan,
    unit: &str,
    build_script: &str,
    cloudwatch: Option<&str>,
) -> String {
    let context = Context {
        plan,
        unit_text: unit,
        build_script_text: build_script,
        cloudwatch_text: cloudwatch,
    };
    super::render_template(templates, "user_data", &context)
}
