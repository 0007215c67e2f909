//! `<project>-journal.service`: the units' journal, as a file the CloudWatch agent ships.

use handlebars::{Context, Handlebars};

pub const TEMPLATE: &str = include_str!("templates/journal.service.hbs");

pub fn render(templates: &Handlebars, plan: &Context) -> String {
    super::render_in(templates, "journal_unit", plan)
}
