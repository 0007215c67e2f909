//! `<project>-monitor.timer` and `<project>-monitor.service`: the periodic
//! health check that recovers the deployment.

use handlebars::{Context, Handlebars};

pub const SERVICE_TEMPLATE: &str = include_str!("templates/monitor.service.hbs");
pub const TIMER_TEMPLATE: &str = include_str!("templates/monitor.timer.hbs");

pub fn render_service(templates: &Handlebars, plan: &Context) -> String {
    super::render_in(templates, "monitor_service", plan)
}

pub fn render_timer(templates: &Handlebars, plan: &Context) -> String {
    super::render_in(templates, "monitor_timer", plan)
}
