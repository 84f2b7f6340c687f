//! A deployment's `status`: what its JobManager pod and Flink say. The pod comes from one list of
//! the namespace's Flink pods per run; when it is ready, Flink's REST API is asked for the job
//! through a port-forward (mutual TLS with the authority's client certificate when the deployment
//! has TLS). Every failure is a status value, never an error: a refresh must not fail because a
//! job is down. At the end of an apply, `settle` waits for the job to run (or its pods to go),
//! looking every 250 ms while that is imminent, and marks the rollout's phases on the way.

use super::jobmanager_pods::jobmanagers;
use super::layout::{Names, DEPLOYMENT_ID_LABEL};
use super::model::Model;
use super::phases::{Phase, Phases};
use super::reach;
use super::states::{State, PENDING};
use crate::jobmanager::answers::job_status;
use crate::kubernetes::Cluster;
use crate::resources::timeouts::{Deadline, Limit};
use crate::schema::Diagnostics;
use k8s_openapi::api::core::v1::Pod;
use std::time::Duration;

/// How long the REST question may take before the answer is `UNREACHABLE`.
const REST_TIMEOUT: Duration = Duration::from_secs(15);

/// How often a wait looks again while the next step is imminent: pods start and Flink answers
/// within seconds, so a two-second pause alone could add two seconds to every upgrade's downtime.
const POLL_SOON: Duration = Duration::from_millis(250);
/// How long waits poll at [`POLL_SOON`]; after that the step is not imminent and every look costs
/// a pod list (and a REST question), so the pause grows to [`POLL_LATER`].
const SOON: Duration = Duration::from_secs(120);
const POLL_LATER: Duration = Duration::from_secs(2);

/// The pause before the next look of a wait that began `elapsed` ago.
fn poll_after(elapsed: Duration) -> Duration {
    if elapsed < SOON {
        POLL_SOON
    } else {
        POLL_LATER
    }
}

/// The init container of `pod` that failed (it ended with a non-zero exit code, and now waits
/// to run again or, with restartPolicy Never, stays ended), as a kubelet reports it in
/// `initContainerStatuses`: its name, exit code, reason and restarts.
fn failed_init_container(pod: &Pod) -> Option<(String, i32, String, i32)> {
    pod.status
        .as_ref()?
        .init_container_statuses
        .iter()
        .flatten()
        .find_map(|c| {
            let state = c.state.as_ref();
            let ended = state
                .and_then(|s| s.terminated.as_ref())
                .or_else(|| c.last_state.as_ref()?.terminated.as_ref())
                .filter(|t| t.exit_code != 0)?;
            // Running again after a failure: it may yet succeed.
            if state.is_some_and(|s| s.running.is_some()) {
                return None;
            }
            let reason = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone())
                .or_else(|| ended.reason.clone())
                .unwrap_or_else(|| "Error".into());
            Some((c.name.clone(), ended.exit_code, reason, c.restart_count))
        })
}

/// The pod's own verdict: a failed init container (`Init:` and its reason, as kubectl shows
/// it), a container's waiting reason, `STARTING` until Ready, or `None` when it is ready.
fn pod_verdict(pod: &Pod) -> Option<String> {
    if let Some((_, _, reason, _)) = failed_init_container(pod) {
        return Some(format!("Init:{reason}"));
    }
    let status = pod.status.as_ref()?;
    let waiting = status
        .container_statuses
        .iter()
        .flatten()
        .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone());
    if let Some(reason) = waiting {
        return Some(reason);
    }
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    (!ready).then(|| "STARTING".to_string())
}

/// Why the Deployment `deployment` creates no pods, if its controller says so (reason, message).
async fn replica_failure(
    cluster: &Cluster,
    model: &Model,
    deployment: impl Fn(&Names) -> &String,
) -> Option<(String, String)> {
    let (namespace, name) = (model.namespace.known()?, model.name.known()?);
    let names = Names::of(name);
    let deployment = deployment(&names);
    match cluster.replica_failure(namespace, deployment).await {
        Ok(failure) => failure,
        Err(e) => {
            tracing::debug!(error = %e, deployment = %deployment, "cannot read the Deployment");
            None
        }
    }
}

