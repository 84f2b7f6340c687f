//! Scenario: a job stopped with a savepoint by hand, restarted by apply, against a fake JobManager
//! on loopback (reached at `rest_url`) that replays a real Flink 2.3.0 JobManager's answers with
//! Flink's own caching ([`crate::jobmanager::stopped_by_hand`]): the job details already say
//! FINISHED while the checkpoint statistics, cached a moment before the stop's savepoint
//! completed, do not list it yet. That interleaving restarted the job from an older checkpoint (a
//! CI failure of the lifecycle suite); the apply must find the savepoint once Flink's statistics
//! have caught up. The same JobManager stands for a stop that finished between an upgrade's plan
//! and its apply (an apply killed while Flink took the savepoint, applied again from the saved
//! plan): the upgrade keeps the savepoint that stop left instead of restoring older state; and
//! for a destroy after one killed while Flink took its final savepoint, which names that
//! savepoint, not the older one state records.

use super::destroy;
use super::lifecycle::Before;
use super::model::{Model, Savepoint};
use super::phases::Phases;
use super::rollout;
use super::states::Reason;
use crate::jobmanager::stopped_by_hand::{serve as stopped_by_hand, JOB_ID, STOP_SAVEPOINT};
use crate::kubernetes::Cluster;
use crate::kubernetes::ClusterAccess;
use crate::resources::timeouts::{Deadline, Operation};
use crate::schema::Diagnostics;
use crate::value::Attr;
use std::time::{Duration, Instant};

/// The deployment as state records it after the plan saw the job FINISHED: one older savepoint.
fn finished_outside(address: &str, statistics_cache: &str) -> Model {
    Model {
        id: Attr::Known("ns/counter".into()),
        name: Attr::Known("counter".into()),
        namespace: Attr::Known("ns".into()),
        job_id: Attr::Known(JOB_ID.into()),
        state: Attr::Known("RUNNING".into()),
        status: Attr::Known("FINISHED".into()),
        rest_url: Attr::Known(format!("http://{address}")),
        last_savepoint: Attr::Known("file:/sp/savepoint-older".into()),
        savepoints: Attr::Known(vec![Savepoint {
            location: Attr::Known("file:/sp/savepoint-older".into()),
            time: Attr::Known("2026-01-01T00:00:00Z".into()),
            reason: Attr::Known(Reason::Suspend.as_str().into()),
        }]),
        effective_flink_configuration: Attr::Known(
            [(
                "rest.cache.checkpoint-statistics.timeout".to_string(),
                statistics_cache.to_string(),
            )]
            .into(),
        ),
        ..Model::default()
    }
}

