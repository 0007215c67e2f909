//! `<project>-recover.service`: the bounded restart after a failed recovery.

use handlebars::{Context, Handlebars};

pub const TEMPLATE: &str = include_str!("templates/recover.service.hbs");

pub fn render(templates: &Handlebars, plan: &Context) -> String {
    super::render_in(templates, "recover_unit", plan)
}