/// What stops the TaskManagers of a job that is not running yet, when waiting cannot end well:
/// a TaskManager pod's hopeless verdict (an image that cannot be pulled, a container that cannot
/// be configured or keeps crashing, a failed init container) with the pod, or the refusal of
/// their Deployment's pods (reason, message). The job waits for their slots until
/// `wait_timeout` otherwise, and the JobManager alone shows nothing wrong.
async fn hopeless_taskmanagers(
    cluster: &Cluster,
    model: &Model,
    rollout: Option<&str>,
) -> Option<(String, Option<Pod>, Option<String>)> {
    // Of this rollout only: the pods of a replaced Deployment may linger until the garbage
    // collector deletes them, and a crash of theirs is not the new pods' fault.
    let pods = super::jobmanager_pods::live_pods(cluster, model, "taskmanager", rollout)
        .await
        .ok()?;
    if pods.is_empty() {
        let (reason, message) = replica_failure(cluster, model, |n| &n.taskmanager).await?;
        return Some((reason, None, Some(message)));
    }
    pods.into_iter().find_map(|pod| {
        let verdict = pod_verdict(&pod)?;
        HOPELESS
            .contains(&verdict.as_str())
            .then_some((verdict, Some(pod), None))
    })
}

/// The status of the deployment `model` describes (its namespace, id and job id known).
pub async fn observe(cluster: &Cluster, model: &Model) -> String {
    observe_with_pod(cluster, model, None).await.0
}

/// The status and the JobManager pod it came from, if there is one: the newest JobManager pod,
/// of rollout `rollout` when given (old pods may still be there, terminating or not yet).
async fn observe_with_pod(
    cluster: &Cluster,
    model: &Model,
    rollout: Option<&str>,
) -> (String, Option<Pod>) {
    if model.namespace.known().is_none() || model.job_id.known().is_none() {
        return (PENDING.into(), None);
    }
    let pods = match jobmanagers(cluster, model, rollout).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the deployment's pods");
            return ("UNREACHABLE".into(), None);
        }
    };
    let Some(jobmanager) = pods.into_iter().last() else {
        // Scaled to nothing on purpose, the state says so.
        let status = match model.desired_state() {
            State::Running => PENDING.into(),
            stopped => stopped.as_str().into(),
        };
        return (status, None);
    };
    let pod_name = jobmanager.metadata.name.clone().unwrap_or_default();
    let status = job_state(cluster, model, &jobmanager, &pod_name).await;
    (status, Some(jobmanager))
}

/// What the kubelet says of a container of `pod` that waits to start, e.g. `secret "kafka" not
/// found` under `CreateContainerConfigError`.
fn waiting_message(pod: &Pod) -> Option<String> {
    pod.status
        .as_ref()?
        .container_statuses
        .iter()
        .flatten()
        .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.message.clone())
        .filter(|m| !m.trim().is_empty())
}

/// How the pod's container last ended, when it did not end well: OOMKilled (with what to do) or
/// another reason with its exit code.
fn last_termination(pod: &Pod) -> Option<String> {
    let container = pod.status.as_ref()?.container_statuses.as_ref()?.first()?;
    let ended = container.last_state.as_ref()?.terminated.as_ref()?;
    let restarts = container.restart_count;
    let (who, memory) = match super::jobmanager_pods::label(pod, "component") {
        Some("taskmanager") => ("TaskManager", "taskmanager.memory"),
        _ => ("JobManager", "jobmanager.memory"),
    };
    match ended.reason.as_deref() {
        Some("OOMKilled") => Some(format!(
            "the {who} container was OOMKilled (exit code {}, {restarts} restarts): it needs \
             more memory than its limit; raise {memory}",
            ended.exit_code
        )),
        Some("Completed") | None => None,
        Some(reason) => Some(format!(
            "the {who} container last ended with {reason} (exit code {}, {restarts} restarts)",
            ended.exit_code
        )),
    }
}

async fn job_state(cluster: &Cluster, model: &Model, jobmanager: &Pod, pod_name: &str) -> String {
    if let Some(verdict) = pod_verdict(jobmanager) {
        return verdict;
    }
    let question = async { reach::at(cluster, model, pod_name).await?.job().await };
    match tokio::time::timeout(REST_TIMEOUT, question).await {
        Ok(Ok((200, job))) => job_status(&job).unwrap_or_else(|| "UNREACHABLE".into()),
        Ok(Ok((404, _))) => "INITIALIZING".into(),
        Ok(Ok((code, body))) => {
            tracing::debug!(code, %body, "unexpected answer from the JobManager");
            "UNREACHABLE".into()
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, pod = %pod_name, "the JobManager's REST API did not answer");
            "UNREACHABLE".into()
        }
        Err(_) => "UNREACHABLE".into(),
    }
}

