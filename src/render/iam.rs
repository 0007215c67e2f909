//! The instance role's IAM policy (`deployc iam-policy`): what the role must
//! allow, statement by statement, for exactly the AWS calls the deployment
//! makes. Built as typed values and serialised by serde_json, like the
//! CloudWatch config. It is not a host artifact (nothing on the host reads
//! it), so it is not in the output folder: infrastructure code applies it.

use serde::Serialize;

use crate::plan::Plan;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Policy {
    version: &'static str,
    statement: Vec<Statement>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    sid: &'static str,
    effect: &'static str,
    action: Vec<&'static str>,
    resource: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<serde_json::Value>,
}

fn allow(sid: &'static str, action: Vec<&'static str>, resource: Vec<String>) -> Statement {
    Statement {
        sid,
        effect: "Allow",
        action,
        resource,
        condition: None,
    }
}

/// The ARN of an SSM parameter: a name's leading `/` is the ARN's separator.
fn parameter_arn(name: &str) -> String {
    format!("arn:aws:ssm:*:*:parameter/{}", name.trim_start_matches('/'))
}

/// The policy, when the deployment calls AWS at all.
pub fn render(plan: &Plan) -> Option<String> {
    let iam = plan.iam.as_ref()?;
    let mut statement = Vec::new();
    if !iam.parameters.is_empty() {
        statement.push(allow(
            "ReadParameters",
            vec!["ssm:GetParameter"],
            iam.parameters.iter().map(|p| parameter_arn(p)).collect(),
        ));
        // SecureString parameters under a customer managed key; only through SSM.
        statement.push(Statement {
            condition: Some(serde_json::json!({
                "StringLike": { "kms:ViaService": "ssm.*.amazonaws.com" }
            })),
            ..allow("DecryptParameters", vec!["kms:Decrypt"], vec!["*".into()])
        });
    }
    if let Some(group) = &iam.log_group {
        let mut action = vec![
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams",
        ];
        if iam.retention {
            action.push("logs:PutRetentionPolicy");
        }
        let arn = format!("arn:aws:logs:*:*:log-group:{group}");
        statement.push(allow("ShipLogs", action, vec![arn.clone(), format!("{arn}:*")]));
    }
    if let Some(namespace) = iam.metrics_namespace {
        // PutMetricData takes no resource; the namespace is what can be limited.
        statement.push(Statement {
            condition: Some(serde_json::json!({
                "StringEquals": { "cloudwatch:namespace": namespace }
            })),
            ..allow("PutMetrics", vec!["cloudwatch:PutMetricData"], vec!["*".into()])
        });
    }
    if !iam.sns_topics.is_empty() {
        statement.push(allow("Notify", vec!["sns:Publish"], iam.sns_topics.clone()));
    }
    if !iam.ecr.is_empty() {
        // The token is for the whole account and takes no resource.
        statement.push(allow(
            "LogInToEcr",
            vec!["ecr:GetAuthorizationToken"],
            vec!["*".into()],
        ));
        statement.push(allow(
            "PullFromEcr",
            vec![
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
            iam.ecr
                .iter()
                .map(|(region, account)| format!("arn:aws:ecr:{region}:{account}:repository/*"))
                .collect(),
        ));
    }
    let policy = Policy {
        version: "2012-10-17",
        statement,
    };
    let mut text = serde_json::to_string_pretty(&policy).expect("the policy serialises");
    text.push('\n');
    Some(text)
}
