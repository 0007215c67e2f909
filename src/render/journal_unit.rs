//! `<project>-journal.service`: the units' journal, as a file the CloudWatch agent ships.

use handlebars::Handlebars;

use crate::plan::Plan;

pub const TEMPLATE: &str = include_str!("templates/journal.service.hbs");

pub fn render(templates: &Handlebars, plan: &Plan) -> String {
    super::render_template(templates, "journal_unit", plan)
}