async fn cluster() -> Cluster {
    // Never asked: the JobManager is reached at rest_url and the deployment has no TLS.
    Cluster::connect(&ClusterAccess::Explicit {
        host: "https://127.0.0.1:9".into(),
        token: None,
        ca_certificate: None,
        client_identity: None,
        insecure: true,
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_restart_finds_the_savepoint_that_flinks_cached_statistics_do_not_list_yet() {
    let cache = Duration::from_millis(700);
    let address = stopped_by_hand(cache).await;
    let prior = finished_outside(&address, "700 ms");
    let mut diags = Diagnostics::default();
    let started = Instant::now();
    let taken = rollout::retained_checkpoint(&cluster().await, &prior, &prior, &mut diags).await;
    let taken = taken.unwrap_or_else(|| panic!("no savepoint found: {diags:?}"));
    assert_eq!(taken.location, STOP_SAVEPOINT);
    assert_eq!(taken.reason, Reason::FoundSavepoint);
    assert!(!diags.has_errors(), "{diags:?}");
    assert!(
        started.elapsed() >= cache - Duration::from_millis(60),
        "read only after Flink's cache caught up"
    );
}

#[tokio::test]
async fn a_provider_that_trusted_the_first_statistics_would_restore_older_state() {
    // The same interleaving, with the provider told Flink caches nothing: it reads the stale
    // statistics and finds no newer state. This is the failure the wait above prevents. Flink's
    // cache here outlasts any pause between the provider's two requests on a loaded machine.
    let address = stopped_by_hand(Duration::from_secs(10)).await;
    let prior = finished_outside(&address, "0 ms");
    let mut diags = Diagnostics::default();
    let taken = rollout::retained_checkpoint(&cluster().await, &prior, &prior, &mut diags).await;
    assert!(taken.is_none(), "the stale statistics list no savepoint");
}

#[tokio::test]
async fn an_ended_job_whose_jobmanager_cannot_be_asked_fails_the_apply() {
    let prior = finished_outside("127.0.0.1:9", "700 ms");
    let mut diags = Diagnostics::default();
    let taken = rollout::retained_checkpoint(&cluster().await, &prior, &prior, &mut diags).await;
    assert!(taken.is_none());
    let text = format!("{diags:?}");
    assert!(diags.has_errors(), "{text}");
    assert!(
        text.contains("Cannot read the ended job's newest state")
            && text.contains("file:/sp/savepoint-older")
            && text.contains("restore_strategy = \\\"NONE\\\""),
        "{text}"
    );
}

/// What an upgrade's stop finds when the job it was planned against (RUNNING) has ended since,
/// stopped with a savepoint: the savepoint it keeps, if any, and the diagnostics.
async fn upgrade_after_the_stop(
    restore_strategy: Option<&str>,
) -> (Option<rollout::Taken>, Diagnostics) {
    let address = stopped_by_hand(Duration::from_millis(700)).await;
    let mut prior = finished_outside(&address, "700 ms");
    prior.status = Attr::Known("RUNNING".into());
    let mut planned = prior.clone();
    if let Some(strategy) = restore_strategy {
        planned.restore_strategy = Attr::Known(strategy.into());
    }
    let deadline = Deadline::start(&Attr::Null, Operation::Update);
    let stop = rollout::Stop {
        step: Before::Savepoint(Reason::Upgrade),
        savepoint_directory: Some("file:///sp"),
        deadline: &deadline,
    };
    let mut diags = Diagnostics::default();
    let taken = rollout::before_rollout(
        &cluster().await,
        stop,
        &prior,
        &planned,
        &mut Phases::start("counter"),
        &mut diags,
    )
    .await;
    (taken, diags)
}

#[tokio::test]
async fn an_upgrade_whose_job_was_stopped_since_its_plan_keeps_the_savepoint_of_that_stop() {
    let (taken, diags) = upgrade_after_the_stop(None).await;
    let taken = taken.unwrap_or_else(|| panic!("the stop's savepoint was dropped: {diags:?}"));
    assert_eq!(taken.location, STOP_SAVEPOINT);
    assert_eq!(taken.reason, Reason::FoundSavepoint);
    assert!(diags.0.is_empty(), "{diags:?}");

    // Told to start without state, it looks for none, and says no savepoint was taken.
    let (taken, diags) = upgrade_after_the_stop(Some("NONE")).await;
    assert!(taken.is_none());
    assert!(
        diags.0.iter().any(|d| d.summary == "No savepoint taken"),
        "{diags:?}"
    );
}

#[tokio::test]
async fn a_destroy_after_a_stop_no_state_recorded_names_the_savepoint_that_stop_left() {
    // As the refresh recorded it (the job FINISHED: drift), and as a plan saw it before the
    // stop finished (RUNNING).
    for (state, status) in [("FINISHED", "FINISHED"), ("RUNNING", "RUNNING")] {
        let address = stopped_by_hand(Duration::from_millis(700)).await;
        let mut model = finished_outside(&address, "700 ms");
        model.state = Attr::Known(state.into());
        model.status = Attr::Known(status.into());
        let deadline = Deadline::start(&Attr::Null, Operation::Delete);
        let mut diags = Diagnostics::default();
        let cluster = cluster().await;
        destroy::final_savepoint(&cluster, &model, Some("file:///sp"), &deadline, &mut diags).await;
        assert!(!diags.has_errors(), "{diags:?}");
        let said = diags
            .0
            .iter()
            .find(|d| d.summary == "Final savepoint taken")
            .unwrap_or_else(|| panic!("{state}: {diags:?}"));
        assert!(
            said.detail.contains(STOP_SAVEPOINT) && !said.detail.contains("savepoint-older"),
            "{state}: {}",
            said.detail
        );
    }
}
