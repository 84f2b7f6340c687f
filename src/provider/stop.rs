//! StopProvider at the provider's level: every resource, data source and ephemeral RPC runs under
//! the interrupt it took when it started, so a Ctrl-C in Terraform answers it within seconds.
//!
//! Reads, plans, imports, deletes and data sources are dropped at once: dropping them cancels
//! their requests, and what they would have returned was not written anywhere yet (a delete cut
//! short keeps the prior state; the next destroy or apply converges from what is left). A create
//! or update is not dropped at once: it listens to the same interrupt itself (its Kubernetes
//! requests and its waits end on it) and returns the state it reached, which Terraform records
//! with the error. Only an apply that does not answer within [`APPLY_GRACE`] of the stop is
//! dropped, so that a Ctrl-C is never ignored.

use crate::interrupt::{self, Interrupt};
use crate::schema::Diagnostics;
use std::future::Future;
use std::time::Duration;

/// How long a create or update may take to return the state it reached after a stop.
pub(super) const APPLY_GRACE: Duration = Duration::from_secs(5);

/// What an RPC was doing, for the diagnostic a stop leaves.
#[derive(Debug, Clone, Copy)]
pub(super) enum Work {
    Read,
    Plan,
    Import,
    Delete,
    Apply,
    ReadData,
    OpenEphemeral,
}

impl Work {
    fn doing(self) -> &'static str {
        match self {
            Work::Read => "reading",
            Work::Plan => "planning",
            Work::Import => "importing",
            Work::Delete => "deleting",
            Work::Apply => "applying",
            Work::ReadData => "reading data source",
            Work::OpenEphemeral => "opening ephemeral resource",
        }
    }

    /// What the state holds after the stop.
    fn left(self) -> &'static str {
        match self {
            Work::Read => "The state stays as it was; the next plan reads the cluster again.",
            Work::Plan | Work::ReadData | Work::OpenEphemeral => {
                "Nothing was changed; the next plan starts afresh."
            }
            Work::Import => "Nothing was imported; run terraform import again.",
            Work::Delete => {
                "What was deleted stays deleted and the state keeps the resource; the next \
                 destroy or apply converges from here."
            }
            Work::Apply => interrupt::APPLY_LEFT,
        }
    }
}

/// Runs `work` of `type_name` under `interrupt`: its output, or `None` when the stop cut it
/// short. Either way, an RPC the stop reached that reports errors says it was interrupted.
pub(super) async fn run<T>(
    interrupt: &Interrupt,
    what: Work,
    type_name: &str,
    work: impl Future<Output = (T, Diagnostics)>,
) -> (Option<T>, Diagnostics) {
    let grace = async {
        interrupt.interrupted().await;
        if matches!(what, Work::Apply) {
            tokio::time::sleep(APPLY_GRACE).await;
        }
    };
    let (output, mut diags) = tokio::select! {
        // Work that finished wins: an apply that answered in time keeps its state.
        biased;
        (output, diags) = work => (Some(output), diags),
        () = grace => (None, Diagnostics::default()),
    };
    if interrupt.is_interrupted() && (output.is_none() || diags.has_errors()) {
        tracing::info!(type_name, what = what.doing(), "interrupted by terraform");
        report(&mut diags, what, type_name);
    }
    (output, diags)
}

/// Adds the stop's diagnostic unless the resource already said where it stopped.
fn report(diags: &mut Diagnostics, what: Work, type_name: &str) {
    if diags.0.iter().any(|d| d.summary == interrupt::SUMMARY) {
        return;
    }
    let while_doing = format!("while it was {} {type_name}", what.doing());
    diags.error(
        interrupt::SUMMARY,
        interrupt::detail(&while_doing, what.left()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interrupt::Interrupts;

    async fn stalled_read(diags: Diagnostics) -> (u8, Diagnostics) {
        std::future::pending::<()>().await;
        (0, diags)
    }

    #[tokio::test]
    async fn a_stalled_read_is_answered_when_terraform_stops() {
        let interrupts = Interrupts::default();
        let interrupt = interrupts.signal();
        let stop = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            interrupts.stop();
        };
        let read = run(
            &interrupt,
            Work::Read,
            "flink_deployment",
            stalled_read(Diagnostics::default()),
        );
        let ((output, diags), ()) = tokio::join!(read, stop);
        assert_eq!(output, None);
        assert_eq!(diags.0.len(), 1);
        assert_eq!(diags.0[0].summary, interrupt::SUMMARY);
        assert!(diags.0[0]
            .detail
            .contains("while it was reading flink_deployment"));
    }

    #[tokio::test]
    async fn an_apply_that_returns_its_state_keeps_it_and_its_own_message() {
        let interrupts = Interrupts::default();
        let interrupt = interrupts.signal();
        interrupts.stop();
        let apply = async {
            let mut diags = Diagnostics::default();
            diags.error(interrupt::SUMMARY, "while waiting for the job to run");
            ("state reached", diags)
        };
        let (output, diags) = run(&interrupt, Work::Apply, "flink_deployment", apply).await;
        assert_eq!(output, Some("state reached"));
        assert_eq!(diags.0.len(), 1, "{diags:?}");
        assert_eq!(diags.0[0].detail, "while waiting for the job to run");
    }

    #[tokio::test]
    async fn work_that_finished_cleanly_before_the_stop_reports_nothing() {
        let interrupt = Interrupts::default().signal();
        let (output, diags) = run(&interrupt, Work::Plan, "flink_deployment", async {
            (1, Diagnostics::default())
        })
        .await;
        assert_eq!(output, Some(1));
        assert!(diags.0.is_empty());
    }
}