/// Waits until every pod of the deployment is gone (SUSPENDED, CANCELLED), terminating ones
/// included: a TaskManager shuts down after its JobManager, within its grace period, and the
/// state promises pods scaled to nothing. The status then.
pub async fn wait_until_stopped(cluster: &Cluster, model: &Model, timeout: Duration) -> String {
    let (Some(namespace), Some(id)) = (model.namespace.known(), model.id.known()) else {
        return observe(cluster, model).await;
    };
    let started = std::time::Instant::now();
    loop {
        cluster.forget_pods();
        let gone = match cluster
            .pods_labelled(namespace, DEPLOYMENT_ID_LABEL, id)
            .await
        {
            Ok(pods) => pods.is_empty(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the deployment's pods");
                false
            }
        };
        if gone || started.elapsed() >= timeout {
            break;
        }
        tokio::time::sleep(poll_after(started.elapsed())).await;
    }
    observe(cluster, model).await
}

/// The status at the end of an apply: with `wait_for_job`, once Flink runs the job (an error
/// saying why and showing the JobManager's last lines when it cannot), else as it is now.
pub async fn settle(
    cluster: &Cluster,
    model: &Model,
    rollouts: Rollouts<'_>,
    deadline: &Deadline,
    phases: &mut Phases,
    diags: &mut Diagnostics,
) -> String {
    let own = super::attributes::duration_of(&model.wait_timeout, Duration::from_secs(600));
    let limit = deadline.limit(own, "wait_timeout");
    let runs = model.runs();
    if model.wait_for_job.known() == Some(&false) {
        return observe(cluster, model).await;
    }
    if !runs {
        return wait_until_stopped(cluster, model, limit.duration).await;
    }
    match wait_until_running(cluster, model, rollouts, &limit, phases).await {
        Ok(status) => status,
        Err((status, detail)) => {
            diags.error(
                "The Flink job did not start",
                format!(
                    "{detail}\n\nThe Kubernetes objects are applied and recorded in state. Fix \
                     the cause and apply again, or set wait_for_job = false to apply without \
                     waiting."
                ),
            );
            status
        }
    }
}

/// Statuses after which waiting cannot end well.
const HOPELESS: &[&str] = &[
    "FAILED",
    "CANCELED",
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CrashLoopBackOff",
    "Init:CrashLoopBackOff",
    // The Deployment's ReplicaFailure: its pods are refused (Pod Security admission, a quota).
    "FailedCreate",
    "Init:Error",
];

/// The rollout hashes of the pods an apply waits for, when known (pods of earlier rollouts may
/// still be there).
#[derive(Debug, Clone, Copy, Default)]
pub struct Rollouts<'a> {
    pub jobmanager: Option<&'a str>,
    pub taskmanager: Option<&'a str>,
}

