//! The words of a deployment's lifecycle as types (pure): the `state` a user asks for, the
//! upgrade and restore strategies, why a savepoint was taken, and the job statuses that mean a
//! job ended in Flink. State and the schema keep them as the documented strings; every decision
//! reads them through these types, so a misspelt word is a compile error, not a silent branch.

use super::model::Model;

/// The `state` of a deployment: what the user asks for, or (after a refresh) how the job ended
/// outside Terraform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The job runs (the default).
    Running,
    /// Stopped with a savepoint; the cluster is gone.
    Suspended,
    /// Cancelled without one; the cluster is gone.
    Cancelled,
    /// A refresh found the job failed in Flink.
    Failed,
    /// A refresh found the job finished (e.g. stopped with a savepoint by hand).
    Finished,
}

impl State {
    /// The states a user may set.
    pub const SETTABLE: &'static [&'static str] = &["RUNNING", "SUSPENDED", "CANCELLED"];

    /// From its word in state; an unknown word is none.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "RUNNING" => State::Running,
            "SUSPENDED" => State::Suspended,
            "CANCELLED" => State::Cancelled,
            "FAILED" => State::Failed,
            "FINISHED" => State::Finished,
            _ => return None,
        })
    }

    /// Its word in state.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "RUNNING",
            State::Suspended => "SUSPENDED",
            State::Cancelled => "CANCELLED",
            State::Failed => "FAILED",
            State::Finished => "FINISHED",
        }
    }

    /// The state a refresh records for a job meant to run that Flink reports ended in
    /// `job_status`, so the plan shows it as drift back to RUNNING.
    pub fn ended_as(job_status: &str) -> Option<Self> {
        match job_status {
            "CANCELED" => Some(State::Cancelled),
            "FAILED" => Some(State::Failed),
            "FINISHED" => Some(State::Finished),
            _ => None,
        }
    }
}

/// `upgrade_strategy`: what a change that gives a running job new pods does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeStrategy {
    /// Stop with a savepoint, restore from it (the default).
    Stateful,
    /// Cancel, restart without state.
    Stateless,
    /// `NONE`: keep the running job; the change waits in `pending_changes`.
    Deferred,
}

impl UpgradeStrategy {
    /// Every value, as the schema documents them.
    pub const ALL: &'static [&'static str] = &["STATEFUL", "STATELESS", "NONE"];

    /// From its word; an unknown word is none.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "STATEFUL" => UpgradeStrategy::Stateful,
            "STATELESS" => UpgradeStrategy::Stateless,
            "NONE" => UpgradeStrategy::Deferred,
            _ => return None,
        })
    }
}

/// `restore_strategy`: what a job that starts again restores from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreStrategy {
    /// The newest savepoint or retained checkpoint (the default).
    LatestState,
    /// The newest savepoint only.
    LatestSavepoint,
    /// `NONE`: nothing; the job starts without state.
    Nothing,
}

impl RestoreStrategy {
    /// Every value, as the schema documents them.
    pub const ALL: &'static [&'static str] = &["LATEST_STATE", "LATEST_SAVEPOINT", "NONE"];

    /// From its word; an unknown word is none.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "LATEST_STATE" => RestoreStrategy::LatestState,
            "LATEST_SAVEPOINT" => RestoreStrategy::LatestSavepoint,
            "NONE" => RestoreStrategy::Nothing,
            _ => return None,
        })
    }

    /// Its word in state.
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreStrategy::LatestState => "LATEST_STATE",
            RestoreStrategy::LatestSavepoint => "LATEST_SAVEPOINT",
            RestoreStrategy::Nothing => "NONE",
        }
    }
}

/// Why the provider recorded a savepoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A stateful upgrade.
    Upgrade,
    /// RUNNING to SUSPENDED.
    Suspend,
    /// Not a savepoint: the newest checkpoint Flink retained of a job that was cancelled or
    /// ended, recorded for `LATEST_STATE`.
    RetainedCheckpoint,
    /// Not taken by this apply: a savepoint Flink reports of a job that ended outside what
    /// state records (stopped with a savepoint by hand, or an apply interrupted before it
    /// recorded its own).
    FoundSavepoint,
}

impl Reason {
    /// As state records it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Upgrade => "UPGRADE",
            Reason::Suspend => "SUSPEND",
            Reason::RetainedCheckpoint => "RETAINED_CHECKPOINT",
            Reason::FoundSavepoint => "FOUND_SAVEPOINT",
        }
    }
}

/// Flink's status of a running job, as `status` reports it.
pub const JOB_RUNNING: &str = "RUNNING";
/// Flink's status of a job that ended on its own or by a stop with a savepoint.
pub const JOB_FINISHED: &str = "FINISHED";
/// The `status` of a deployment with no JobManager pod to ask yet.
pub const PENDING: &str = "PENDING";

/// Whether `status` is one Flink reports of a job that ended (cancelled, failed, finished).
pub fn ended_in_flink(status: &str) -> bool {
    State::ended_as(status).is_some()
}

impl Model {
    /// The state asked for; RUNNING (the default) while unknown.
    pub fn desired_state(&self) -> State {
        self.state
            .known()
            .and_then(|s| State::parse(s))
            .unwrap_or(State::Running)
    }

    /// Whether the job is to run: state RUNNING, or not known yet (the default).
    pub fn runs(&self) -> bool {
        self.desired_state() == State::Running
    }

    /// The upgrade strategy, none while unknown.
    pub fn upgrade(&self) -> Option<UpgradeStrategy> {
        self.upgrade_strategy
            .known()
            .and_then(|s| UpgradeStrategy::parse(s))
    }

    /// The restore strategy, none while unknown.
    pub fn restore(&self) -> Option<RestoreStrategy> {
        self.restore_strategy
            .known()
            .and_then(|s| RestoreStrategy::parse(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_word_parses_and_reads_back() {
        for word in State::SETTABLE.iter().chain(&["FAILED", "FINISHED"]) {
            assert_eq!(State::parse(word).map(State::as_str), Some(*word));
        }
        for word in RestoreStrategy::ALL {
            assert_eq!(
                RestoreStrategy::parse(word).map(RestoreStrategy::as_str),
                Some(*word)
            );
        }
        for word in UpgradeStrategy::ALL {
            assert!(UpgradeStrategy::parse(word).is_some(), "{word}");
        }
        assert_eq!(State::parse("running"), None);
    }

    #[test]
    fn only_flinks_ended_statuses_drift() {
        assert_eq!(State::ended_as("CANCELED"), Some(State::Cancelled));
        assert_eq!(State::ended_as("FAILED"), Some(State::Failed));
        assert_eq!(State::ended_as("FINISHED"), Some(State::Finished));
        for status in ["RUNNING", "RESTARTING", "PENDING", "STARTING", "CANCELLED"] {
            assert!(!ended_in_flink(status), "{status}");
        }
    }
}
