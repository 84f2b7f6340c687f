//! What a failed request to the API server says: the server's own answer (its `Status` message
//! and code), or for a request that never got an answer, the address it went to and the cause in
//! words (refused, unreachable, timed out, reset, the certificate rejected and why). kube's own
//! text for all of these is the same "ServiceError: client error (Connect)", so the cause is read
//! from the error's sources: the `std::io::Error` kinds the socket gave, and the `rustls::Error`
//! of a failed handshake.

/// The message of a failed request to the API server at `server`.
pub(super) fn explain(error: &kube::Error, server: &str) -> String {
    match error {
        kube::Error::Api(status) => answer(status.code, &status.message),
        other => format!(
            "no answer from the API server at {server}: {} ({})",
            cause(other),
            causes(other)
        ),
    }
}

/// The server's answer as the message: its words and code, and what a 401 means for the user.
fn answer(code: u16, message: &str) -> String {
    match code {
        401 => format!(
            "{message} ({code}): the API server did not accept the credentials (token, client \
             certificate or the kubeconfig's user)"
        ),
        _ => format!("{message} ({code})"),
    }
}

/// The cause of a request that got no answer, in words.
fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    if let Some(tls) = find::<rustls::Error>(error) {
        return tls_cause(tls);
    }
    if timed_out(error) {
        return "timed out waiting for it (is it up, and is this its address?)".into();
    }
    if let Some(io) = find::<std::io::Error>(error) {
        use std::io::ErrorKind;
        match io.kind() {
            ErrorKind::ConnectionRefused => {
                return "connection refused: nothing listens at that address and port".into()
            }
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                return "the connection was reset before the answer was complete".into()
            }
            ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                return "the host cannot be reached from here (no route)".into()
            }
            _ => {}
        }
    }
    let text = causes(error);
    if text.contains("dns error") {
        return "its host name does not resolve".into();
    }
    if text.contains("invalid HTTP version") {
        return "it did not answer in HTTP: is this an https:// server addressed as http://?"
            .into();
    }
    if text.contains("connection closed before message completed")
        || text.contains("IncompleteMessage")
    {
        return "the connection was closed before the answer was complete".into();
    }
    "the request failed on the way".into()
}

/// Why a TLS handshake with the API server failed.
fn tls_cause(error: &rustls::Error) -> String {
    use rustls::{AlertDescription, CertificateError, Error};
    let rejected = "the API server's certificate was rejected";
    match error {
        Error::InvalidCertificate(certificate) => match certificate {
            CertificateError::UnknownIssuer => format!(
                "{rejected}: it is not signed by a certificate authority the provider trusts. Give \
                 the API server's CA as cluster_ca_certificate (or certificate-authority-data in \
                 the kubeconfig)"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "{rejected}: it is not valid for this host name ({certificate:?}). Use a \
                     host name or address the certificate names"
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("{rejected}: it has expired ({certificate:?})")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!(
                    "{rejected}: it is not valid yet; check this machine's clock ({certificate:?})"
                )
            }
            other => format!("{rejected}: {other:?}"),
        },
        Error::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::CertificateRequired
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired),
        ) => format!(
            "the API server rejected the client certificate ({alert:?}): check \
             client_certificate and client_key (or the kubeconfig's user)"
        ),
        Error::InvalidMessage(_) => format!(
            "the TLS handshake failed ({error}): is this an https:// address of an API server?"
        ),
        other => format!("the TLS handshake failed: {other}"),
    }
}

/// The first error of type `T` among `error` and its sources, looking inside `std::io::Error`s
/// too (whose `source()` skips the error they wrap).
fn find<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(found) = find::<T>(inner) {
                return Some(found);
            }
        }
        current = e.source();
    }
    None
}

/// An error and its sources, each once (wrappers often repeat their source's text).
pub(super) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text = format!("{text}: {line}");
        }
        source = cause.source();
    }
    text
}

/// Whether `error` is a wait that ran out (connect or read timeout): asking again would only
/// wait as long again.
pub(super) fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            || e.to_string().contains("timed out")
        {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("client error (Connect)")]
    struct Wrapper(#[source] std::io::Error);

    #[test]
    fn a_refused_connection_is_named_as_such() {
        let error = Wrapper(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(
            cause(&error).starts_with("connection refused"),
            "{}",
            cause(&error)
        );
    }

    #[test]
    fn a_rejected_certificate_says_why_through_the_io_error_that_wraps_it() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let error = Wrapper(std::io::Error::new(std::io::ErrorKind::InvalidData, tls));
        let said = cause(&error);
        assert!(
            said.contains("not signed by a certificate authority"),
            "{said}"
        );
        assert!(said.contains("cluster_ca_certificate"), "{said}");
        let expired = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
        let error = Wrapper(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            expired,
        ));
        assert!(cause(&error).contains("expired"), "{}", cause(&error));
    }

    #[test]
    fn a_client_certificate_the_server_refused_points_at_the_client_settings() {
        let alert = rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired);
        let error = Wrapper(std::io::Error::new(std::io::ErrorKind::InvalidData, alert));
        assert!(
            cause(&error).contains("client_certificate"),
            "{}",
            cause(&error)
        );
    }

    #[test]
    fn an_unauthorized_answer_names_the_credentials() {
        assert!(answer(401, "Unauthorized").contains("did not accept the credentials"));
        assert_eq!(answer(404, "not found"), "not found (404)");
    }
}
