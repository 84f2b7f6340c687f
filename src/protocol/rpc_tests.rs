//! In-process gRPC tests: every RPC once, over a real loopback gRPC connection, against a provider
//! that also serves a probe resource and data source with the value shapes the protocol must carry
//! (unknowns nested in objects and maps, numbers beyond i64, sensitive and write-only values).

use super::handshake::tests::serve_in_process;
use super::proto::plugin::{grpc_controller_client::GrpcControllerClient, Empty};
use super::wire;
use super::wire::provider_client::ProviderClient;
use crate::provider::Provider;
use crate::resources::{Context, DataSource, EphemeralResource, Resource};
use crate::schema::{Attribute, Diagnostics, Schema, Validator};
use crate::value::{self, Number, Type, Value};
use async_trait::async_trait;
use std::sync::Arc;
use tonic::transport::Channel;

struct Probe;

fn probe_schema() -> Schema {
    Schema::new(
        "probe",
        vec![
            Attribute::string("id").computed().use_state_for_unknown(),
            Attribute::string("name").required().requires_replace(),
            Attribute::number("count").optional(),
            Attribute::string("secret").optional().sensitive(),
            Attribute::string("password").optional().write_only(),
            Attribute::string_map("labels")
                .optional()
                .validate(Validator::Labels),
            Attribute::single_nested("nested", vec![Attribute::string("a").optional()]).optional(),
        ],
    )
}

#[async_trait]
impl Resource for Probe {
    fn type_name(&self) -> &'static str {
        "flink_probe"
    }
    fn schema(&self) -> Schema {
        probe_schema()
    }
    async fn create(&self, _: &Context, planned: &Value, _: &Value, _: &mut Diagnostics) -> Value {
        let mut state = planned.clone();
        *state.get_mut("id").unwrap() = Value::string("probe-1");
        state
    }
    async fn read(&self, _: &Context, current: &Value, _: &mut Diagnostics) -> Value {
        current.clone()
    }
    async fn update(
        &self,
        _: &Context,
        _: &Value,
        planned: &Value,
        _: &Value,
        _: &mut Diagnostics,
    ) -> Value {
        planned.clone()
    }
    async fn delete(&self, _: &Context, _: &Value, _: &mut Diagnostics) {}
    async fn import(&self, _: &Context, id: &str, _: &mut Diagnostics) -> Value {
        let ty = probe_schema().value_type();
        let mut v = value::from_msgpack(
            &value::to_msgpack(&Value::object([("id", Value::string(id))]), &ty),
            &ty,
        )
        .unwrap();
        *v.get_mut("name").unwrap() = Value::string(id);
        v
    }
}

#[async_trait]
impl DataSource for Probe {
    fn type_name(&self) -> &'static str {
        "flink_probe"
    }
    fn schema(&self) -> Schema {
        probe_schema()
    }
    async fn read(&self, _: &Context, config: &Value, _: &mut Diagnostics) -> Value {
        let mut state = config.clone();
        *state.get_mut("id").unwrap() = Value::string("read");
        state
    }
}

#[async_trait]
impl EphemeralResource for Probe {
    fn type_name(&self) -> &'static str {
        "flink_probe"
    }
    fn schema(&self) -> Schema {
        probe_schema()
    }
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if config.get("name").and_then(Value::as_str) == Some("bad") {
            diags.error("bad name", "probe rejects it");
        }
    }
    async fn open(&self, _: &Context, config: &Value, _: &mut Diagnostics) -> Value {
        let mut result = config.clone();
        *result.get_mut("id").unwrap() = Value::string("opened");
        result
    }
}

async fn client() -> (
    ProviderClient<Channel>,
    GrpcControllerClient<Channel>,
    tokio::sync::watch::Sender<bool>,
) {
    let provider = Provider::with_types(
        vec![
            Box::new(Probe),
            Box::new(crate::resources::typed::Typed(
                crate::resources::HighAvailability,
            )),
        ],
        vec![Box::new(Probe)],
        vec![Box::new(Probe)],
    );
    let (addr, stop) = serve_in_process(Arc::new(provider)).await;
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    (
        ProviderClient::new(channel.clone()),
        GrpcControllerClient::new(channel),
        stop,
    )
}

fn ty() -> Type {
    probe_schema().value_type()
}

fn dv(value: &Value) -> Option<wire::DynamicValue> {
    Some(wire::DynamicValue {
        msgpack: value::to_msgpack(value, &ty()),
        json: Vec::new(),
    })
}

