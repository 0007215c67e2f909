//! `<project>-recover.service`: the bounded restart after a failed recovery.

use handlebars::Handlebars;

use crate::plan::Plan;

pub const TEMPLATE: &str = include_str!("templates/recover.service.hbs");

pub fn render(templates: &Handlebars, plan: &Plan) -> String {
    super::render_template(templates, "recover_unit", plan)
}
