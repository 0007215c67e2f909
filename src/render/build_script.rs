//! `<project>-build.sh`: the external builder the unit runs for each stage.

use handlebars::Handlebars;

use crate::plan::Plan;

pub const TEMPLATE: &str = include_str!("templates/build.sh.hbs");

pub fn render(templates: &Handlebars, plan: &Plan) -> String {
    super::render_template(templates, "build_script", plan)
}
