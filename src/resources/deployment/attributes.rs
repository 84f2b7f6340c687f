//! The `flink_deployment` schema: every attribute with its type, default, validation and the
//! description the docs are generated from, and the checks of single values (versions,
//! durations, URLs, CPU, jar URIs). No IO.

use super::layout;
use super::model::{QUERYABLE_STATE_ANNOTATION, TLS_ANNOTATION};
use super::states::{RestoreStrategy, State, UpgradeStrategy};
use crate::flink::FlinkVersion;
use crate::resources::cluster_objects;
use crate::schema::{Attribute, Schema, Validator};
use crate::value::{Attr, Type, Value};

/// The type of `flink_certificate_authority.x.spec`.
fn authority_type() -> Type {
    crate::resources::spec_type(&crate::resources::typed::Typed(
        crate::resources::certificate_authority::CertificateAuthority,
    ))
}

/// The type of `flink_blob_storage.x.spec`, taken from that resource's schema so the two can
/// never disagree.
fn blob_storage_type() -> Type {
    crate::resources::spec_type(&crate::resources::typed::Typed(
        crate::resources::blob_storage::BlobStorage,
    ))
}

/// The type of `flink_high_availability.x.spec`.
fn high_availability_type() -> Type {
    crate::resources::spec_type(&crate::resources::typed::Typed(
        crate::resources::high_availability::HighAvailability,
    ))
}

fn version_check(value: &Value) -> Result<(), (String, String)> {
    match value.as_str().map(FlinkVersion::release_of) {
        Some(Err(e)) => Err(("Unsupported Flink version".into(), format!("{e}."))),
        _ => Ok(()),
    }
}

fn process(name: &'static str, memory: &str, cpu: i64) -> Attribute {
    Attribute::single_nested(
        name,
        vec![
            Attribute::number("cpu")
                .default_value(Value::Number(cpu.into()))
                .validate(Validator::Custom {
                    doc: "A positive number of cores, e.g. `0.5` or `2`.",
                    check: positive_cpu,
                })
                .description("Cpu cores (requests and limits)."),
            Attribute::string("memory")
                .default_value(Value::string(memory))
                .validate(Validator::Custom {
                    doc: "A memory size with its unit, e.g. `1600m` or `2 gb` (Flink's units: `m` is a mebibyte).",
                    check: memory_check,
                })
                .description("Total process memory (`*.memory.process.size`, and the container limit), e.g. `1600m`, `2 gb`. The container's limit is written as the API server stores quantities (`2048m` as `2Gi`, `1600m` as `1600Mi`), so a refresh reads back what was applied."),
        ],
    )
    .optional()
    .description(format!("Resources of the {name} pods."))
}

