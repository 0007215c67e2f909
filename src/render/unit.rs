//! `<project>.service`: the systemd unit that builds, starts, checks and stops the deployment.

use handlebars::Handlebars;

use crate::plan::Plan;

pub const TEMPLATE: &str = include_str!("templates/unit.service.hbs");

pub fn render(templates: &Handlebars, plan: &Plan) -> String {
    super::render_template(templates, "unit", plan)
}
