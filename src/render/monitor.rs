//! `<project>-monitor.timer` and `<project>-monitor.service`: the periodic
//! health check that recovers the deployment.

use handlebars::Handlebars;

use crate::plan::Plan;

pub const SERVICE_TEMPLATE: &str = include_str!("templates/monitor.service.hbs");
pub const TIMER_TEMPLATE: &str = include_str!("templates/monitor.timer.hbs");

pub fn render_service(templates: &Handlebars, plan: &Plan) -> String {
    super::render_template(templates, "monitor_service", plan)
}

pub fn render_timer(templates: &Handlebars, plan: &Plan) -> String {
    super::render_template(templates, "monitor_timer", plan)
}
