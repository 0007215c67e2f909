//! `<project>-notify@.service`: the notification the units' `OnFailure=` starts, one instance per failed unit.

use handlebars::Handlebars;

use crate::plan::Plan;

pub const TEMPLATE: &str = include_str!("templates/notify.service.hbs");

pub fn render(templates: &Handlebars, plan: &Plan) -> String {
    super::render_template(templates, "notify_unit", plan)
}
