//! `<project>-notify@.service`: the notification the units' `OnFailure=` starts, one instance per failed unit.

use handlebars::{Context, Handlebars};

pub const TEMPLATE: &str = include_str!("templates/notify.service.hbs");

pub fn render(templates: &Handlebars, plan: &Context) -> String {
    super::render_in(templates, "notify_unit", plan)
}
