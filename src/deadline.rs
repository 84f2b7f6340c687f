//! The end of one resource operation (Terraform's `timeouts` on the resource), as a plain value
//! its work carries down beside [`crate::interrupt`]: the waits of a resource's own stay within it
//! (see `resources::timeouts`), and so do the retries of a request to the API server or to a
//! JobManager. Whatever it cuts short names the setting, so the user knows what to raise.

use std::time::{Duration, Instant};

/// The end of an operation, if its timeout is set; none by default.
#[derive(Debug, Clone, Default)]
pub struct Deadline {
    end: Option<(Instant, String)>,
}

impl Deadline {
    /// No end: only the waits' and retries' own bounds apply.
    pub fn none() -> Deadline {
        Deadline::default()
    }

    /// An end at `end`, set by `setting` (`timeouts.update = "10m"`).
    pub fn at(end: Instant, setting: String) -> Deadline {
        Deadline {
            end: Some((end, setting)),
        }
    }

    /// `step`, or what is left when that is less.
    pub fn cap(&self, step: Duration) -> Duration {
        match &self.end {
            Some((end, _)) => step.min(end.saturating_duration_since(Instant::now())),
            None => step,
        }
    }

    /// Whether a wait of `wait` from now would end past the deadline.
    pub fn ends_within(&self, wait: Duration) -> bool {
        self.cap(wait) < wait
    }

    /// The setting that sets the end, if there is one.
    pub fn setting(&self) -> Option<&str> {
        self.end.as_ref().map(|(_, setting)| setting.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_caps_waits_and_says_which_would_pass_it() {
        let none = Deadline::none();
        assert_eq!(none.cap(Duration::from_secs(60)), Duration::from_secs(60));
        assert!(!none.ends_within(Duration::from_secs(3600)));
        assert_eq!(none.setting(), None);
        let soon = Deadline::at(
            Instant::now() + Duration::from_secs(10),
            "timeouts.create = \"10s\"".into(),
        );
        assert!(soon.cap(Duration::from_secs(60)) <= Duration::from_secs(10));
        assert!(soon.ends_within(Duration::from_secs(11)));
        assert!(!soon.ends_within(Duration::from_secs(1)));
        assert_eq!(soon.setting(), Some("timeouts.create = \"10s\""));
    }
}
