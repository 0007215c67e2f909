//! `<project>.service`: the systemd unit that builds, starts, checks and stops the deployment.

use handlebars::{Context, Handlebars};

pub const TEMPLATE: &str = include_str!("templates/unit.service.hbs");

pub fn render(templates: &Handlebars, plan: &Context) -> String {
    super::render_in(templates, "unit", plan)
}
