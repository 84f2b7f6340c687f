//! Terraform's StopProvider (the user's Ctrl-C) as a plain signal the work of an RPC listens to.
//! The protocol layer calls [`Interrupts::stop`]; every RPC takes an [`Interrupt`] when it starts
//! and hands it down (resources, Kubernetes requests and their retries, waits for Flink), so
//! nothing below the protocol sees tonic.
//!
//! A stop cancels the RPCs in flight when it arrives, and only those: an RPC that starts after it
//! runs normally. That is what Terraform's own SDKs do (terraform-plugin-sdk's
//! `GRPCProviderServer.StopProvider` closes its stop channel and makes a new one;
//! terraform-plugin-framework's `StopProvider` cancels the contexts registered so far and forgets
//! them), and what Terraform expects: after a Ctrl-C it still waits for the answers of the
//! operations in flight and records the state they return.

use std::future::Future;
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// The source of interrupts: one per provider process.
#[derive(Debug, Default)]
pub struct Interrupts {
    /// The token of the RPCs started since the last stop.
    current: Mutex<CancellationToken>,
}

impl Interrupts {
    /// The interrupt of an RPC starting now: it fires at the next stop.
    pub fn signal(&self) -> Interrupt {
        match self.current.lock() {
            Ok(current) => Interrupt(current.clone()),
            // A poisoned lock means a thread panicked while swapping tokens, which nothing here
            // does; an RPC that cannot be interrupted is still answered.
            Err(_) => Interrupt::never(),
        }
    }

    /// Interrupts every RPC in flight; later ones get a fresh signal.
    pub fn stop(&self) {
        if let Ok(mut current) = self.current.lock() {
            let stopped = std::mem::take(&mut *current);
            stopped.cancel();
        }
    }
}

/// The signal one RPC's work listens to. Cloning it is cheap; every clone fires together.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(CancellationToken);

impl Interrupt {
    /// A signal that never fires (tests, and work outside an RPC).
    pub fn never() -> Interrupt {
        Interrupt::default()
    }

    /// Whether Terraform asked to stop since this RPC started.
    pub fn is_interrupted(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Completes when Terraform asks to stop (at once if it already did).
    pub async fn interrupted(&self) {
        self.0.cancelled().await
    }

    /// `work`, unless Terraform asks to stop first: then `work` is dropped, which cancels what it
    /// was waiting for (a request, a back-off, a port-forward being opened).
    pub async fn guard<F: Future>(&self, work: F) -> Result<F::Output, Interrupted> {
        tokio::select! {
            // An interrupt that already came wins over work that happens to be ready.
            biased;
            () = self.0.cancelled() => Err(Interrupted),
            output = work => Ok(output),
        }
    }
}

/// Work cut short because Terraform asked the provider to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted by Terraform (Ctrl-C)")]
pub struct Interrupted;

/// The summary of the diagnostic an interrupted RPC answers with.
pub const SUMMARY: &str = "Interrupted by Terraform (Ctrl-C)";

/// The detail of that diagnostic: `while` says what was cut short ("while waiting for the job to
/// run"), `after` what the state holds now.
pub fn detail(while_doing: &str, after: &str) -> String {
    format!("Terraform asked the provider to stop {while_doing}. {after}")
}

/// What an interrupted apply leaves: the state records what it reached.
pub const APPLY_LEFT: &str = "What was applied before is recorded in state; the next apply \
                              converges from here.";

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_stop_interrupts_the_work_in_flight_and_not_the_next() {
        let interrupts = Interrupts::default();
        let in_flight = interrupts.signal();
        let stalled = in_flight.guard(std::future::pending::<()>());
        let stop = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            interrupts.stop();
        };
        let (result, ()) = tokio::join!(stalled, stop);
        assert_eq!(result, Err(Interrupted));
        assert!(in_flight.is_interrupted());

        let next = interrupts.signal();
        assert!(!next.is_interrupted());
        assert_eq!(next.guard(async { 7 }).await, Ok(7));
    }

    #[tokio::test]
    async fn an_interrupt_that_came_wins_over_ready_work() {
        let interrupts = Interrupts::default();
        let signal = interrupts.signal();
        interrupts.stop();
        assert_eq!(signal.guard(async { 7 }).await, Err(Interrupted));
        assert_eq!(Interrupt::never().guard(async { 7 }).await, Ok(7));
    }
}
