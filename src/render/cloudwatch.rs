//! `cloudwatch-agent.json`: built as typed values and serialised, so the JSON
//! is well-formed and every string is escaped by serde_json.

use serde::Serialize;

use crate::plan::Plan;

#[derive(Serialize)]
struct Config {
    agent: Agent,
    logs: Logs,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<Metrics>,
}

#[derive(Serialize)]
struct Agent {
    run_as_user: &'static str,
}

#[derive(Serialize)]
struct Logs {
    logs_collected: LogsCollected,
}

#[derive(Serialize)]
struct LogsCollected {
    files: Files,
}

#[derive(Serialize)]
struct Files {
    collect_list: Vec<Collect>,
}

#[derive(Serialize)]
struct Collect {
    file_path: String,
    log_group_name: String,
    log_stream_name: String,
    // No `from_beginning`: the agent's translator already defaults it to true
    // (a file it has no saved position for is read from its first line), and
    // its schema, which the agent checks configs against, has no such key.
    /// Every file a glob matches is followed, not only the newest: one build log each.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    publish_multi_logs: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    retention_in_days: Option<i64>,
}

#[derive(Serialize)]
struct Metrics {
    namespace: &'static str,
    append_dimensions: Dimensions,
    metrics_collected: MetricsCollected,
}

#[derive(Serialize)]
struct Dimensions {
    #[serde(rename = "InstanceId")]
    instance_id: &'static str,
}

#[derive(Serialize)]
struct MetricsCollected {
    #[serde(skip_serializing_if = "Option::is_none")]
    mem: Option<Measured>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disk: Option<Measured>,
}

#[derive(Serialize)]
struct Measured {
    measurement: Vec<&'static str>,
    metrics_collection_interval: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<Vec<String>>,
}

/// The agent config, when the spec has a `cloudwatch` block.
pub fn render(plan: &Plan) -> Option<String> {
    let cw = plan.cloudwatch.as_ref()?;
    let config = Config {
        // The agent reads root-owned logs (the user-data log, build logs).
        agent: Agent { run_as_user: "root" },
        logs: Logs {
            logs_collected: LogsCollected {
                files: Files {
                    collect_list: cw
                        .files
                        .iter()
                        .map(|f| Collect {
                            file_path: f.path.clone(),
                            log_group_name: cw.log_group.clone(),
                            log_stream_name: f.stream.clone(),
                            publish_multi_logs: f.many,
                            retention_in_days: cw.retention_days,
                        })
                        .collect(),
                },
            },
        },
        metrics: cw.metrics.as_ref().map(|m| Metrics {
            namespace: m.namespace,
            append_dimensions: Dimensions {
                instance_id: "${aws:InstanceId}",
            },
            metrics_collected: MetricsCollected {
                mem: m.memory.then(|| Measured {
                    measurement: vec!["mem_used_percent", "mem_available"],
                    metrics_collection_interval: m.interval_secs,
                    resources: None,
                }),
                disk: (!m.disk.is_empty()).then(|| Measured {
                    measurement: vec!["used_percent", "free"],
                    metrics_collection_interval: m.interval_secs,
                    resources: Some(m.disk.clone()),
                }),
            },
        }),
    };
    let mut text = serde_json::to_string_pretty(&config).expect("the config serialises");
    text.push('\n');
    Some(text)
}