/// Waits until Flink runs the job (or finished it) in a JobManager pod of its rollout:
/// `Ok(status)`, or `Err` with the last status, why waiting stopped and the last log lines of the
/// pod that says why (the JobManager, or a TaskManager that cannot start). What the pods and
/// Flink show on the way is marked in `phases`.
pub async fn wait_until_running(
    cluster: &Cluster,
    model: &Model,
    rollouts: Rollouts<'_>,
    limit: &Limit,
    phases: &mut Phases,
) -> Result<String, (String, String)> {
    let name = model.name.known().cloned().unwrap_or_default();
    let namespace = model.namespace.known().cloned().unwrap_or_default();
    let started = std::time::Instant::now();
    let mut last = String::new();
    loop {
        cluster.forget_pods();
        let (mut status, jobmanager) = observe_with_pod(cluster, model, rollouts.jobmanager).await;
        // No pod yet: its Deployment's controller may say why none comes (admission, a quota).
        let mut refused = None;
        if jobmanager.is_none() && status == PENDING {
            if let Some((reason, message)) =
                replica_failure(cluster, model, |n| &n.jobmanager).await
            {
                status = reason;
                refused = Some(message);
            }
        }
        let pod = jobmanager.as_ref().and_then(|p| p.metadata.name.clone());
        if status != last {
            tracing::info!(deployment = %name, status = %status, "waiting for the job to run");
            last = status.clone();
        }
        observe_phases(cluster, model, pod.as_deref(), &status, phases).await;
        if status == "RUNNING" || status == "FINISHED" {
            return Ok(status);
        }
        let mut hopeless = HOPELESS.contains(&status.as_str());
        // The pod whose state says why waiting ends: the JobManager's, or a TaskManager's.
        let mut culprit = jobmanager.clone();
        let mut component = "JobManager";
        if !hopeless {
            if let Some((verdict, taskmanager, message)) =
                hopeless_taskmanagers(cluster, model, rollouts.taskmanager).await
            {
                status = verdict;
                culprit = taskmanager;
                component = "TaskManager";
                refused = message;
                hopeless = true;
            }
        }
        if hopeless || started.elapsed() >= limit.duration {
            let why = match (hopeless, component, &culprit) {
                (true, "TaskManager", Some(pod)) => format!(
                    "the deployment cannot run: {status} in the TaskManager pod {}",
                    pod.metadata.name.as_deref().unwrap_or_default()
                ),
                (true, "TaskManager", None) => {
                    format!("the deployment cannot run: {status} of its TaskManagers")
                }
                (true, ..) => format!("the deployment cannot run: {status}"),
                (false, ..) => {
                    format!(
                        "still {status} after {}s ({})",
                        limit.duration.as_secs(),
                        limit.name
                    )
                }
            };
            let flink = match (&pod, status.as_str()) {
                (Some(pod), "FAILED") => match reach::at(cluster, model, pod).await {
                    Ok(jobmanager) => jobmanager.failure().await,
                    Err(_) => None,
                },
                _ => None,
            };
            let why = match flink {
                Some(cause) => format!("{why} ({cause})"),
                None => why,
            };
            let why = match culprit.as_ref().and_then(waiting_message) {
                Some(message) => format!("{why} ({message})"),
                None => why,
            };
            let why = match culprit.as_ref().and_then(last_termination) {
                Some(ended) => format!("{why}; {ended}"),
                None => why,
            };
            // A failed init container is the cause, and its log the one that says why.
            let init = culprit.as_ref().and_then(failed_init_container);
            let why = match &init {
                Some((container, code, _, restarts)) => format!(
                    "{why}; the init container {container} failed with exit code {code} \
                     ({restarts} restarts)"
                ),
                None => why,
            };
            let why = match &refused {
                Some(message) => format!("{why} ({message})"),
                None => why,
            };
            let container = init.as_ref().map(|(name, ..)| name.as_str());
            let culprit_name = culprit.as_ref().and_then(|p| p.metadata.name.clone());
            let logs = match &culprit_name {
                Some(pod) => cluster
                    .pod_log_tail(&namespace, pod, container, 20)
                    .await
                    .map(|l| match container {
                        Some(c) if l.trim().is_empty() => {
                            format!("\n\nThe log of {c} in {pod} is empty.")
                        }
                        Some(c) => format!("\n\nLast lines of {c} in {pod}:\n{l}"),
                        None => format!("\n\nLast lines of {pod}:\n{l}"),
                    })
                    .unwrap_or_default(),
                None => String::new(),
            };
            return Err((status, format!("{why}.{logs}")));
        }
        tokio::time::sleep(poll_after(started.elapsed())).await;
    }
}

