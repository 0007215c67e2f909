//! `<project>-deploy.service`: a new version built, pulled, brought up and
//! checked while the running one serves.

use handlebars::{Context, Handlebars};

pub const TEMPLATE: &str = include_str!("templates/deploy.service.hbs");

pub fn render(templates: &Handlebars, plan: &Context) -> String {
    super::render_in(templates, "deploy_unit", plan)
}
