//! SQS queues and EventBridge rules (`sqs_queue`, `event_rule`) through
//! their lifecycle against the emulator, checked with boto3: created with
//! their owner's tags, changed in place, a console edit of the queue's
//! policy shown as drift and reverted, a foreign queue or rule of the same
//! name refused, and destroyed.

use crate::moto::Moto;
use serde_json::{json, Value as Json};

const BP: &str = r#"
let q = sqs_queue("orders-events", #{
    retention_seconds: parse_int(var("retention", "300")),
    allow_send_from: ["events.amazonaws.com"],
    tags: #{ team: "orders" },
});
event_rule("orders-spot", #{
    pattern: #{ source: ["aws.ec2"], "detail-type": [var("detail", "EC2 Spot Instance Interruption Warning")] },
    target: q,
    description: "spot warnings to the orders queue",
});
"#;

/// The queue's attributes and tags, and the rule's pattern, state and
/// targets, as boto3 reads them.
fn live(m: &Moto) -> Json {
    m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nsqs, ev = {}, {}\nurl = sqs.get_queue_url(QueueName='orders-events')['QueueUrl']\nrule = ev.describe_rule(Name='orders-spot')\nprint(json.dumps({{'queue': sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['All'])['Attributes'], 'tags': sqs.list_queue_tags(QueueUrl=url)['Tags'], 'pattern': json.loads(rule['EventPattern']), 'state': rule['State'], 'targets': [t['Arn'] for t in ev.list_targets_by_rule(Rule='orders-spot')['Targets']], 'rule_tags': {{t['Key']: t['Value'] for t in ev.list_tags_for_resource(ResourceARN=rule['Arn'])['Tags']}}}}))",
            m.boto3("sqs"),
            m.boto3("events")
        ),
    ])
}

#[test]
fn queues_and_rules_apply_change_in_place_and_revert_drift() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    let l = live(&m);
    assert_eq!(l["queue"]["MessageRetentionPeriod"], "300", "{l}");
    assert_eq!(l["queue"]["SqsManagedSseEnabled"], "true");
    assert_eq!(l["tags"]["team"], "orders");
    assert_eq!(l["tags"]["blueprint:address"], "sqs_queue.orders-events");
    let arn = l["queue"]["QueueArn"].clone();
    let policy: Json = serde_json::from_str(l["queue"]["Policy"].as_str().unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][0]["Principal"]["Service"],
        json!(["events.amazonaws.com"])
    );
    assert_eq!(policy["Statement"][1]["Effect"], "Deny");
    assert_eq!(l["targets"], json!([arn]));
    assert_eq!(
        l["pattern"]["detail-type"],
        json!(["EC2 Spot Instance Interruption Warning"])
    );
    assert_eq!(
        l["rule_tags"]["blueprint:address"],
        "event_rule.orders-spot"
    );

    // Both change in place; the queue keeps its policy.
    let vars = [
        "--var",
        "retention=600",
        "--var",
        "detail=EC2 Instance Rebalance Recommendation",
    ];
    let mut args = vec!["plan", "bp.rhai"];
    args.extend(vars);
    let plan = m.bp(d, &args, 0);
    assert!(plan.contains("retention_seconds: 300 -> 600"), "{plan}");
    assert!(
        plan.contains("Plan: 0 to add, 2 to change, 0 to replace"),
        "{plan}"
    );
    let mut args = vec!["apply", "bp.rhai", "--auto-approve"];
    args.extend(vars);
    m.bp(d, &args, 0);
    let mut args = vec!["plan", "bp.rhai", "--detailed-exitcode"];
    args.extend(vars);
    m.bp(d, &args, 0);
    let l = live(&m);
    assert_eq!(l["queue"]["MessageRetentionPeriod"], "600", "{l}");
    assert!(l["queue"]["Policy"]
        .as_str()
        .unwrap()
        .contains("events.amazonaws.com"));
    assert_eq!(
        l["pattern"]["detail-type"],
        json!(["EC2 Instance Rebalance Recommendation"])
    );

    // Someone drops the queue's policy in the console: drift, reverted.
    m.python(&[
        "-c",
        &format!(
            "import boto3\nsqs = {}\nurl = sqs.get_queue_url(QueueName='orders-events')['QueueUrl']\nsqs.set_queue_attributes(QueueUrl=url, Attributes={{'Policy': ''}})",
            m.boto3("sqs")
        ),
    ]);
    let mut args = vec!["plan", "bp.rhai"];
    args.extend(vars);
    let plan = m.bp(d, &args, 0);
    assert!(
        plan.contains("allow_send_from: [] -> [\"events.amazonaws.com\"]  # drift"),
        "{plan}"
    );
    assert!(
        plan.contains("deny_insecure_transport: false -> true  # drift"),
        "{plan}"
    );
    let mut args = vec!["apply", "bp.rhai", "--auto-approve"];
    args.extend(vars);
    m.bp(d, &args, 0);
    let mut args = vec!["plan", "bp.rhai", "--detailed-exitcode"];
    args.extend(vars);
    m.bp(d, &args, 0);

    let mut args = vec!["destroy", "bp.rhai", "--auto-approve"];
    args.extend(vars);
    m.bp(d, &args, 0);
    let left = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps([{}.list_queues().get('QueueUrls', []), [r['Name'] for r in {}.list_rules()['Rules']]]))",
            m.boto3("sqs"),
            m.boto3("events")
        ),
    ]);
    assert_eq!(left, json!([[], []]));
}

/// A queue or a rule of the same name that is not the blueprint's is
/// refused at apply, never taken over or overwritten.
#[test]
fn a_foreign_queue_or_rule_of_the_same_name_is_refused() {
    let m = Moto::start();
    m.python(&[
        "-c",
        &format!(
            "import boto3, json\nsqs, ev = {}, {}\nsqs.create_queue(QueueName='orders-events', Attributes={{'MessageRetentionPeriod': '300', 'SqsManagedSseEnabled': 'true'}})\nev.put_rule(Name='theirs', EventPattern=json.dumps({{'source': ['aws.ec2']}}))",
            m.boto3("sqs"),
            m.boto3("events")
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bp.rhai"), BP).unwrap();
    let out = m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 1);
    assert!(
        out.contains("queue orders-events exists and is not this blueprint's"),
        "{out}"
    );
    std::fs::write(
        d.join("rule.rhai"),
        "let q = sqs_queue(\"mine\", #{ allow_send_from: [\"events.amazonaws.com\"] });\nevent_rule(\"theirs\", #{ pattern: #{ source: [\"aws.health\"] }, target: q });\n",
    )
    .unwrap();
    let out = m.bp(d, &["apply", "rule.rhai", "--auto-approve"], 1);
    assert!(
        out.contains("rule theirs exists and is not this blueprint's"),
        "{out}"
    );
    let pattern = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint({}.describe_rule(Name='theirs')['EventPattern'])",
            m.boto3("events")
        ),
    ]);
    assert_eq!(pattern, json!({"source": ["aws.ec2"]}));
}
