//! The savepoints state records (pure): each one taken or found is appended, the newest
//! [`SAVEPOINTS_KEPT`] are kept and the last is `last_savepoint`; savepoints the deployment's
//! ConfigMap records beyond state's are adopted, so an interrupted apply never rolls back to
//! older state.

use super::model::{Model, Savepoint, SAVEPOINTS_KEPT};
use super::states;
use crate::value::Attr;

/// A savepoint the provider just took, or a retained checkpoint it found.
pub struct Taken {
    pub location: String,
    pub reason: states::Reason,
    /// When it completed, if not just now (RFC 3339).
    pub time: Option<String>,
}

/// Records `taken` after the prior savepoints (the newest [`SAVEPOINTS_KEPT`]).
pub fn record_savepoint(model: &mut Model, prior: &Model, taken: Option<Taken>) {
    let mut list = prior.savepoints.known().cloned().unwrap_or_default();
    if let Some(taken) = taken {
        let time = taken
            .time
            .unwrap_or_else(|| crate::value::rfc3339(time::OffsetDateTime::now_utc()));
        list.push(Savepoint {
            location: Attr::Known(taken.location),
            time: Attr::Known(time),
            reason: Attr::Known(taken.reason.as_str().into()),
        });
    }
    let excess = list.len().saturating_sub(SAVEPOINTS_KEPT);
    list.drain(..excess);
    model.last_savepoint = list
        .last()
        .and_then(|s| s.location.known().cloned())
        .map_or(Attr::Null, Attr::Known);
    model.savepoints = Attr::Known(list);
}

/// Adopts the savepoints (and the job id of the run they started) a deployment's ConfigMap
/// records (`recorded`, from its inputs) when they are newer than state's: a provider stopped
/// after applying the objects of an upgrade but before Terraform saved the state leaves the
/// savepoint it took only there, and the next plan must restore from it rather than roll back to
/// an older one.
pub fn adopt_recorded(model: &mut Model, recorded: &Model) {
    let locations = |m: &Model| -> Vec<String> {
        m.savepoints
            .known()
            .into_iter()
            .flatten()
            .filter_map(|s| s.location.known().cloned())
            .collect()
    };
    let (ours, theirs) = (locations(model), locations(recorded));
    let Some(newest) = theirs.last() else {
        return;
    };
    let continues_ours = model
        .last_savepoint
        .known()
        .is_none_or(|last| theirs.contains(last));
    if !ours.contains(newest) && continues_ours {
        tracing::info!(location = %newest, "adopting a savepoint the deployment's ConfigMap records");
        model.savepoints = recorded.savepoints.clone();
        model.last_savepoint = recorded.last_savepoint.clone();
        // The run that started from it, too: going back to the old run's id would start a job
        // Flink may already know as ended.
        if let Attr::Known(job_id) = &recorded.job_id {
            model.job_id = Attr::Known(job_id.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn savepoints_keep_the_newest_and_the_last_one_is_exposed() {
        let mut model = Model::default();
        let mut prior = Model::default();
        for i in 0..12 {
            record_savepoint(
                &mut model,
                &prior,
                Some(Taken {
                    location: format!("file:///sp/{i}"),
                    reason: states::Reason::Upgrade,
                    time: None,
                }),
            );
            prior = model.clone();
        }
        let list = model.savepoints.known().unwrap();
        assert_eq!(list.len(), SAVEPOINTS_KEPT);
        assert_eq!(list[0].location.known().unwrap(), "file:///sp/2");
        assert_eq!(model.last_savepoint.known().unwrap(), "file:///sp/11");
        assert_eq!(list[9].reason.known().unwrap(), "UPGRADE");

        record_savepoint(&mut model, &prior, None);
        assert_eq!(model.last_savepoint.known().unwrap(), "file:///sp/11");

        // A retained checkpoint keeps the time it completed.
        record_savepoint(
            &mut model,
            &prior,
            Some(Taken {
                location: "file:///ck/job/chk-4".into(),
                reason: states::Reason::RetainedCheckpoint,
                time: Some("2026-11-25T06:00:00Z".into()),
            }),
        );
        let newest = model.savepoints.known().unwrap().last().unwrap().clone();
        assert_eq!(newest.time.known().unwrap(), "2026-11-25T06:00:00Z");
        assert_eq!(newest.reason.known().unwrap(), "RETAINED_CHECKPOINT");
        assert_eq!(
            model.last_savepoint.known().unwrap(),
            "file:///ck/job/chk-4"
        );

        // State one savepoint behind what the ConfigMap records adopts it; never the reverse.
        let mut behind = Model::default();
        let mut older = Model::default();
        for i in 0..3 {
            record_savepoint(
                &mut behind,
                &older,
                Some(Taken {
                    location: format!("file:///sp/{i}"),
                    reason: states::Reason::Upgrade,
                    time: None,
                }),
            );
            older = behind.clone();
        }
        let mut recorded = Model::default();
        record_savepoint(
            &mut recorded,
            &behind,
            Some(Taken {
                location: "file:///sp/3".into(),
                reason: states::Reason::Upgrade,
                time: None,
            }),
        );
        recorded.job_id = Attr::Known("0123456789abcdef0123456789abcdef".into());
        let mut stale = recorded.clone();
        adopt_recorded(&mut stale, &behind);
        assert_eq!(stale.last_savepoint.known().unwrap(), "file:///sp/3");
        adopt_recorded(&mut behind, &recorded);
        assert_eq!(behind.last_savepoint.known().unwrap(), "file:///sp/3");
        assert_eq!(
            behind.job_id, recorded.job_id,
            "and the run that started from it"
        );
        let mut unrelated = Model::default();
        record_savepoint(
            &mut unrelated,
            &Model::default(),
            Some(Taken {
                location: "file:///elsewhere/9".into(),
                reason: states::Reason::Suspend,
                time: None,
            }),
        );
        let before = unrelated.last_savepoint.clone();
        adopt_recorded(&mut unrelated, &recorded);
        assert_eq!(
            unrelated.last_savepoint, before,
            "not a continuation of state's"
        );
        let mut fresh = Model::default();
        record_savepoint(&mut fresh, &Model::default(), None);
        assert_eq!(fresh.savepoints, Attr::Known(vec![]));
        assert_eq!(fresh.last_savepoint, Attr::Null);
    }
}