pub fn schema() -> Schema {
    let versions: Vec<String> = FlinkVersion::ALL
        .iter()
        .map(|v| {
            format!(
                "`{}` (runs `{}`; releases {})",
                v.minor(),
                v.newest_release(),
                v.releases()
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    Schema::new(
        "A Flink application (Ververica Platform's Deployment): the JobManager in application mode \
         and its TaskManagers as Kubernetes Deployments, with Services, a ServiceAccount and a \
         ConfigMap holding `config.yaml` rendered for the chosen Flink version. Checkpoint and \
         savepoint directories derive from `blob_storage`, high availability from \
         `high_availability`; the HA cluster id is always the deployment `id`. Every object is \
         labelled with the deployment id, read back on refresh so changes made outside Terraform \
         show in the plan (`kubernetes_objects`), and removed on destroy.\n\nLifecycle (Ververica \
         Platform's): a change that gives the running job new pods is a stateful upgrade by \
         default: apply stops the job with a savepoint (plan shows `last_savepoint` as known after \
         apply), records it in `savepoints` and starts the new job from it. `state = \
         \"SUSPENDED\"` stops the job with a savepoint and scales it to nothing, `RUNNING` again \
         restores from it; `CANCELLED` cancels without one. Both need a savepoint directory \
         (`blob_storage`, or `execution.checkpointing.savepoint-dir` in `flink_configuration`). \
         Whether a change needs a savepoint depends on what runs, so a missing savepoint \
         directory is a plan warning (at create, too, for a `STATEFUL` deployment), never a plan \
         error: a change that needs a savepoint of a running job then fails at apply with nothing \
         changed, and one of a job that is not running (pending, starting, failed, unreachable) \
         rolls out without a savepoint. The same holds for drift that needs new pods, such as a \
         deleted TLS Secret or an edited ConfigMap: restoring it rolls the pods like any other \
         change. A savepoint that fails fails the apply with Flink's reason and the job keeps \
         running. A job cancelled, failed or finished in Flink shows as drift of `state`, and \
         apply runs it again per `restore_strategy`: the plan warns what it restores from, apply \
         asks Flink for the newest savepoint or retained checkpoint it kept (once Flink's REST \
         cache of checkpoint statistics, `rest.cache.checkpoint-statistics.timeout`, has passed \
         since the job ended), and fails without changing anything when Flink cannot be asked. \
         A job that ended between the plan and the apply (an apply killed while Flink took its \
         savepoint, then its saved plan applied again) restores from the savepoint that stop \
         left.\n\n\
         Destroy never depends on what the cluster looks like: it succeeds from every state and \
         leaves none of the deployment's objects. A RUNNING job with a savepoint directory is \
         stopped with a final savepoint (its location shows as a warning); without a savepoint \
         directory, with `final_savepoint_on_destroy = false` or with \
         `FLINK_SKIP_FINAL_SAVEPOINT=true` in the environment it is cancelled without one, and \
         the destroy says that its state is not kept. A job that is not running (no JobManager \
         pod, a crash-looping JobManager, a failed or finished job) is not asked for a \
         savepoint, nor one whose REST API does not answer (refused connections, the authority \
         gone), where the warning says that a job still running there loses its current state; \
         the destroy says so and removes the objects, and Flink's Kubernetes HA ConfigMaps with \
         them. A job that ended with a savepoint no state records (a destroy or apply killed \
         while Flink took it) has that savepoint named as its final one. The one \
         exception: a final savepoint that fails fails the destroy and the job keeps running; \
         `FLINK_SKIP_FINAL_SAVEPOINT=true terraform destroy` then destroys without it in one \
         step. The deployment stays in state while any object it owns is left (found by its \
         labels), so a refresh after some were deleted by hand keeps it, the plan recreates \
         what is missing, and destroy removes the rest.\n\n\
         Secret values (passwords, API keys, JAAS configurations) belong in \
         `flink_configuration_from_secrets`, not `flink_configuration`, whose values land in the \
         ConfigMap and in Terraform state. Each entry names a Flink key and a key of a Secret \
         that exists in the deployment's namespace (the provider does not manage it). The \
         JobManager and TaskManager containers get the value as an environment variable from a \
         `secretKeyRef`, and Flink gets it as a dynamic property `-D<key>=$(VAR)` that Kubernetes \
         expands when it starts the container, the way the TLS passwords reach Flink: the \
         ConfigMap, the pod spec, the plan, the state and the provider's logs hold only the \
         Secret's name and key, and `effective_flink_configuration` shows the key as \
         `(from Secret <secret>, key <key>)`. A Secret or key that does not exist fails the apply \
         at once with the pod's `CreateContainerConfigError` and the kubelet's message (e.g. \
         `secret \"kafka\" not found`). Changing which Secret or key a Flink key comes from \
         changes the pods and rolls out like any configuration change. Changing the value inside \
         the Secret is invisible to Terraform, and a running container keeps the value it started \
         with (one restarted after a crash gets the new one): to roll the pods onto a new value, change something of the pod template \
         (e.g. an entry of `pod.annotations` such as a version or hash of the Secret, which is a \
         regular upgrade through `upgrade_strategy`), or run `terraform apply -replace` on the \
         deployment. Flink masks keys it deems sensitive (containing `password`, `secret`, \
         `token`, `jaas.config`, ...) in its REST API and web UI; other keys' values show there \
         as they are.",
        vec![
            Attribute::string("id")
                .computed()
                .use_state_for_unknown()
                .description("Deployment id, a UUID derived from namespace and name and fixed for the life of the resource: the HA cluster id, the directory under the blob storage layout and the source of the first run's `job_id`. A deployment created again under the same namespace and name gets the same id, and so finds the state directories of its predecessor."),
            Attribute::string("name")
                .required()
                .requires_replace()
                .validate(Validator::KubernetesNameUpTo(layout::MAX_NAME_LEN))
                .description("Deployment name; objects are named `flink-<name>-...`, the longest the Service `flink-<name>-jobmanager`."),
            Attribute::string("namespace")
                .default_value(Value::string("default"))
                .requires_replace()
                .validate(Validator::KubernetesName)
                .description("Kubernetes namespace. Defaults to `default`."),
            Attribute::string("flink_version")
                .required()
                .validate(Validator::Custom {
                    doc: "A supported Flink minor such as `2.3`, or one of its releases such as `2.3.0`.",
                    check: version_check,
                })
                .description(format!("Flink version: a minor runs its newest release, a full version exactly that release (the default `image` is that release's official image, `flink:<release>-scala_2.12-java17`). Supported: {}.", versions.join("; "))),
            Attribute::string("image")
                .optional_computed()
                .validate(Validator::Image)
                .description("Container image. Defaults to the official image of `flink_version` (e.g. `flink:2.3.0-scala_2.12-java17`)."),
            Attribute::bool("built_in_filesystem_plugins")
                .optional()
                .description("Whether the image's own file system plugins are enabled for the schemes the deployment's state lives under (`true` by default), as the official image offers them: its entrypoint links the jars that `ENABLE_BUILT_IN_PLUGINS` names from `opt/` into `plugins/`. `s3://` gets Presto's S3 file system (`flink-s3-fs-presto-<release>.jar`), `s3a://` Hadoop's, `gs://` `flink-gs-fs-hadoop`, `wasb(s)://` and `abfs(s)://` `flink-azure-fs-hadoop`, `oss://` `flink-oss-fs-hadoop`; `file://` and `hdfs://` need none. The schemes are those of the blob storage's base, the HA storage directory, the savepoint restored from, and every `flink_configuration` value that is such a URI. The jars are named after the release of the image's tag (`flink:2.3.0-...`, `registry/flink:1.20.5-custom`), else after the release `flink_version` stands for: with an image of another name or a floating tag, give the full release as `flink_version`. Under a read-only root filesystem an emptyDir is mounted at `/opt/flink/plugins` for the links, which hides plugins an image put there itself: set `false` for an image that brings its own plugins. An `ENABLE_BUILT_IN_PLUGINS` in `pod.env` is kept, and the provider's jars are added after it."),
            Attribute::string("state")
                .default_value(Value::string("RUNNING"))
                .validate(Validator::OneOf(State::SETTABLE))
                .description("Desired state of the job: `RUNNING`; `SUSPENDED` (stopped with a savepoint, its pods scaled to nothing, its configuration and HA data kept); `CANCELLED` (cancelled without a savepoint, Flink's HA data deleted). A refresh records `CANCELLED`, `FAILED` or `FINISHED` when the job ended in Flink while meant to run, so the plan shows it."),
            Attribute::string("upgrade_strategy")
                .default_value(Value::string("STATEFUL"))
                .validate(Validator::OneOf(UpgradeStrategy::ALL))
                .description("How a change that gives the running job new pods reaches it: `STATEFUL` stops it with a savepoint and the new job restores from it; `STATELESS` cancels it and the new job restores per `restore_strategy` from an earlier savepoint; `NONE` leaves the running job alone: the change is stored (plan warns, `pending_changes` shows what waits) and rolls out when the job next starts, i.e. `state` through `SUSPENDED` or `CANCELLED` back to `RUNNING`, or a restart after the job ended outside Terraform. Changes that give no new pods (e.g. `wait_timeout`) apply at once under every strategy."),
            Attribute::string("restore_strategy")
                .default_value(Value::string("LATEST_STATE"))
                .validate(Validator::OneOf(RestoreStrategy::ALL))
                .description("What a starting job restores from. `LATEST_STATE`: the newest of the savepoints the provider took and the checkpoints Flink retained of a job the provider cancelled (`STATELESS` upgrade, `CANCELLED`) or that was cancelled or failed outside Terraform (Flink deletes a finished job's checkpoints; recorded in `savepoints` as `RETAINED_CHECKPOINT`; the provider sets `execution.checkpointing.externalized-checkpoint-retention: RETAIN_ON_CANCELLATION` unless `flink_configuration` sets it, and checkpoints need a checkpoint directory: blob storage or `execution.checkpointing.dir`). `LATEST_SAVEPOINT`: the newest savepoint in `savepoints`. Under both, a job that ended outside Terraform and runs again first has its newest savepoint read from Flink (`FOUND_SAVEPOINT`, e.g. one taken by hand with `flink stop`, or by an apply interrupted before it recorded it). Both fall back to `initial_savepoint_path`. A new deployment (created, replaced, or created again after destroy) without `initial_savepoint_path` first looks in its own savepoint and checkpoint directories, which a predecessor of the same namespace and name shares (see `id`): the newest completed savepoint there, or under `LATEST_STATE` retained checkpoint (`<dir>/<job id>/chk-<n>`), is where it starts from; plan names it in `last_savepoint` and a warning. The provider reads `file:` directories on its own file system and `s3:` ones with the blob storage's endpoint and the credentials of its Secret (or the provider's `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`); when it cannot, plan warns and the job starts without state. Before any job starts from state that an apply did not just see Flink complete (a create, a resume, a retained checkpoint), apply checks that its `_metadata` exists, and stops before changing anything if not. `NONE`: nothing. Within a run, Flink's own high availability recovers its checkpoints after a JobManager failover."),
            Attribute::bool("allow_non_restored_state")
                .default_value(Value::Bool(false))
                .description("Allow skipping savepoint state that no operator of the new job claims."),
            Attribute::bool("in_place_rescaling")
                .default_value(Value::Bool(false))
                .description("Whether a change of `parallelism` or `number_of_task_managers` alone rescales the running job in place instead of upgrading it. With `true` the provider runs Flink's adaptive scheduler (`jobmanager.scheduler: adaptive`): the TaskManager Deployment is scaled, the job's new parallelism goes to Flink through its resource requirements (`PUT /jobs/<id>/resource-requirements`; vertices whose parallelism the job's code set keep theirs), and Flink restarts the tasks from their latest checkpoint while the JobManager keeps running: no savepoint, no new pods for the JobManager, the same `job_id`. The plan says so with a warning on `parallelism`. This holds under every `upgrade_strategy`, `NONE` included (the running job takes the new parallelism; nothing waits in `pending_changes`). A change that also touches anything else rolls out per `upgrade_strategy`, the new parallelism with it; turning `in_place_rescaling` on or off changes the scheduler and rolls out the same way. If Flink refuses the new requirements, the apply fails on `parallelism` before anything changed. What the adaptive scheduler changes: it declares the resources a job needs and runs it with what the cluster gives, so a job with fewer slots than its parallelism runs at a lower parallelism instead of waiting; it rescales at most once per `jobmanager.adaptive-scheduler.executing.cooldown-after-rescaling` (30 s by default, counted from the job's start too) and, from Flink 2.0, at the next completed checkpoint (or after `jobmanager.adaptive-scheduler.rescale-trigger.max-delay`), so the apply waits for that; it handles streaming jobs only. `jobmanager.scheduler` in `flink_configuration` then belongs to the provider."),
            Attribute::string("initial_savepoint_path")
                .optional()
                .description("A savepoint (or retained checkpoint) the job starts from while the provider has taken none of its own, e.g. to move a job from elsewhere or `flink_savepoint.x.location`; set, a new deployment does not look for a predecessor's state. Ignored with `restore_strategy = \"NONE\"`."),
            Attribute::string("savepoint_timeout")
                .default_value(Value::string("10 min"))
                .apply_setting()
                .validate(Validator::Custom {
                    doc: "A duration such as `10 min`, `90 s` or `1 h`.",
                    check: duration_check,
                })
                .description("How long a savepoint the provider takes (stateful upgrade, suspend) may run before the apply fails and the job keeps running. Defaults to `10 min`."),
            Attribute::bool("final_savepoint_on_destroy")
                .default_value(Value::Bool(true))
                .apply_setting()
                .description("Whether destroying a RUNNING deployment that has a savepoint directory first stops the job with a final savepoint (its location shows as a warning of the destroy). If that savepoint fails, destroy fails and the job keeps running; `FLINK_SKIP_FINAL_SAVEPOINT=true terraform destroy` then cancels the job and destroys without it in one step (destroy reads this attribute from state, so setting it to `false` takes an apply first). With `false` the job is cancelled. Defaults to `true`."),
            Attribute::bool("wait_for_job")
                .default_value(Value::Bool(true))
                .apply_setting()
                .description("Whether apply waits until Flink reports the job RUNNING (asking its REST API through a port-forward to the JobManager pod, or at `rest_url`). A rollout that cannot succeed (an image that cannot be pulled, a crashing JobManager, a failed job) fails the apply with the pod's reason and the JobManager's last log lines; everything created stays recorded in state. Defaults to `true`."),
            Attribute::string("wait_timeout")
                .default_value(Value::string("10 min"))
                .apply_setting()
                .validate(Validator::Custom {
                    doc: "A duration such as `10 min`, `90 s` or `1 h`.",
                    check: duration_check,
                })
                .description("How long apply waits for the job (`wait_for_job`). Defaults to `10 min`."),
            crate::resources::timeouts::attribute(
                "`create` the rollout and the wait for the job, `update` also the savepoint or \
                 cancel before it, `delete` the final savepoint; `savepoint_timeout` and \
                 `wait_timeout` still bound each wait on its own",
            ),
            Attribute::string("rest_url")
                .optional()
                .apply_setting()
                .validate(Validator::Custom {
                    doc: "An `http://` or `https://` URL, e.g. `https://flink.example.com/orders`.",
                    check: rest_url_check,
                })
                .description("Where the provider reaches the JobManager's REST API (savepoints, cancel, the job's status) instead of a port-forward to its pod: an Ingress or LoadBalancer in front of the Service `flink-<name>-rest`, for a provider outside the cluster's network policies or without `pods/portforward` rights. A path is a prefix the routes sit under. With TLS on, the URL must be `https://` and pass TLS through to the JobManager: the provider presents the authority's client certificate and checks the JobManager's certificate against the authority, as issued for `flink-<name>-rest.<namespace>.svc`, whatever host the URL names (the host is sent as SNI for routing). Without TLS, an `https://` URL is checked against the system's trusted roots."),
            Attribute::single_nested(
                "artifact",
                vec![
                    Attribute::string("jar_uri").required().validate(Validator::Custom {
                        doc: "`local:///<absolute path>.jar` (or `file:///`) for a jar in the image, an `http://`/`https://` URL with a host, or an `s3://bucket/key` (or `s3a://`) object.",
                        check: jar_uri_check,
                    }).description("The job jar. `local:///opt/flink/usrlib/job.jar` (Flink's scheme for a jar already in the image; `file:///` is taken the same way) runs the image's file: no download and no volume over `usrlib/`; Flink's `standalone-job` puts every jar in `/opt/flink/usrlib` on the job's classpath (the TaskManagers, running the same image, load them from the same path), and an image jar elsewhere is passed with `--jars`, so the TaskManagers load it from the JobManager's blob server. An `http(s)://` jar is downloaded into an emptyDir at `/opt/flink/usrlib` by the init container `fetch-artifacts` before the JobManager starts; a failed download fails the apply with the init container's exit code and last log lines. An `s3://bucket/key` (or `s3a://`) jar is copied there by the init container `fetch-s3-artifacts` with `blob_storage`'s credentials and endpoint (see `s3_fetcher_image`); it needs `blob_storage`. An image jar under `/opt/flink/usrlib` cannot be combined with downloads, whose volume would hide it."),
                    Attribute::string("sha256").optional().validate(Validator::Custom {
                        doc: "64 hexadecimal characters.",
                        check: sha256_check,
                    }).description("The SHA-256 digest of the downloaded job jar (as `sha256sum` prints it). The init container `fetch-artifacts` checks it after the download, before the JobManager starts; a mismatch fails the apply naming the URL, the expected and the actual digest. Only for downloaded (`http(s)://`, `s3://`) jars, checked by the init container that fetched it: a `local://` jar is part of the image, which the image's own digest pins (`image = \"repo/job@sha256:...\"`), and an init container cannot read the main image's files, so `sha256` with `local://` is a plan error."),
                    Attribute::string("entry_class").optional().description("Main class; defaults to the jar manifest's."),
                    Attribute::string_list("main_args").optional().description("Arguments of the main method."),
                    Attribute::string_list("additional_dependencies").optional().validate(Validator::Each(Box::new(Validator::Custom {
                        doc: "Each a `local:///<absolute path>.jar` (or `file:///`), an `http://`/`https://` URL with a host, or an `s3://bucket/key` object.",
                        check: jar_uri_check,
                    }))).description("More jars put on the job's classpath, each as `jar_uri` takes it: downloaded into `usrlib/` by the same init container, or named in the image."),
                    Attribute::string_map("dependency_sha256").optional().description("SHA-256 digests of downloaded `additional_dependencies`, keyed by their URI as written there; each checked by `fetch-artifacts` as `sha256` is for the job jar. A key that is not a downloaded dependency, or a value that is not 64 hexadecimal characters, is a plan error on its key."),
                    Attribute::string("fetcher_image").optional().validate(Validator::NotBlank).description(FETCHER_IMAGE_DESCRIPTION),
                    Attribute::string("s3_fetcher_image").optional().validate(Validator::NotBlank).description(S3_FETCHER_IMAGE_DESCRIPTION),
                ],
            )
            .required()
            .description("The job to run."),
            Attribute::number("parallelism")
                .default_value(Value::Number(1i64.into()))
                .validate(Validator::IntAtLeast(1))
                .description("Default parallelism (`parallelism.default`)."),
            Attribute::number("task_slots")
                .default_value(Value::Number(1i64.into()))
                .validate(Validator::IntAtLeast(1))
                .description("Slots per TaskManager (`taskmanager.numberOfTaskSlots`)."),
            Attribute::number("number_of_task_managers")
                .optional_computed()
                .validate(Validator::IntAtLeast(1))
                .description("TaskManager replicas. Defaults to ceil(parallelism / task_slots)."),
            Attribute::single_nested(
                "resources",
                vec![process("jobmanager", "1600m", 1), process("taskmanager", "1728m", 1)],
            )
            .optional()
            .description("Cpu and memory of the JobManager and TaskManagers."),
            Attribute::string_map("flink_configuration")
                .optional()
                .description("Flink configuration keys, checked against the option catalogue of `flink_version` (unknown keys, wrong value types and deprecated keys are reported at plan). Identity keys (`high-availability.cluster-id`, `kubernetes.cluster-id`, `$internal.pipeline.job-id`, `$internal.application.id`) belong to the provider. Keep credentials out: use `blob_storage` for storage keys and `flink_configuration_from_secrets` for other secrets."),
            Attribute::map_nested(
                "flink_configuration_from_secrets",
                vec![
                    Attribute::string("secret")
                        .required()
                        .validate(Validator::KubernetesSubdomain)
                        .description("Name of a Secret in the deployment's namespace."),
                    Attribute::string("key")
                        .required()
                        .validate(Validator::Custom {
                            doc: "A Secret data key: at most 253 letters, digits, `-`, `_` and `.`.",
                            check: secret_key_check,
                        })
                        .description("The key in the Secret's `data` whose value Flink gets."),
                ],
            )
            .optional()
            .description("Flink configuration keys whose values come from Kubernetes Secrets in the deployment's namespace, keyed by the Flink key, e.g. `\"fs.azure.account.key.acme.blob.core.windows.net\" = { secret = \"azure-storage\", key = \"account-key\" }`. Flink gets each value as a dynamic property from an environment variable of the containers (a `secretKeyRef`); only the Secret's name and key are in the ConfigMap, the pod spec and state. The keys follow the rules of `flink_configuration` (checked against the catalogue of `flink_version`); a key also in `flink_configuration`, an identity key or a key the provider renders from other attributes is an error. A changed Secret name or key rolls the pods; a changed value inside the Secret reaches Flink only when the pods restart."),
            Attribute::single_nested(
                "logging",
                vec![
                    Attribute::string("root_level").default_value(Value::string("INFO")).description(format!("Root log level of the file the provider renders, one of {}. Not with `log4j_properties`, whose file sets its own levels.", crate::flink::logging::LEVELS.join(", "))),
                    Attribute::string_map("loggers").optional().description("Log level per logger name (a Java package or class), in the file the provider renders. Not with `log4j_properties`."),
                    Attribute::string("log4j_properties")
                        .optional()
                        .description("A whole log4j2 properties file to use as the Flink processes' `conf/log4j-console.properties` instead of the one the provider renders from `root_level` and `loggers`, e.g. `file(\"log4j.properties\")` for JSON layouts or rolling appenders. It must be log4j2's properties format (the image reads the file under that name): plan checks that Java reads it (a malformed `\\uXXXX` escape, or an XML or JSON configuration, is an error naming its line) and that it fits in the ConfigMap together with `config.yaml` (1 MiB). Flink's `${sys:log.file}` names the log file the web UI shows. For JSON logs use `JsonTemplateLayout` (e.g. `eventTemplateUri = classpath:EcsLayout.json`), whose jar the official images have in `lib/` from Flink 2.1 on; log4j-core's `JsonLayout` needs Jackson, which no official image has. Plan warns of either where the image lacks the jar, as log4j then drops the appender and the pods log nothing through it. The provider records a file longer than 1 KiB by its SHA-256 on the ConfigMap and reads it back from there on import. A change rolls the pods. Logback is not offered: the official images have no logback jars in `lib/`."),
                ],
            )
            .optional()
            .description("Log4j configuration of the Flink processes: levels the provider renders into a file (console and Flink's rolling log file, as Flink's default), or a whole file of your own (`log4j_properties`)."),
            Attribute::single_nested(
                "pod",
                vec![
                    Attribute::string_map("labels").optional().validate(Validator::Labels).description("Extra pod labels."),
                    Attribute::string_map("annotations")
                        .optional()
                        .validate(Validator::Annotations { reserved: layout::PROVIDER_POD_ANNOTATION_BYTES })
                        .description("Extra pod annotations."),
                    Attribute::string_map("env").optional().validate(Validator::EnvNames).description("Environment variables of the Flink containers."),
                    Attribute::string_list("image_pull_secrets")
                        .optional()
                        .validate(Validator::Each(Box::new(Validator::KubernetesSubdomain)))
                        .description("Names of image pull Secrets."),
                    Attribute::string_map("node_selector").optional().validate(Validator::Labels).description("Node selector: node label keys and the values they must have."),
                    Attribute::list_nested(
                        "tolerations",
                        vec![
                            Attribute::string("key").optional().description("Taint key, a label key. Empty (with `operator = \"Exists\"`) tolerates every taint."),
                            Attribute::string("operator").optional().description(format!("{} Empty means `Equal`.", Validator::OneOf(kube_rules::tolerations::OPERATORS).doc())),
                            Attribute::string("value").optional().description("Taint value, a label value; must be empty with `Exists`."),
                            Attribute::string("effect").optional().description(format!("{} Empty matches every effect.", Validator::OneOf(kube_rules::tolerations::EFFECTS).doc())),
                        ],
                    )
                    .optional()
                    .description("Tolerations, checked at plan as the Kubernetes API server checks them."),
                    Attribute::string("service_account").optional().validate(Validator::KubernetesSubdomain).description("A ServiceAccount of your own for the JobManager and TaskManager pods alike, instead of the provider's. Without it, the pods run as the provider's: under Kubernetes HA the JobManager as `flink-<name>-jobmanager` and the TaskManagers as `flink-<name>-taskmanager`, each bound to its own Role (see `high_availability`), else both as `flink-<name>`, which holds no grant. With it and Kubernetes HA, both Roles are bound to your account, so the TaskManagers hold the JobManager's grant too; leave it unset to keep them apart. The provider makes no ServiceAccount then, and the account's own settings (image pull secrets, annotations) are yours."),
                    Attribute::string_map("service_account_annotations")
                        .optional()
                        .validate(Validator::Annotations { reserved: 0 })
                        .description("Annotations of the provider's ServiceAccounts, for cloud workload identity so that blob storage needs no keys: `eks.amazonaws.com/role-arn` (EKS IAM roles for service accounts), `iam.gke.io/gcp-service-account` (GKE Workload Identity). They go on every ServiceAccount the provider makes (under Kubernetes HA the JobManager's and the TaskManagers', which both read and write the state), so the cloud role must trust both. With them the pods mount their ServiceAccount's token (`automountServiceAccountToken = true`, also without Kubernetes HA): the identity webhooks and SDKs identify the pod by its account's token. Set together with `service_account` they are a plan error: annotate your own account instead."),
                    Attribute::number("run_as_user")
                        .optional()
                        .validate(Validator::IntAtLeast(0))
                        .description("The uid (and gid, and the volumes' `fsGroup`) every container of the pods runs as. Defaults to 9999, the `flink` user of the official Flink image; set it for an image that runs Flink as another user. `0` (root) drops `runAsNonRoot` and gives up Pod Security `restricted`; the official image's entrypoint cannot start Flink as root under the dropped capabilities (it switches to `flink` with `gosu`), so plan warns of it."),
                    Attribute::bool("read_only_root_filesystem")
                        .optional()
                        .description("Whether the containers' root filesystem is read-only (`true` by default): Flink writes only to its volumes, emptyDirs at `/tmp` and `/opt/flink/log` among them. Set `false` for an image that writes elsewhere; that gives up the read-only-root hardening check, not Pod Security `restricted`."),
                ],
            )
            .optional()
            .description("Kubernetes pod options of the JobManager and TaskManagers. The pods meet the Pod Security `restricted` standard by default: they run as a non-root user (`run_as_user`), without privilege escalation, with every capability dropped, the runtime's default seccomp profile and a read-only root filesystem, mount a service-account token only under Kubernetes HA (where Flink calls the API) or with `service_account_annotations` (workload identity), and always set requests and limits. Flink's containers have startup, readiness and liveness probes (see `pod_template`)."),
            Attribute::typed("pod_template", Type::Dynamic)
                .optional()
                .description(POD_TEMPLATE_DESCRIPTION),
            Attribute::typed("jobmanager_pod_template", Type::Dynamic)
                .optional()
                .description(format!("A pod template (`metadata` and `spec`) for the JobManager pod only, merged over `pod_template` (the Flink Kubernetes Operator's `jobManager.podTemplate`), e.g. an init container that only the JobManager needs. {ROLE_TEMPLATE_RULES}")),
            Attribute::typed("taskmanager_pod_template", Type::Dynamic)
                .optional()
                .description(format!("A pod template (`metadata` and `spec`) for the TaskManager pods only, merged over `pod_template` (the Flink Kubernetes Operator's `taskManager.podTemplate`). {ROLE_TEMPLATE_RULES}")),
            Attribute::string_map("annotations")
                .optional()
                .description(format!("Deployment template annotations, as in Ververica Platform: `{QUERYABLE_STATE_ANNOTATION} = \"true\"` turns Queryable State on; `{TLS_ANNOTATION}` turns TLS on.")),
            Attribute::typed("blob_storage", blob_storage_type())
                .optional()
                .description("`flink_blob_storage.x.spec`: checkpoints, savepoints and HA data go under its layout, with its credentials mounted from its Secret."),
            Attribute::typed("high_availability", high_availability_type())
                .optional()
                .description("`flink_high_availability.x.spec`."),
            Attribute::single_nested(
                "queryable_state",
                vec![Attribute::bool("enabled").optional().description("Run the Queryable State service.")],
            )
            .optional()
            .description("Queryable State (deprecated by Flink since 1.18): clients reach it at `job-<job_id>-taskmanager:9069`."),
            Attribute::single_nested(
                "network_policy",
                vec![
                    Attribute::bool("enabled")
                        .optional()
                        .description("Whether the provider keeps the NetworkPolicy `flink-<name>` (`true` by default). With `false` the pods take traffic from anywhere the cluster routes it, which gives up the hardening check that every workload is isolated."),
                    Attribute::string_list("rest_from_namespaces")
                        .optional()
                        .validate(Validator::Each(Box::new(Validator::KubernetesName)))
                        .description("Namespaces whose pods may call the REST API and web UI (port 8081) and, when it is on, the Queryable State proxy (port 9069). Defaults to the deployment's own namespace; when set, only the namespaces listed, so list the deployment's own namespace too if its pods call in. An ingress controller runs in a namespace of its own, which must be listed (`ingress.controller_namespace` adds it). Namespaces are matched by their `kubernetes.io/metadata.name` label, which the API server sets on every namespace."),
                    Attribute::string_list("rest_from_cidrs")
                        .optional()
                        .validate(Validator::Each(Box::new(Validator::Custom {
                            doc: "An IPv4 or IPv6 CIDR, e.g. `10.0.0.0/8`.",
                            check: super::network_policy::cidr_check,
                        })))
                        .description("Address ranges (CIDRs, e.g. `10.0.0.0/8`) that may call the REST API and web UI, and the Queryable State proxy when it is on, besides `rest_from_namespaces`: for clients outside the cluster's pod network, such as a load balancer's addresses."),
                ],
            )
            .optional()
            .description("The deployment's NetworkPolicy, on by default: its pods take traffic on every port from each other (the JobManager's RPC and blob ports, and the TaskManagers' RPC and data ports, which Flink picks at random), and on the REST port (and the Queryable State proxy port) from `rest_from_namespaces` and `rest_from_cidrs`; nothing else reaches them. Egress is not restricted, so blob storage, ZooKeeper, the API server (Kubernetes HA) and the job's own sources and sinks stay reachable. The provider itself reaches the JobManager through a port-forward, which enters the pod from its node, and most network plugins (Calico, Cilium) let a node reach its own pods whatever the policies say. NetworkPolicies add up: to let more in (a Prometheus scraping metrics, say), create another one that selects the pods by the label `flink.flinkops.io/deployment-id`. The cluster's network plugin enforces them; one without NetworkPolicy support keeps the object and ignores it. The provider's credentials need the rights on `networkpolicies` (group `networking.k8s.io`) that they have on the other objects."),
            Attribute::single_nested(
                "ingress",
                vec![
                    Attribute::string("class_name")
                        .optional()
                        .validate(Validator::KubernetesSubdomain)
                        .description("The IngressClass (`spec.ingressClassName`), e.g. `nginx`. Without it the cluster's default IngressClass serves the Ingress."),
                    Attribute::string("host")
                        .optional()
                        .validate(Validator::Custom {
                            doc: "A DNS name such as `flink.example.com`, or a wildcard such as `*.example.com` (the `*` matches one label); no IP address, port, scheme or path.",
                            check: super::ingress::host_check,
                        })
                        .description("The host name the Ingress serves. Without it the Ingress serves every host the controller receives. Needed for `tls_passthrough`, which routes by the name the client sends in the TLS handshake."),
                    Attribute::string("path")
                        .optional()
                        .validate(Validator::Custom {
                            doc: "Starts with `/` and holds no `//`, `/./`, `/../` or encoded slash, nor ends in `/.` or `/..`, as the API server requires.",
                            check: super::ingress::path_check,
                        })
                        .description("The path prefix routed to the REST Service (`pathType: Prefix`). Defaults to `/`. Flink's web UI and REST API expect to sit at the root: under another prefix the controller must strip it (ingress-nginx: a `rewrite-target` annotation), and `rest_url` then names the prefix. Must stay `/` with `tls_passthrough`."),
                    Attribute::string("tls_secret")
                        .optional()
                        .validate(Validator::KubernetesSubdomain)
                        .description("A Secret of type `kubernetes.io/tls` in the deployment's namespace holding the ingress's certificate for `host` (e.g. one cert-manager issues): TLS ends at the ingress, which calls the JobManager in plain http. Not with `tls_passthrough`. The provider does not create or read the Secret."),
                    Attribute::bool("tls_passthrough")
                        .optional()
                        .description("Whether the ingress passes TLS through to the JobManager undecrypted; defaults to whether the deployment's TLS is on. With `true` the provider sets ingress-nginx's `nginx.ingress.kubernetes.io/ssl-passthrough = \"true\"` and `nginx.ingress.kubernetes.io/backend-protocol = \"HTTPS\"` (the controller must run with `--enable-ssl-passthrough`; another controller needs its own annotations in `annotations`), `host` is required and `path` must be `/`. Clients then talk TLS with the JobManager itself: they must present the authority's client certificate, so the REST API's mutual authentication holds through the ingress, and they see the JobManager's certificate, signed by the authority for `flink-<name>-rest.<namespace>.svc` and not for `host`: a client must trust the authority and accept that name (as the provider does with `rest_url`; a browser warns about the name). `true` without the deployment's TLS is a plan error. `false` with TLS on earns a plan warning: the ingress then ends TLS and reaches the JobManager only if it is set up to present the authority's client certificate (ingress-nginx: `proxy-ssl-secret`), and every client of the ingress calls the REST API without one: the mutual authentication ends at the ingress."),
                    Attribute::string("controller_namespace")
                        .optional()
                        .validate(Validator::KubernetesName)
                        .description("The namespace the ingress controller runs in (e.g. `ingress-nginx`), added to the NetworkPolicy's `rest_from_namespaces` so the controller reaches the REST port. Without it, and with the NetworkPolicy on, plan warns: the controller's own namespace is not admitted unless `network_policy` lists it."),
                    Attribute::string_map("annotations")
                        .optional()
                        .description("Annotations for the ingress controller (e.g. `nginx.ingress.kubernetes.io/whitelist-source-range`, `traefik.ingress.kubernetes.io/router.middlewares`, `cert-manager.io/cluster-issuer`). With `tls_passthrough` the provider's two annotations win: a different value for either is a plan error."),
                ],
            )
            .optional()
            .description("An Ingress `flink-<name>` (`networking.k8s.io/v1`) to the REST Service `flink-<name>-rest` on port 8081, for the web UI and REST API from outside the cluster. Removing the block deletes the Ingress; changing it never touches the running job (not even under `upgrade_strategy = \"NONE\"`). The provider itself keeps calling the JobManager through a port-forward: to have it go through the Ingress, set `rest_url` to the Ingress's URL written out (the value `web_ui_url` shows, e.g. `https://flink.example.com/`; a reference to the resource's own `web_ui_url` would be a cycle). With the deployment's TLS on, the Ingress passes TLS through by default (`tls_passthrough`), and such a `rest_url` works because the provider presents the authority's client certificate and checks the JobManager's certificate against the authority, whatever host the URL names. The provider's credentials need rights on `ingresses` (group `networking.k8s.io`)."),
            Attribute::single_nested(
                "tls",
                vec![
                    Attribute::bool("enabled").optional().description("Turn TLS on (the seed's `flink.security.ssl.enabled` annotation does the same)."),
                    Attribute::typed("authority", authority_type()).optional().description("`flink_certificate_authority.x.spec`: signs the REST certificate; its client certificate is the one the REST API accepts. Required when TLS is on."),
                    Attribute::number("validity_period_hours")
                        .default_value(Value::Number(8760i64.into()))
                        .validate(Validator::IntAtLeast(1))
                        .description("Validity of the deployment's certificates, in hours. Defaults to 8760 (one year)."),
                    Attribute::number("early_renewal_hours")
                        .default_value(Value::Number(720i64.into()))
                        .validate(Validator::IntAtLeast(0))
                        .description("Re-issue the certificates when they expire within this many hours; the plan shows it and the pods roll. Defaults to 720 (30 days)."),
                ],
            )
            .optional()
            .description("TLS as Ververica Platform provisions it: mutual TLS between JobManager and TaskManagers with a self-signed certificate made for this deployment (pinned by fingerprint), and https on the REST API and web UI with a certificate signed by the authority, requiring the authority's client certificate (REST mutual authentication). Keystores, truststores and their random passwords live in the Secret `flink-<name>-tls`, mounted into the pods; the passwords reach Flink as dynamic properties from the Secret, never through the ConfigMap. SSL keys set in `flink_configuration` are overridden, with a warning."),
            Attribute::single_nested(
                "tls_certificates",
                vec![
                    Attribute::string("internal_fingerprint_sha256").computed().description("SHA-256 fingerprint of the internal (JobManager-TaskManager) certificate."),
                    Attribute::string("internal_fingerprint_sha1").computed().description("SHA-1 fingerprint of the internal certificate, as Flink pins it (`security.ssl.internal.cert.fingerprint`)."),
                    Attribute::string("internal_not_after").computed().description("Expiry of the internal certificate (RFC 3339)."),
                    Attribute::string("rest_fingerprint_sha256").computed().description("SHA-256 fingerprint of the REST certificate."),
                    Attribute::string("rest_not_after").computed().description("Expiry of the REST certificate (RFC 3339)."),
                    Attribute::string("authority_fingerprint_sha256").computed().description("SHA-256 fingerprint of the CA certificate that signed the REST certificate."),
                ],
            )
            .computed()
            .description("The certificates issued for this deployment when TLS is on; null otherwise."),
            Attribute::string("job_id")
                .computed()
                .use_state_for_unknown()
                .description("The id of the job's current run (32 hex digits), pinned by the provider: the first run's is derived from `id`, and each run the provider starts anew (upgrade, resume, restart after the job ended outside Terraform) gets the next, as each VVP Job has its own id; plan shows the new one. HA recovery within a run keeps it. From Flink 2.3 it is also the application id."),
            Attribute::string_map("effective_flink_configuration")
                .computed()
                .description("The configuration Flink gets, secrets redacted; keys from `flink_configuration_from_secrets` show as `(from Secret <secret>, key <key>)`."),
            Attribute::string("rest_endpoint")
                .computed()
                .description("In-cluster URL of the JobManager REST API (`https://` when TLS is on)."),
            Attribute::string("web_ui_url")
                .computed()
                .description("The web UI's URL through the Ingress, from `ingress.host` and `ingress.path`: `https://` when the ingress ends TLS (`tls_secret`) or passes it through, `http://` otherwise. Null without an ingress, without a host, or with a wildcard host."),
            Attribute::string("status")
                .computed()
                .description("What runs, as of the last refresh or apply: the job's state from Flink's REST API (reached through a port-forward to the JobManager pod or at `rest_url`, with the authority's client certificate when TLS is on), e.g. `RUNNING` (once every task runs; before that the least advanced task state such as `DEPLOYING`), `FAILED`, `CANCELED`, `RESTARTING`; `INITIALIZING` while the JobManager runs but the job is not submitted yet; `SUSPENDED` or `CANCELLED` when scaled to nothing on purpose; otherwise what keeps it from running: `PENDING` (no JobManager pod), `STARTING` (the pod is not ready), the pod's waiting reason (e.g. `ErrImagePull`, `CrashLoopBackOff`, `CreateContainerConfigError`), `Init:Error` or `Init:CrashLoopBackOff` when the artifact download or its `sha256` check failed, or `UNREACHABLE` when the REST API does not answer."),
            cluster_objects::instance_attribute(),
            cluster_objects::attribute(),
            Attribute::list_nested(
                "savepoints",
                vec![
                    Attribute::string("location").computed().description("Where Flink wrote it (`execution.savepoint.path` to restore from it)."),
                    Attribute::string("time").computed().description("When it completed (RFC 3339)."),
                    Attribute::string("reason").computed().description("Why the provider took it: `UPGRADE` (stateful upgrade), `SUSPEND`; `RETAINED_CHECKPOINT` for a checkpoint Flink retained, found for `LATEST_STATE`; `FOUND_SAVEPOINT` for a savepoint Flink reports of a job that ended outside what state records (stopped with a savepoint by hand, or an apply interrupted after its savepoint), which a restart restores from, or one a new deployment found in its directories, left by a predecessor of the same namespace and name (a retained checkpoint found so is `RETAINED_CHECKPOINT`)."),
                ],
            )
            .computed()
            .description("The savepoints the provider took of this deployment's job, oldest first (the last 10)."),
            Attribute::string("last_savepoint")
                .computed()
                .description("Location of the newest entry in `savepoints`: what `LATEST_STATE` restores from when the job starts again (`LATEST_SAVEPOINT` skips retained checkpoints)."),
            Attribute::string_map("pending_changes")
                .computed()
                .description("Changes that `upgrade_strategy = \"NONE\"` keeps from the running job until it next starts: each changed attribute with the value the job runs with (as JSON). The Kubernetes objects, `effective_flink_configuration` and drift detection follow what runs meanwhile. Null when the job runs what the configuration says."),
        ],
    )
}

/// A duration attribute's value, `default` while unknown or unset.
pub fn duration_of(text: &Attr<String>, default: std::time::Duration) -> std::time::Duration {
    text.known()
        .and_then(|t| crate::flink::values::duration_nanos(t))
        .map_or(default, |n| {
            std::time::Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
        })
}

/// A duration attribute's check: a number with a unit Flink understands.
pub fn duration_check(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(v) if crate::flink::values::duration_nanos(v).is_none() => Err((
            format!("Invalid duration {v:?}"),
            "Give a duration with its unit, e.g. 10 min, 90 s or 1 h.".into(),
        )),
        _ => Ok(()),
    }
}

fn rest_url_check(value: &Value) -> Result<(), (String, String)> {
    match value.as_str().map(crate::jobmanager::RestUrl::parse) {
        Some(Err(e)) => Err((
            "Invalid rest_url".into(),
            format!("{e}. Give the URL the JobManager's REST API is reached at, e.g. https://flink.example.com/orders."),
        )),
        _ => Ok(()),
    }
}

/// A Secret's name, as the API server checks it: a DNS-1123 subdomain.
fn secret_key_check(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(key) if !kube_rules::config_map_key(key).is_empty() => Err((
            format!("Invalid Secret key {key:?}"),
            "A Secret data key has 1 to 253 letters, digits, '-', '_' and '.' (is not \".\" and does not start with \"..\"), e.g. password or jaas.conf.".into(),
        )),
        _ => Ok(()),
    }
}

fn positive_cpu(value: &Value) -> Result<(), (String, String)> {
    match value {
        Value::Number(n) if n.as_exact_f64().is_none_or(|c| c <= 0.0) => Err((
            format!("Invalid cpu {n}"),
            "Give a positive number of cores, e.g. 0.5 or 2.".into(),
        )),
        _ => Ok(()),
    }
}

fn memory_check(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(m) if crate::flink::values::memory_bytes(m).is_none_or(|b| b == 0) => Err((
            format!("Invalid memory size {m:?}"),
            "Give a positive size with its unit, e.g. 1600m, 2g or 2 gb (Flink's units: m is a \
             mebibyte); it becomes the container's memory request and limit."
                .into(),
        )),
        _ => Ok(()),
    }
}

