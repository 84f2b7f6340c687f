//! The only code that talks to blob storage: an access check of S3 credentials (`verify = true`
//! on `flink_blob_storage`), a signed listing of at most one key under the base URI, so a wrong key,
//! a missing bucket or an unreachable endpoint fail the apply with the store's own reason; and
//! the Flink snapshots found under a directory ([`snapshots`]).

mod sigv4;
pub mod snapshots;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use std::time::Duration;

/// Why the check failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The settings do not make a request.
    #[error("{0}")]
    Settings(String),
    /// The store could not be reached.
    #[error("cannot reach {endpoint}: {message}")]
    Unreachable {
        /// Where.
        endpoint: String,
        /// What failed.
        message: String,
    },
    /// The store answered with an error.
    #[error("{endpoint} refused the listing of {bucket} ({status}): {code}: {message}")]
    Refused {
        /// Where.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// HTTP status.
        status: u16,
        /// S3 error code, e.g. `SignatureDoesNotMatch`.
        code: String,
        /// S3 error message.
        message: String,
    },
}

/// S3 settings of a blob storage.
pub struct S3Access<'a> {
    /// `s3://bucket/prefix` (also s3a, s3p).
    pub base_uri: &'a str,
    /// Endpoint URL; AWS when `None`.
    pub endpoint: Option<&'a str>,
    /// Region; `us-east-1` when `None`.
    pub region: Option<&'a str>,
    /// Path-style addressing (always with an explicit endpoint).
    pub path_style: bool,
    /// Access key id.
    pub access_key: &'a str,
    /// Secret key.
    pub secret_key: &'a str,
}

fn tag<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    xml.split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&format!("</{name}>")))
        .map_or("", |(value, _)| value)
}

/// Lists at most one key under the base URI with the credentials.
pub async fn verify_s3(access: &S3Access<'_>) -> Result<(), StorageError> {
    let (_, prefix) = bucket_and_prefix(access.base_uri)?;
    let mut query = "list-type=2&max-keys=1".to_string();
    if !prefix.is_empty() {
        query.push_str(&format!("&prefix={}", sigv4::encode(&format!("{prefix}/"))));
    }
    signed_list(access, &query).await.map(|_| ())
}

/// The bucket and the key prefix (no slash at either end) of `s3://bucket/prefix`.
fn bucket_and_prefix(uri: &str) -> Result<(&str, &str), StorageError> {
    let rest = uri
        .split_once("://")
        .map(|(_, r)| r)
        .ok_or_else(|| StorageError::Settings(format!("{uri} has no scheme")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((bucket, prefix.trim_matches('/')))
}

/// One signed `ListObjectsV2` of the bucket of `access.base_uri` with the canonical `query`
/// (sorted, encoded); the answer's body.
async fn signed_list(access: &S3Access<'_>, query: &str) -> Result<String, StorageError> {
    let (bucket, _) = bucket_and_prefix(access.base_uri)?;
    let region = access.region.unwrap_or("us-east-1");
    let (endpoint, path_style) = match access.endpoint {
        Some(e) => (e.trim_end_matches('/').to_string(), true),
        None if access.path_style => (format!("https://s3.{region}.amazonaws.com"), true),
        None => (format!("https://{bucket}.s3.{region}.amazonaws.com"), false),
    };
    let uri: hyper::Uri = endpoint
        .parse()
        .map_err(|e| StorageError::Settings(format!("endpoint {endpoint:?}: {e}")))?;
    let host = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .ok_or_else(|| StorageError::Settings(format!("endpoint {endpoint:?} has no host")))?;
    let path = if path_style {
        format!("/{bucket}")
    } else {
        "/".to_string()
    };
    let amz_date = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .map_err(|e| StorageError::Settings(e.to_string()))?;
    let request = sigv4::Request {
        host: &host,
        path: &path,
        query,
        amz_date: &amz_date,
        region,
    };
    let authorization = sigv4::authorization(&request, access.access_key, access.secret_key);
    let url = format!("{endpoint}{path}?{query}");
    let http = hyper::Request::get(&url)
        .header("host", &host)
        .header("x-amz-date", &amz_date)
        .header("x-amz-content-sha256", sigv4::EMPTY_SHA256)
        .header("authorization", authorization)
        .body(Empty::<Bytes>::new())
        .map_err(|e| StorageError::Settings(e.to_string()))?;
    let unreachable = |message: String| StorageError::Unreachable {
        endpoint: endpoint.clone(),
        message,
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| unreachable(format!("no trusted certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector);
    let response = tokio::time::timeout(Duration::from_secs(20), client.request(http))
        .await
        .map_err(|_| unreachable("no answer within 20 s".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
    let status = response.status().as_u16();
    let body = tokio::time::timeout(Duration::from_secs(20), response.into_body().collect())
        .await
        .map_err(|_| unreachable("the listing did not arrive within 20 s".into()))?
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    if (200..300).contains(&status) {
        return Ok(body);
    }
    Err(StorageError::Refused {
        endpoint,
        bucket: bucket.to_string(),
        status,
        code: tag(&body, "Code").to_string(),
        message: tag(&body, "Message").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_give_code_and_message() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>bad</Message></Error>";
        assert_eq!(tag(xml, "Code"), "SignatureDoesNotMatch");
        assert_eq!(tag(xml, "Message"), "bad");
        assert_eq!(tag(xml, "Missing"), "");
    }
}
