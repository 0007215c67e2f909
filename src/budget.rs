//! The worst-case length of a start, and of a stop: every stage at its own
//! limit. `validate` checks the spec's start timeout against the start budget;
//! `plan` uses it as the default, and the stop budget as `TimeoutStopSec=`.

use crate::model::Spec;
use crate::values::{Duration, Order};

/// How long the preflight waits for the container engine to answer.
pub const ENGINE_ANSWER: Duration = Duration::from_secs(30);
/// How long the preflight lets a builder cache prune run.
pub const PRUNE: Duration = Duration::from_secs(4 * 60);
/// The preflight's limit: the engine, a prune, and the quick checks.
pub const PREFLIGHT: Duration = Duration::from_secs(5 * 60);
/// systemd's own work between stages, and the last health poll.
pub const SLACK: Duration = Duration::from_secs(60);
/// Killing the containers that outlived the graceful stop, and removing them.
pub const KILL: Duration = Duration::from_secs(30);
/// The stop's own slack: systemd's work, and the script starting.
pub const STOP_SLACK: Duration = Duration::from_secs(15);

#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    pub stages: Vec<(String, Duration)>,
}

impl Budget {
    pub fn total(&self) -> Duration {
        Duration::from_secs(self.stages.iter().map(|(_, d)| d.secs()).sum())
    }

    /// The total rounded up to whole minutes, which reads better in a unit file.
    pub fn rounded(&self) -> Duration {
        Duration::from_secs(self.total().secs().div_ceil(60) * 60)
    }

    /// "preflight 5m + build backend 20m + ... = 1h6m"
    pub fn breakdown(&self) -> String {
        let parts: Vec<String> = self
            .stages
            .iter()
            .map(|(name, d)| format!("{name} {d}"))
            .collect();
        format!("{} = {}", parts.join(" + "), self.total())
    }
}

/// Each built service's time limit, in spec order.
pub fn build_limits(spec: &Spec) -> Vec<(String, Duration)> {
    spec.service
        .iter()
        .filter(|s| s.build.is_some())
        .map(|s| {
            let limit = s.build_limit(&spec.build);
            (s.name.to_string(), limit)
        })
        .collect()
}

/// How long builds take when each runs to its limit, started in spec order
/// whenever one of `slots` is free: the schedule the build script follows.
fn makespan(limits: &[Duration], slots: usize) -> Duration {
    let mut finish = vec![0u64; slots.max(1)];
    for limit in limits {
        let slot = finish.iter_mut().min().expect("at least one slot");
        *slot += limit.secs();
    }
    Duration::from_secs(finish.into_iter().max().unwrap_or(0))
}

pub fn start_budget(spec: &Spec) -> Budget {
    let mut stages = vec![("preflight".to_owned(), PREFLIGHT)];
    let limits = build_limits(spec);
    match *spec.build.order {
        Order::Sequential => {
            for (name, limit) in &limits {
                stages.push((format!("build {name}"), *limit));
            }
        }
        Order::Parallel => {
            let slots = spec.build.max.as_ref().map_or(1, |m| **m as usize);
            let durations: Vec<Duration> = limits.iter().map(|(_, d)| *d).collect();
            if !durations.is_empty() {
                stages.push((
                    format!("{} builds, {} at a time", durations.len(), slots),
                    makespan(&durations, slots),
                ));
            }
        }
    }
    let external = spec.service.iter().filter(|s| s.image.is_some()).count() as u64;
    if external > 0 {
        stages.push((
            format!("pull ({external} image{})", if external == 1 { "" } else { "s" }),
            Duration::from_secs(external * spec.timeouts.pull.secs()),
        ));
    }
    stages.push(("up".to_owned(), *spec.timeouts.up));
    let health = spec
        .health
        .as_ref()
        .map_or(*crate::model::default_health_timeout(), |h| *h.timeout);
    stages.push(("health".to_owned(), health));
    stages.push(("slack".to_owned(), SLACK));
    Budget { stages }
}

/// The worst-case stop: `down` to its limit, then the kill of what is left.
/// `down` stops containers one dependency level at a time, each with its own
/// grace period, so only a limit on the whole of it bounds a long chain.
pub fn stop_budget(spec: &Spec) -> Budget {
    Budget {
        stages: vec![
            ("down".to_owned(), *spec.timeouts.stop),
            ("kill".to_owned(), KILL),
            ("slack".to_owned(), STOP_SLACK),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|s| Duration::from_secs(*s)).collect()
    }

    #[test]
    fn makespan_follows_the_scripts_schedule() {
        assert_eq!(makespan(&secs(&[10, 10, 10]), 1).secs(), 30);
        assert_eq!(makespan(&secs(&[10, 10, 10]), 3).secs(), 10);
        // Two slots: 30 | 10, then 10 → slot 2 finishes at 20, then 5 → 25.
        assert_eq!(makespan(&secs(&[30, 10, 10, 5]), 2).secs(), 30);
        assert_eq!(makespan(&secs(&[]), 2).secs(), 0);
    }
}
