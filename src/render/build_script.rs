//! `<project>-build.sh`: the external builder the unit runs for each stage.

use handlebars::{Context, Handlebars};

pub const TEMPLATE: &str = include_str!("templates/build.sh.hbs");

pub fn render(templates: &Handlebars, plan: &Context) -> String {
    super::render_in(templates, "build_script", plan)
}