/// Marks in `phases` what the deployment's pods and its JobManager `pod` (when there is one)
/// show, the job being `status`. Flink is asked only for phases not seen yet, once its
/// JobManager is ready.
async fn observe_phases(
    cluster: &Cluster,
    model: &Model,
    pod: Option<&str>,
    status: &str,
    phases: &mut Phases,
) {
    if let (Some(namespace), Some(id)) = (model.namespace.known(), model.id.known()) {
        // The list the status was read from, already fetched in this round.
        if let Ok(pods) = cluster
            .pods_labelled(namespace, DEPLOYMENT_ID_LABEL, id)
            .await
        {
            phases.observe(&pods);
        }
    }
    if matches!(status, "CREATED" | "RUNNING" | "RESTARTING" | "FINISHED") {
        phases.reached(Phase::JobSubmitted);
    }
    let restores = super::resolve::restore_from(model).is_some();
    let wanted = !phases.has(Phase::TaskManagersRegistered)
        || (restores && phases.has(Phase::JobSubmitted) && !phases.has(Phase::Restored));
    if let (Some(pod), true) = (pod, wanted && phases.has(Phase::JobManagerReady)) {
        let asked = async {
            let jobmanager = reach::at(cluster, model, pod).await.ok()?;
            let registered = match phases.has(Phase::TaskManagersRegistered) {
                true => None,
                false => jobmanager.registered_task_managers().await.ok(),
            };
            let restored = match restores && phases.has(Phase::JobSubmitted) {
                true => jobmanager.restored().await.ok(),
                false => None,
            };
            Some((registered, restored))
        };
        if let Ok(Some((registered, restored))) = tokio::time::timeout(REST_TIMEOUT, asked).await {
            let expected = phases.task_managers() as u64;
            if registered.is_some_and(|n| n >= expected && n > 0) {
                phases.reached(Phase::TaskManagersRegistered);
            }
            if restored == Some(true) {
                phases.reached(Phase::Restored);
            }
        }
    }
    if status == "RUNNING" {
        phases.reached(Phase::Running);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_failed_init_container_is_the_verdict_from_its_first_failure() {
        let pod = |state: serde_json::Value, last: serde_json::Value| -> Pod {
            serde_json::from_value(json!({"status": {
                "initContainerStatuses": [{
                    "name": "fetch-artifacts", "image": "busybox:1.36", "imageID": "",
                    "ready": false, "restartCount": 1, "state": state, "lastState": last,
                }],
                "containerStatuses": [{
                    "name": "flink-main-container", "image": "flink:2.3.0", "imageID": "",
                    "ready": false, "restartCount": 0,
                    "state": {"waiting": {"reason": "PodInitializing"}},
                }],
            }}))
            .unwrap()
        };
        let backing_off = pod(
            json!({"waiting": {"reason": "CrashLoopBackOff"}}),
            json!({"terminated": {"exitCode": 8, "reason": "Error"}}),
        );
        assert_eq!(
            failed_init_container(&backing_off),
            Some(("fetch-artifacts".into(), 8, "CrashLoopBackOff".into(), 1))
        );
        assert_eq!(
            pod_verdict(&backing_off).as_deref(),
            Some("Init:CrashLoopBackOff")
        );
        // A real kubelet restarts it at once after its first failure: `Init:Error` meanwhile.
        let ended = pod(
            json!({"terminated": {"exitCode": 4, "reason": "Error"}}),
            json!({}),
        );
        assert_eq!(pod_verdict(&ended).as_deref(), Some("Init:Error"));
        assert!(HOPELESS.contains(&"Init:Error"));
        // Running again, or still at work: the main container's reason says it is initializing.
        let again = pod(
            json!({"running": {}}),
            json!({"terminated": {"exitCode": 4, "reason": "Error"}}),
        );
        assert_eq!(failed_init_container(&again), None);
        assert_eq!(pod_verdict(&again).as_deref(), Some("PodInitializing"));
        let done = pod(
            json!({"terminated": {"exitCode": 0, "reason": "Completed"}}),
            json!({}),
        );
        assert_eq!(failed_init_container(&done), None);
    }

    #[test]
    fn a_container_that_cannot_be_configured_is_hopeless_and_says_why() {
        let pod: Pod = serde_json::from_value(json!({"status": {"containerStatuses": [{
            "name": "flink-main-container", "image": "flink:2.3.0", "imageID": "",
            "ready": false, "restartCount": 0,
            "state": {"waiting": {
                "reason": "CreateContainerConfigError",
                "message": "couldn't find key jaas in Secret team-a/kafka",
            }},
        }]}}))
        .unwrap();
        let verdict = pod_verdict(&pod).unwrap_or_default();
        assert_eq!(verdict, "CreateContainerConfigError");
        assert!(HOPELESS.contains(&verdict.as_str()));
        assert_eq!(
            waiting_message(&pod).as_deref(),
            Some("couldn't find key jaas in Secret team-a/kafka")
        );
    }

    #[test]
    fn an_oom_killed_jobmanager_says_what_to_raise() {
        let pod = |terminated: serde_json::Value| -> Pod {
            serde_json::from_value(json!({"status": {"containerStatuses": [{
                "name": "flink-main-container", "image": "flink:2.3.0", "ready": false,
                "restartCount": 3, "imageID": "", "lastState": {"terminated": terminated},
            }]}}))
            .unwrap()
        };
        let oom = last_termination(&pod(json!({"exitCode": 137, "reason": "OOMKilled"}))).unwrap();
        assert!(
            oom.contains("OOMKilled (exit code 137, 3 restarts)"),
            "{oom}"
        );
        assert!(oom.contains("raise jobmanager.memory"), "{oom}");
        let mut taskmanager = pod(json!({"exitCode": 137, "reason": "OOMKilled"}));
        taskmanager.metadata.labels = Some([("component".into(), "taskmanager".into())].into());
        let oom = last_termination(&taskmanager).unwrap();
        assert!(
            oom.starts_with("the TaskManager container was OOMKilled")
                && oom.contains("raise taskmanager.memory"),
            "{oom}"
        );
        let error = last_termination(&pod(json!({"exitCode": 1, "reason": "Error"}))).unwrap();
        assert!(error.contains("ended with Error (exit code 1"), "{error}");
        assert_eq!(
            last_termination(&pod(json!({"exitCode": 0, "reason": "Completed"}))),
            None
        );
    }
}