fn jar_uri_check(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(uri) => super::artifacts::check_uri(uri),
        None => Ok(()),
    }
}

fn sha256_check(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(digest) => super::artifacts::check_sha256(digest),
        None => Ok(()),
    }
}

/// `pod_template`'s description: the merge rules, and what each override gives up.
const POD_TEMPLATE_DESCRIPTION: &str =
    "A Kubernetes pod template (a PodTemplateSpec: `metadata` and `spec`) for the JobManager and \
     TaskManager pods, as the Flink Kubernetes Operator's `podTemplate` takes it, e.g. \
     `yamldecode(file(\"pod-template.yaml\"))`: sidecars, extra volumes and mounts, init \
     containers, affinity, topology spread, `priorityClassName`, `imagePullPolicy`, env from \
     Secrets and ConfigMaps. The JobManager's and TaskManagers' own templates \
     (`jobmanager_pod_template`, `taskmanager_pod_template`) merge over it, and the provider's \
     pods over both. Merge rules: objects merge key by key; lists of named things \
     (containers, init containers, volumes, volume mounts, env, ports, pull secrets) merge by \
     `name`; other lists of objects (tolerations, topology spread constraints) append; a list \
     of plain values (`args`, `command`) of a role's template replaces the common one's. Flink \
     runs in the container `flink-main-container`: a container of that name in the template \
     adds to it (mounts, env, `envFrom`, `imagePullPolicy`, lifecycle, probes) and comes \
     first in the pod; other containers are sidecars, after it. What the provider renders \
     wins, and a template value that contradicts it is a plan error on its path inside the \
     template (e.g. `pod_template.spec.containers[0].image`) saying what to write instead: the \
     main container's `image` (set `image`), `args` and `command` (set `artifact`), its limits \
     (set `resources`), `serviceAccountName` (set `pod.service_account`), the pod's security \
     context (set `pod.run_as_user`), a container security field of Flink's container (set \
     `pod.read_only_root_filesystem`), the labels the provider selects its pods by, and a \
     volume, mount, env variable or port named like one of the provider's (`flink-config`, \
     `usrlib`, `tmp`, `flink-log`, `flink-plugin-<n>`, the TLS volume), or a mount at one of its \
     paths. `hostNetwork`, `hostPID`, `hostIPC` and a `restartPolicy` other than `Always` are \
     plan errors too. The main container's `resources.requests` may be set below the limits \
     (a Burstable pod, scheduled on what it requests): the limits stay `resources.<role>`, \
     which also sizes Flink's process memory, so a request above them is a plan error. \
     Containers and init containers of the template get the provider's container security \
     defaults for the fields they leave out (no privilege escalation, every capability \
     dropped, a read-only root filesystem unless `pod.read_only_root_filesystem = false`), so \
     a plain sidecar meets Pod Security `restricted`; a field a sidecar sets is its own, and \
     may give that up. Flink's container has TCP probes by default (as Flink's own Kubernetes \
     manifests probe; HTTP could not present the client certificate of \
     `tls.rest_authentication`): a startup probe that gives the JVM five minutes to open its \
     port (`periodSeconds` 1, `failureThreshold` 300), a readiness probe every 2 s (the \
     JobManager's REST port, which its Service routes to; a TaskManager's RPC port, fixed at \
     6122 for it as `taskmanager.rpc.port`) and a liveness probe on the RPC port every 10 s \
     (`timeoutSeconds` 5, `failureThreshold` 3). A `startupProbe`, `readinessProbe` or \
     `livenessProbe` on `flink-main-container` in a template replaces the provider's whole \
     (one handler per probe, as Kubernetes takes it). The template is checked at plan against the Kubernetes schema (unknown \
     fields and wrong types, on their paths) and the API server's rules for names, labels, env \
     names, ports and tolerations; a template computed from another resource is checked once \
     known. Quantities are taken as numbers too (`cpu: 0.5`) and written as the API server \
     stores them (`500m`; `1024Mi` as `1Gi`), and one that is not a quantity is a plan error on \
     its path. A template change rolls the pods like any change of them, through \
     `upgrade_strategy`, and the template's fields are read back on refresh, so a hand edit \
     (a sidecar's image changed with kubectl) shows in the plan and apply restores it.";