fn back(dv: Option<wire::DynamicValue>) -> Value {
    value::from_msgpack(&dv.unwrap().msgpack, &ty()).unwrap()
}

fn probe(pairs: &[(&str, Value)]) -> Value {
    let mut v = Value::object(
        [
            "id", "name", "count", "secret", "password", "labels", "nested",
        ]
        .map(|k| (k, Value::Null)),
    );
    for (k, val) in pairs {
        *v.get_mut(k).unwrap() = val.clone();
    }
    v
}

fn big() -> Value {
    Value::Number(Number::parse("123456789012345678901234567890").unwrap())
}

fn errors(diags: &[wire::Diagnostic]) -> Vec<&str> {
    diags
        .iter()
        .filter(|d| d.severity == wire::diagnostic::Severity::Error as i32)
        .map(|d| d.summary.as_str())
        .collect()
}

#[tokio::test]
async fn metadata_and_schemas() {
    let (mut c, _, _stop) = client().await;
    let meta = c
        .get_metadata(wire::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = meta
        .resources
        .iter()
        .map(|r| r.type_name.as_str())
        .collect();
    assert_eq!(names, ["flink_high_availability", "flink_probe"]);
    let capabilities = meta.server_capabilities.unwrap();
    assert!(capabilities.plan_destroy);
    // Promised because any RPC may come first (validate_plan_apply_read_... starts with
    // ValidateResourceConfig on a fresh provider).
    assert!(capabilities.get_provider_schema_optional);

    let schema = c
        .get_provider_schema(wire::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let probe = schema.resource_schemas["flink_probe"]
        .block
        .as_ref()
        .unwrap();
    let attr = |n: &str| probe.attributes.iter().find(|a| a.name == n).unwrap();
    assert!(attr("secret").sensitive);
    assert!(attr("password").write_only);
    assert_eq!(attr("count").r#type, b"\"number\"");
    assert!(schema.data_source_schemas.contains_key("flink_probe"));
    let provider = schema.provider.unwrap().block.unwrap();
    assert_eq!(provider.attributes[0].name, "kubernetes");

    let functions = c
        .get_functions(wire::get_functions::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(functions.functions.is_empty());
    let identity = c
        .get_resource_identity_schemas(wire::get_resource_identity_schemas::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(identity.identity_schemas.is_empty() && identity.diagnostics.is_empty());
}

#[tokio::test]
async fn provider_configuration_validates_and_accepts_unknowns() {
    let (mut c, _, _stop) = client().await;
    let pty = crate::provider::Provider::new()
        .provider_schema()
        .value_type();
    let k8s = |host: Value| {
        let mut k = Value::object(
            [
                "config_path",
                "config_context",
                "host",
                "token",
                "cluster_ca_certificate",
                "client_certificate",
                "client_key",
                "insecure",
            ]
            .map(|k| (k, Value::Null)),
        );
        *k.get_mut("host").unwrap() = host;
        Some(wire::DynamicValue {
            msgpack: value::to_msgpack(&Value::object([("kubernetes", k)]), &pty),
            json: Vec::new(),
        })
    };
    let bad = c
        .validate_provider_config(wire::validate_provider_config::Request {
            config: k8s(Value::string("10.0.0.1")),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&bad.diagnostics), ["Invalid host"]);
    assert_eq!(
        bad.diagnostics[0].attribute.as_ref().unwrap().steps.len(),
        2
    );

    let configured = c
        .configure_provider(wire::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: k8s(Value::Unknown),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(configured.diagnostics.is_empty());
}

#[tokio::test]
async fn validate_plan_apply_read_with_nested_unknowns_big_numbers_and_secrets() {
    let (mut c, _, _stop) = client().await;
    let config = probe(&[
        ("name", Value::string("p")),
        ("count", big()),
        ("secret", Value::string("s3cr3t")),
        ("password", Value::string("write-only")),
        (
            "labels",
            Value::Map([("k".to_string(), Value::Unknown)].into_iter().collect()),
        ),
        ("nested", Value::object([("a", Value::Unknown)])),
    ]);
    let validated = c
        .validate_resource_config(wire::validate_resource_config::Request {
            type_name: "flink_probe".into(),
            config: dv(&config),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(validated.diagnostics.is_empty());

    let planned = c
        .plan_resource_change(wire::plan_resource_change::Request {
            type_name: "flink_probe".into(),
            prior_state: dv(&Value::Null),
            proposed_new_state: dv(&config),
            config: dv(&config),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let plan = back(planned.planned_state);
    assert_eq!(plan.get("id"), Some(&Value::Unknown));
    assert_eq!(
        plan.get("password"),
        Some(&Value::Null),
        "write-only never planned"
    );
    assert_eq!(plan.get("labels").unwrap(), config.get("labels").unwrap());
    assert_eq!(
        plan.get("nested").unwrap(),
        &Value::object([("a", Value::Unknown)])
    );
    assert_eq!(plan.get("count"), Some(&big()));

    let known = probe(&[
        ("name", Value::string("p")),
        ("count", big()),
        ("secret", Value::string("s3cr3t")),
        ("password", Value::string("write-only")),
    ]);
    let applied = c
        .apply_resource_change(wire::apply_resource_change::Request {
            type_name: "flink_probe".into(),
            prior_state: dv(&Value::Null),
            planned_state: dv(&probe(&[
                ("name", Value::string("p")),
                ("count", big()),
                ("secret", Value::string("s3cr3t")),
                ("id", Value::Unknown),
            ])),
            config: dv(&known),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let state = back(applied.new_state);
    assert_eq!(state.get("id"), Some(&Value::string("probe-1")));
    assert_eq!(state.get("count"), Some(&big()));
    assert_eq!(state.get("secret"), Some(&Value::string("s3cr3t")));
    assert_eq!(state.get("password"), Some(&Value::Null));

    let read = c
        .read_resource(wire::read_resource::Request {
            type_name: "flink_probe".into(),
            current_state: dv(&state),
            private: b"opaque".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(back(read.new_state), state);
    assert_eq!(read.private, b"opaque");

    let mut renamed = state.clone();
    *renamed.get_mut("name").unwrap() = Value::string("q");
    let replan = c
        .plan_resource_change(wire::plan_resource_change::Request {
            type_name: "flink_probe".into(),
            prior_state: dv(&state),
            proposed_new_state: dv(&renamed),
            config: dv(&renamed),
            prior_private: b"kept".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replan.requires_replace.len(), 1);
    assert_eq!(
        replan.planned_private, b"kept",
        "private data a resource does not replace passes through"
    );

    let destroyed = c
        .apply_resource_change(wire::apply_resource_change::Request {
            type_name: "flink_probe".into(),
            prior_state: dv(&state),
            planned_state: dv(&Value::Null),
            config: dv(&Value::Null),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(back(destroyed.new_state), Value::Null);
}

#[tokio::test]
async fn thousands_of_bad_values_answer_with_a_bounded_number_of_diagnostics() {
    use crate::schema::{SHOWN_PER_KIND, SUMMARISE_PAST};
    let (mut c, _, _stop) = client().await;
    let validate = |n: usize| {
        let labels = (0..n)
            .map(|i| (format!("bad label {i}!"), Value::string("v")))
            .collect();
        wire::validate_resource_config::Request {
            type_name: "flink_probe".into(),
            config: dv(&probe(&[
                ("name", Value::string("p")),
                ("labels", Value::Map(labels)),
            ])),
            client_capabilities: None,
        }
    };
    let few = c
        .validate_resource_config(validate(SUMMARISE_PAST))
        .await
        .unwrap()
        .into_inner()
        .diagnostics;
    assert_eq!(few.len(), SUMMARISE_PAST);
    let first = few[0].attribute.as_ref().unwrap();
    assert_eq!(first.steps.len(), 2, "on the label's own key: {first:?}");
    let many = c
        .validate_resource_config(validate(5_000))
        .await
        .unwrap()
        .into_inner()
        .diagnostics;
    assert_eq!(errors(&many).len(), SHOWN_PER_KIND + 1);
    let summary = many.last().unwrap();
    assert_eq!(
        summary.summary,
        format!("Invalid label key \"…\": {} more", 5_000 - SHOWN_PER_KIND)
    );
    assert_eq!(
        summary.attribute.as_ref().unwrap().steps.len(),
        1,
        "on labels"
    );
}

#[tokio::test]
async fn state_upgrade_import_and_move() {
    let (mut c, _, _stop) = client().await;
    let upgraded = c
        .upgrade_resource_state(wire::upgrade_resource_state::Request {
            type_name: "flink_probe".into(),
            version: 0,
            raw_state: Some(wire::RawState {
                json:
                    br#"{"id":"x","name":"n","count":123456789012345678901234567890,"secret":"s"}"#
                        .to_vec(),
                flatmap: Default::default(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let state = back(upgraded.upgraded_state);
    assert_eq!(state.get("count"), Some(&big()));
    assert_eq!(state.get("labels"), Some(&Value::Null));

    let imported = c
        .import_resource_state(wire::import_resource_state::Request {
            type_name: "flink_probe".into(),
            id: "ns/x".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        back(imported.imported_resources[0].state.clone()).get("id"),
        Some(&Value::string("ns/x"))
    );

    let not_importable = c
        .import_resource_state(wire::import_resource_state::Request {
            type_name: "flink_high_availability".into(),
            id: "ns/x".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(not_importable.imported_resources.is_empty());
    assert_eq!(errors(&not_importable.diagnostics).len(), 1);

    let moved = c
        .move_resource_state(wire::move_resource_state::Request {
            source_type_name: "kubernetes_config_map".into(),
            target_type_name: "flink_probe".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        errors(&moved.diagnostics),
        ["Moving state is not supported"]
    );

    let identity = c
        .upgrade_resource_identity(wire::upgrade_resource_identity::Request {
            type_name: "flink_probe".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&identity.diagnostics).len(), 1);
}

#[tokio::test]
async fn data_sources_and_unknown_types() {
    let (mut c, _, _stop) = client().await;
    let config = probe(&[("name", Value::string("d"))]);
    let validated = c
        .validate_data_resource_config(wire::validate_data_resource_config::Request {
            type_name: "flink_probe".into(),
            config: dv(&config),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(validated.diagnostics.is_empty());
    let read = c
        .read_data_source(wire::read_data_source::Request {
            type_name: "flink_probe".into(),
            config: dv(&config),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(back(read.state).get("id"), Some(&Value::string("read")));

    let unknown = c
        .validate_resource_config(wire::validate_resource_config::Request {
            type_name: "flink_nope".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        errors(&unknown.diagnostics),
        ["Unknown resource type flink_nope"]
    );

    let malformed = c
        .plan_resource_change(wire::plan_resource_change::Request {
            type_name: "flink_probe".into(),
            config: Some(wire::DynamicValue {
                msgpack: vec![0xa1, b'x'],
                json: Vec::new(),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&malformed.diagnostics), ["Malformed configuration"]);
}

#[tokio::test]
async fn ephemeral_resources_open_validate_and_unknown_types_answer_with_diagnostics() {
    let (mut c, _controller, _stop) = client().await;
    let config = |name: &str| dv(&probe(&[("name", Value::string(name))]));
    let meta = c
        .get_metadata(wire::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(meta.ephemeral_resources[0].type_name, "flink_probe");
    let schemas = c
        .get_provider_schema(wire::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schemas
        .ephemeral_resource_schemas
        .contains_key("flink_probe"));
    let bad = c
        .validate_ephemeral_resource_config(wire::validate_ephemeral_resource_config::Request {
            type_name: "flink_probe".into(),
            config: config("bad"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&bad.diagnostics), ["bad name"]);
    let opened = c
        .open_ephemeral_resource(wire::open_ephemeral_resource::Request {
            type_name: "flink_probe".into(),
            config: config("x"),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(opened.diagnostics.is_empty());
    let result = back(opened.result);
    assert_eq!(result.get("id"), Some(&Value::string("opened")));
    assert_eq!(result.get("name"), Some(&Value::string("x")));
    let unknown = c
        .open_ephemeral_resource(wire::open_ephemeral_resource::Request {
            type_name: "flink_nope".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        errors(&unknown.diagnostics),
        ["Unknown ephemeral resource flink_nope"]
    );
    let unknown = c
        .validate_ephemeral_resource_config(wire::validate_ephemeral_resource_config::Request {
            type_name: "flink_nope".into(),
            config: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&unknown.diagnostics).len(), 1);
    // Nothing is held open, so renew and close succeed without work.
    let r = c
        .renew_ephemeral_resource(wire::renew_ephemeral_resource::Request {
            type_name: "flink_probe".into(),
            private: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty());
    let cl = c
        .close_ephemeral_resource(wire::close_ephemeral_resource::Request {
            type_name: "flink_probe".into(),
            private: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(cl.diagnostics.is_empty());
}

#[tokio::test]
async fn functions_and_stop_answer_with_diagnostics() {
    let (mut c, mut controller, _stop) = client().await;
    let f = c
        .call_function(wire::call_function::Request {
            name: "nope".into(),
            arguments: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(f.error.unwrap().text.contains("nope"));
    let stop = c
        .stop_provider(wire::stop_provider::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(stop.error.is_empty());

    controller.shutdown(Empty {}).await.unwrap();
    // After Shutdown the server stops accepting calls.
    let mut gone = false;
    for _ in 0..50 {
        if c.get_metadata(wire::get_metadata::Request {})
            .await
            .is_err()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "the server kept serving after Shutdown");
}

/// A resource whose work never ends on its own, as against an API server that never answers:
/// its read ignores the interrupt (only dropping it ends it), its create listens to it and
/// returns the state it reached, and its import takes a moment and then succeeds.
struct Stall;

#[async_trait]
impl Resource for Stall {
    fn type_name(&self) -> &'static str {
        "flink_stall"
    }
    fn schema(&self) -> Schema {
        probe_schema()
    }
    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        _: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        ctx.interrupt.interrupted().await;
        let mut state = planned.clone();
        *state.get_mut("id").unwrap() = Value::string("reached");
        diags.error(
            crate::interrupt::SUMMARY,
            crate::interrupt::detail("while stalling", crate::interrupt::APPLY_LEFT),
        );
        state
    }
    async fn read(&self, _: &Context, _: &Value, _: &mut Diagnostics) -> Value {
        std::future::pending().await
    }
    async fn update(
        &self,
        _: &Context,
        _: &Value,
        planned: &Value,
        _: &Value,
        _: &mut Diagnostics,
    ) -> Value {
        planned.clone()
    }
    async fn delete(&self, _: &Context, _: &Value, _: &mut Diagnostics) {}
    async fn import(&self, _: &Context, id: &str, _: &mut Diagnostics) -> Value {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        probe(&[("id", Value::string(id)), ("name", Value::string(id))])
    }
}

// Issue 23: Ctrl-C in Terraform (StopProvider) answers the calls in flight within seconds, an
// apply with the state it reached, and the calls that come after it run normally.
#[tokio::test]
async fn stop_provider_answers_the_calls_in_flight_and_not_the_next_ones() {
    let provider = Provider::with_types(vec![Box::new(Stall)], vec![], vec![]);
    let (addr, _stop) = serve_in_process(Arc::new(provider)).await;
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c = ProviderClient::new(channel);
    let current = probe(&[("id", Value::string("s")), ("name", Value::string("s"))]);
    let mut reader = c.clone();
    let read = tokio::spawn(async move {
        reader
            .read_resource(wire::read_resource::Request {
                type_name: "flink_stall".into(),
                current_state: dv(&current),
                ..Default::default()
            })
            .await
    });
    let mut applier = c.clone();
    let apply = tokio::spawn(async move {
        applier
            .apply_resource_change(wire::apply_resource_change::Request {
                type_name: "flink_stall".into(),
                prior_state: dv(&Value::Null),
                planned_state: dv(&probe(&[
                    ("name", Value::string("s")),
                    ("id", Value::Unknown),
                ])),
                config: dv(&probe(&[("name", Value::string("s"))])),
                ..Default::default()
            })
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !read.is_finished() && !apply.is_finished(),
        "nothing ends on its own"
    );

    let stopped = std::time::Instant::now();
    let stop = c
        .stop_provider(wire::stop_provider::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(stop.error.is_empty());
    let within = std::time::Duration::from_secs(10);
    let read = tokio::time::timeout(within, read)
        .await
        .expect("the read answers after StopProvider")
        .unwrap()
        .unwrap()
        .into_inner();
    let apply = tokio::time::timeout(within, apply)
        .await
        .expect("the apply answers after StopProvider")
        .unwrap()
        .unwrap()
        .into_inner();
    eprintln!(
        "in-flight calls answered {:?} after StopProvider",
        stopped.elapsed()
    );

    // The read keeps the state it was given and says why it ended.
    assert_eq!(errors(&read.diagnostics), [crate::interrupt::SUMMARY]);
    assert_eq!(back(read.new_state).get("id"), Some(&Value::string("s")));
    assert!(read.diagnostics[0].detail.contains("reading flink_stall"));
    // The apply returns the state it reached, with its own message and no second one.
    assert_eq!(errors(&apply.diagnostics), [crate::interrupt::SUMMARY]);
    assert!(apply.diagnostics[0]
        .detail
        .contains("the next apply converges from here"));
    assert_eq!(
        back(apply.new_state).get("id"),
        Some(&Value::string("reached"))
    );

    // A call after the stop runs to its end, as with Terraform's SDKs.
    let import = c
        .import_resource_state(wire::import_resource_state::Request {
            type_name: "flink_stall".into(),
            id: "after".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(import.diagnostics.is_empty(), "{:?}", import.diagnostics);
    assert_eq!(import.imported_resources.len(), 1);
}

// Issue 23, as the user found it: against an API server that accepts connections and never
// answers, a real resource's apply ends at StopProvider (its request in flight, not its 30 s
// read timeout, ends it), returning its state with the request that was cut short.
#[tokio::test]
async fn stop_provider_ends_an_apply_against_a_server_that_never_answers() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let (mut c, _, _stop) = client().await;
    let pty = Provider::new().provider_schema().value_type();
    let kubernetes = Value::object([
        ("config_path", Value::Null),
        ("config_context", Value::Null),
        ("host", Value::string(host)),
        ("token", Value::string("t")),
        ("cluster_ca_certificate", Value::Null),
        ("client_certificate", Value::Null),
        ("client_key", Value::Null),
        ("insecure", Value::Null),
    ]);
    let configured = c
        .configure_provider(wire::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: Some(wire::DynamicValue {
                msgpack: value::to_msgpack(&Value::object([("kubernetes", kubernetes)]), &pty),
                json: Vec::new(),
            }),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        configured.diagnostics.is_empty(),
        "{:?}",
        configured.diagnostics
    );

    let ha = crate::resources::typed::Typed(crate::resources::HighAvailability);
    let hty = ha.schema().value_type();
    let encode = |v: &Value| {
        Some(wire::DynamicValue {
            msgpack: value::to_msgpack(v, &hty),
            json: Vec::new(),
        })
    };
    let config = Value::object([
        ("id", Value::Null),
        ("name", Value::string("shared")),
        ("namespace", Value::Null),
        ("type", Value::string("zookeeper")),
        ("storage_dir", Value::Null),
        (
            "zookeeper",
            Value::object([
                ("quorum", Value::List(vec![Value::string("zk-0:2181")])),
                ("path_root", Value::Null),
            ]),
        ),
        ("spec", Value::Null),
        ("kubernetes_objects", Value::Null),
    ]);
    let planned = c
        .plan_resource_change(wire::plan_resource_change::Request {
            type_name: "flink_high_availability".into(),
            prior_state: encode(&Value::Null),
            proposed_new_state: encode(&config),
            config: encode(&config),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        errors(&planned.diagnostics).is_empty(),
        "{:?}",
        planned.diagnostics
    );

    let mut applier = c.clone();
    let request = wire::apply_resource_change::Request {
        type_name: "flink_high_availability".into(),
        prior_state: encode(&Value::Null),
        planned_state: planned.planned_state,
        config: encode(&config),
        ..Default::default()
    };
    let apply = tokio::spawn(async move { applier.apply_resource_change(request).await });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!apply.is_finished(), "the silent server answered?");
    let stopped = std::time::Instant::now();
    c.stop_provider(wire::stop_provider::Request {})
        .await
        .unwrap();
    let applied = tokio::time::timeout(std::time::Duration::from_secs(10), apply)
        .await
        .expect("the apply answers after StopProvider, before its read timeout")
        .unwrap()
        .unwrap()
        .into_inner();
    eprintln!(
        "the stalled apply answered {:?} after StopProvider",
        stopped.elapsed()
    );
    assert_eq!(
        errors(&applied.diagnostics),
        [
            "Applying flink_high_availability failed",
            crate::interrupt::SUMMARY
        ]
    );
    assert!(
        applied.diagnostics[0]
            .detail
            .contains("interrupted by Terraform (Ctrl-C)"),
        "{:?}",
        applied.diagnostics
    );
    // The stop came while the apply read which objects exist (the ownership check before any
    // write): nothing was written, so the create leaves no state.
    let state = applied
        .new_state
        .map(|s| value::from_msgpack(&s.msgpack, &hty).unwrap());
    assert!(state.as_ref().is_none_or(|s| s.is_null()), "{state:?}");
}
