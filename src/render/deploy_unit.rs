//! `<project>-deploy.service`: a new version built, pulled, brought up and
//! checked while the running one serves.

use handlebars::Handlebars;

use crate::plan::Plan;

pub const TEMPLATE: &str = include_str!("templates/deploy.service.hbs");

pub fn render(templates: &Handlebars, plan: &Plan) -> String {
    super::render_template(templates, "deploy_unit", plan)
}