/// The rules the role templates share with `pod_template`.
const ROLE_TEMPLATE_RULES: &str =
    "The role's template wins over `pod_template` where both set a value; the merge rules, \
     what the provider keeps and the checks are `pod_template`'s.";

/// `fetcher_image`'s description, naming what the image must provide.
const FETCHER_IMAGE_DESCRIPTION: &str =
    "The image of the init container `fetch-artifacts` that downloads `http(s)://` artifacts, for \
     clusters that admit only images from their own registry (e.g. a mirror of busybox). Defaults \
     to `busybox:1.36`. It must provide `sh`, `wget` (`-q -O`), `sha256sum` and `cut` on its \
     `PATH`, and run as the pod's user (uid 9999 unless `pod.run_as_user` says otherwise) under a \
     read-only root filesystem: it writes only into `/opt/flink/usrlib`. Not used when every \
     artifact is `local://`.";

/// `s3_fetcher_image`'s description, naming what the image must provide.
const S3_FETCHER_IMAGE_DESCRIPTION: &str =
    "The image of the init container `fetch-s3-artifacts` that copies `s3://` (and `s3a://`) \
     artifacts with `blob_storage`'s credentials (its Secret's `access_key` and `secret_key`, or \
     without a Secret the pod's workload identity from `pod.service_account_annotations`), at \
     its `endpoint` and `region`, path-style when `path_style_access` says so. Defaults to \
     `amazon/aws-cli:2.22.0`. It must provide `sh`, `aws` (`aws s3 cp`), `sha256sum`, `cut`, \
     `printf` and `rm` on its `PATH`, and run as the pod's user under a read-only root \
     filesystem: it writes only into `/opt/flink/usrlib`. Not used without `s3://` artifacts.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_dns_subdomains_as_the_api_server_checks_them() {
        let names = Validator::KubernetesSubdomain;
        for ok in ["kafka-credentials", "a", "team.kafka-1", &"a".repeat(253)] {
            assert!(names.check(&Value::string(ok)).is_empty(), "{ok}");
        }
        for bad in ["Kafka", "-a", "a-", "a..b", "a_b", "", &"a".repeat(254)] {
            assert!(!names.check(&Value::string(bad)).is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn secret_keys_follow_the_api_servers_data_key_rule() {
        for ok in ["jaas", "jaas.conf", "API_KEY", "tls.crt", "-x", ".hidden"] {
            assert!(secret_key_check(&Value::string(ok)).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "..a", "a/b", "a b", "ключ", &"k".repeat(254)] {
            assert!(secret_key_check(&Value::string(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn jar_uris_need_a_host_for_http() {
        let ok = |uri: &str| jar_uri_check(&Value::string(uri)).is_ok();
        assert!(ok("https://repo.example.com/job.jar"));
        assert!(ok("http://user:pw@repo:8080/job.jar"));
        assert!(ok("file:///opt/flink/usrlib/job.jar"));
        assert!(ok("s3://b/job.jar"));
        for bad in [
            "http://",
            "https:///job.jar",
            "http://:80/job.jar",
            "https://h/a b.jar",
            "gs://b/job.jar",
            "s3://b/",
            "",
        ] {
            assert!(!ok(bad), "{bad}");
        }
    }

    #[test]
    fn memory_sizes() {
        let ok = |m: &str| memory_check(&Value::string(m)).is_ok();
        assert!(ok("1600m") && ok("2 gb") && ok("1g"));
        assert!(!ok("lots") && !ok("") && !ok("0m"));
    }
}
